using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
    private readonly int _configuredPort;
    private WebApplication? _app;
    private SidecarOrchestrationService? _engine;
    private GrpcChannel? _channel;
    private volatile CallInvoker? _invoker;
    private volatile string? _address;
    private TaskCompletionSource? _stopped;

    public DurableSidecar(string storageConnectionString, DurableOptions options, ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
        _configuredPort = options.SidecarPort;
        _service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHub,
            StorageAccountClientProvider = new StorageAccountClientProvider(storageConnectionString),
            MaxQueuePollingInterval = TimeSpan.FromMilliseconds(options.MaxQueuePollingIntervalMs),
            PartitionCount = options.PartitionCount,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            LoggerFactory = loggerFactory,
        });
        CallInvoker = new SidecarCallInvoker(() => _invoker
            ?? throw new RpcException(new Status(StatusCode.Unavailable, "The durable sidecar is not running.")));
    }

    /// <summary>How long a stop waits for the engine to hand its leases back.</summary>
    private static readonly TimeSpan EngineStopWait = TimeSpan.FromSeconds(5);

    /// <summary>The address the sidecar listens on, known once it has started (with no configured port the kernel picks one as it binds).</summary>
    public string Address => _address ?? throw new InvalidOperationException("The durable sidecar has not started: its port is chosen when it binds.");

    /// <summary>For the DurableTask worker and client: calls the sidecar through the channel it opens once started.</summary>
    public CallInvoker CallInvoker { get; }

    /// <summary>Tests only: what stands between the sidecar and the engine (a storage fault injected at one call).</summary>
    internal Func<IOrchestrationService, IOrchestrationService>? EngineFaults { get; set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _service.CreateIfNotExistsAsync();
        _engine = new SidecarOrchestrationService(EngineFaults?.Invoke(_service) ?? _service, _loggerFactory.CreateLogger<DurableSidecar>());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Its own loopback address (not the API's ASPNETCORE_URLS); port 0 lets Kestrel take a free one as it binds, where a
        // port probed beforehand could be taken by another socket on a busy machine before the bind. gRPC needs HTTP/2 without TLS.
        builder.WebHost.UseUrls($"http://127.0.0.1:{_configuredPort}");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton<IOrchestrationService>(_engine);
        // Queries and purges go to the engine itself: the sidecar looks for them on its client.
        builder.Services.AddSingleton<IOrchestrationServiceClient>(_service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        if (_app is not null) await _app.DisposeAsync(); // a start after a stop
        _app = builder.Build();
        _app.MapGrpcService<TaskHubGrpcServer>();
        _stopped = null;
        await _app.StartAsync(cancellationToken);
        string address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        _channel = GrpcChannel.ForAddress(address);
        _invoker = _channel.CreateCallInvoker();
        _address = address;
    }

    /// <summary>Stops the sidecar and the engine once: a second call (the host stopped twice) waits for that same stop.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = Interlocked.CompareExchange(ref _stopped, stop, null);
        if (running is not null)
        {
            await running.Task.WaitAsync(cancellationToken);
            return;
        }
        try
        {
            await StopOnceAsync(cancellationToken);
            stop.SetResult();
        }
        catch (Exception ex)
        {
            stop.SetException(ex);
            throw;
        }
    }

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        if (_app is null) return;
        _address = null;
        _invoker = null;
        await _app.StopAsync(cancellationToken);
        _channel?.Dispose();
        // The sidecar only starts stopping the engine (without waiting), and the engine keeps renewing its partition leases
        // until it is stopped: stopped here, it hands them back, so the next process (a restart) takes the task hub over
        // at once instead of after the leases expire; while it stays in memory (a restart within one process) never.
        try
        {
            await _engine!.StopOnceAsync().WaitAsync(EngineStopWait, cancellationToken);
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
        _channel?.Dispose();
    }
}
