using System.Net;
using System.Net.Sockets;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Nylas.Engine;

namespace Nylas.LocalHost.Durable;

/// <summary>
/// Runs the durable engine Azure Functions uses by default (DurableTask.AzureStorage, here on Azurite)
/// behind the DurableTask gRPC sidecar, so the same orchestrator and activity classes as in Functions
/// run in this process through the standard DurableTask worker and client.
/// </summary>
public sealed class DurableSidecar : IHostedService, IAsyncDisposable
{
    private readonly AzureStorageOrchestrationService _service;
    private readonly ILoggerFactory _loggerFactory;
    private WebApplication? _app;

    public DurableSidecar(string storageConnectionString, DurableOptions options, ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
        Port = options.SidecarPort > 0 ? options.SidecarPort : FreeLoopbackPort();
        _service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHub,
            StorageAccountClientProvider = new StorageAccountClientProvider(storageConnectionString),
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(options.MaxQueuePollingIntervalMs),
            PartitionCount = options.PartitionCount,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            LoggerFactory = loggerFactory,
        });
    }

    /// <summary>How long a stop waits for the engine to hand its leases back.</summary>
    private static readonly TimeSpan EngineStopWait = TimeSpan.FromSeconds(5);

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _service.CreateIfNotExistsAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Its own loopback address (not the API's ASPNETCORE_URLS); gRPC needs HTTP/2 without TLS.
        builder.WebHost.UseUrls(Address);
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton<IOrchestrationService>(_service);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(_service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        _app = builder.Build();
        _app.MapGrpcService<TaskHubGrpcServer>();
        await _app.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
        // The sidecar only starts stopping the engine (without waiting), and the engine keeps renewing its partition leases
        // until it is stopped: stopped here, it hands them back, so the next process (a restart) takes the task hub over
        // at once instead of after the leases expire; while it stays in memory (a restart within one process) never.
        try
        {
            await _service.StopAsync(isForced: true).WaitAsync(EngineStopWait, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // A work item the stopped worker never answered keeps its partition draining: the stop goes on without it,
            // and the next process gets that partition only once its lease has expired.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
