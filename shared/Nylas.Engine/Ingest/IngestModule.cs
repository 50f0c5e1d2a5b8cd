using Microsoft.Extensions.DependencyInjection;
using Nylas.Core.Messages;
using Nylas.Core.Threading;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Ingest;

/// <summary>Parsing, threading and storing what sync queued, and the queue that carries it.</summary>
public static class IngestModule
{
    public static IServiceCollection AddIngest(this IServiceCollection services)
    {
        services.AddSingleton<StorageQueueIngestQueue>();
        services.AddSingleton<IIngestQueue>(sp => sp.GetRequiredService<StorageQueueIngestQueue>());
        services.AddSingleton(new MimeMessageMapper());
        services.AddSingleton(new ThreadingEngine());
        services.AddSingleton<MessageWriter>();
        services.AddSingleton<IngestHandler>();
        return services;
    }
}
