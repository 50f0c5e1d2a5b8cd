using Microsoft.Extensions.DependencyInjection;
using Nylas.Core.Messages;
using Nylas.Core.Threading;

namespace Nylas.Engine.Ingest;

/// <summary>Parsing, threading and storing what sync queued (the queue that carries it: Queues/IngestTransport).</summary>
public static class IngestModule
{
    public static IServiceCollection AddIngest(this IServiceCollection services)
    {
        services.AddSingleton(new MimeMessageMapper());
        services.AddSingleton(new ThreadingEngine());
        services.AddSingleton<MessageWriter>();
        services.AddSingleton<IngestHandler>();
        return services;
    }
}
