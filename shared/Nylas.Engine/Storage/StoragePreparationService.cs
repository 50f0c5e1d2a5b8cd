using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Nylas.Engine.Storage;

/// <summary>Applies migrations and creates containers/queues when a host starts, before it takes work.</summary>
public sealed class StoragePreparationService(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => services.PrepareStorageAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
