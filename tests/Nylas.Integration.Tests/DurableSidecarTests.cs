using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Azure;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nylas.Engine;
using Nylas.Engine.Outbox;
using Nylas.LocalHost;
using Nylas.LocalHost.Durable;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// The local host's durable sidecar (DurableTask.AzureStorage on Azurite behind the gRPC sidecar): the port it listens
/// on, and its stops.
/// </summary>
public class DurableSidecarTests
{
    [Fact]
    public async Task The_sidecar_takes_its_port_as_it_binds_and_the_worker_and_client_reach_it_there()
    {
        var settings = await HostSettingsAsync();
        var app = await BuildHostAsync(settings);
        try
        {
            var sidecar = app.Services.GetRequiredService<DurableSidecar>();
            // No port is chosen before the start: one probed free then could be taken by another socket before the bind.
            Assert.Throws<InvalidOperationException>(() => sidecar.Address);

            await app.StartAsync();
            var address = new Uri(sidecar.Address);
            Assert.Equal(IPAddress.Loopback, IPAddress.Parse(address.Host));
            Assert.NotEqual(0, address.Port);
            // The sidecar holds the port it reports.
            var other = new TcpListener(IPAddress.Loopback, address.Port);
            var bind = Assert.Throws<SocketException>(() => other.Start());
            Assert.Equal(SocketError.AddressAlreadyInUse, bind.SocketErrorCode);

            await AssertOrchestrationRunsAsync(app);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_configured_sidecar_port_is_the_one_it_listens_on()
    {
        var settings = await HostSettingsAsync();
        int port = FreePorts.Next();
        settings["Nylas:Durable:SidecarPort"] = port.ToString();
        var app = await BuildHostAsync(settings);
        try
        {
            await app.StartAsync();
            Assert.Equal(port, new Uri(app.Services.GetRequiredService<DurableSidecar>().Address).Port);
            await AssertOrchestrationRunsAsync(app);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_host_stopped_twice_leaves_its_task_hub_to_the_next_host()
    {
        var settings = await HostSettingsAsync();
        var first = await BuildHostAsync(settings);
        await first.StartAsync();
        // An orchestration ran: the engine has started and holds the task hub's partition.
        await AssertOrchestrationRunsAsync(first);
        await first.StopAsync();
        await first.StopAsync();
        await first.DisposeAsync();

        var second = await BuildHostAsync(settings);
        try
        {
            await second.StartAsync();
            await AssertOrchestrationRunsAsync(second);
        }
        finally
        {
            await second.StopAsync();
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_sidecar_stopped_before_a_worker_connected_and_stopped_again_stops_cleanly()
    {
        // The sidecar starts the engine only once a worker connects; here none does, so each stop finds the engine not
        // started or still starting (the sidecar starts it as its wait for a worker ends with the stop).
        var logs = new RecentLog();
        using var loggerFactory = LoggerFactory.Create(l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Warning));
        var options = new DurableOptions { TaskHub = "s" + Guid.NewGuid().ToString("N")[..12] };
        await using var sidecar = new DurableSidecar(TestStack.Storage, options, loggerFactory);
        await sidecar.StartAsync(CancellationToken.None);

        await Task.WhenAll(sidecar.StopAsync(CancellationToken.None), sidecar.StopAsync(CancellationToken.None));
        await sidecar.StopAsync(CancellationToken.None);

        Assert.Throws<InvalidOperationException>(() => sidecar.Address);
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Nylas.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_stops_of_a_started_engine_stop_it_once_and_it_does_not_start_again()
    {
        // As at a host's stop: the sidecar's ApplicationStopping handler and DurableSidecar.StopAsync stop it at once.
        var logs = new RecentLog();
        using var loggerFactory = LoggerFactory.Create(l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Warning));
        var engine = CountingEngine.Over(NewEngine("g" + Guid.NewGuid().ToString("N")[..12], loggerFactory));
        var guard = new SidecarOrchestrationService(engine, loggerFactory.CreateLogger<DurableSidecar>());
        await guard.CreateIfNotExistsAsync();
        await guard.StartAsync();
        await guard.StartAsync();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => i % 2 == 0 ? guard.StopAsync() : guard.StopOnceAsync())));
        await guard.StartAsync();

        var counts = (CountingEngine)(object)engine;
        Assert.Equal((1, 1), (counts.Starts, counts.Stops));
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Nylas.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Work_whose_completion_and_give_back_fail_while_storage_is_down_runs_again_once_storage_answers()
    {
        // Storage went down as an orchestration step and an activity finished: writing their results failed, and so did
        // the sidecar's give-back of each (twice). Without the retries the work items' messages stay hidden for the
        // engine's visibility timeout (5 min), past this test's wait.
        var settings = await HostSettingsAsync();
        var app = await BuildHostAsync(settings);
        var outage = new StorageOutageAtCompletion();
        app.Services.GetRequiredService<DurableSidecar>().EngineFaults = outage.Over;
        try
        {
            await app.StartAsync();
            await AssertOrchestrationRunsAsync(app);
            Assert.Equal((1, 1), (outage.FailedOrchestrationCompletions, outage.FailedActivityCompletions));
            Assert.Equal((3, 3), (outage.OrchestrationGiveBacks, outage.ActivityGiveBacks));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_engines_failures_reach_the_hosts_log()
    {
        // What a failing fault test prints of the host (RecentLog) must show what went wrong in the durable engine: a work
        // item whose completion failed, its give-back retried. Before, the engine and the sidecar logged to a console of
        // their own, and a sync stalled after a storage outage showed nothing there.
        var settings = await HostSettingsAsync();
        var log = new RecentLog();
        var app = await BuildHostAsync(settings, log);
        var outage = new StorageOutageAtCompletion();
        app.Services.GetRequiredService<DurableSidecar>().EngineFaults = outage.Over;
        try
        {
            await app.StartAsync();
            await AssertOrchestrationRunsAsync(app);
            var entries = log.Entries;
            // The sidecar's dispatcher on the failed completions, and the engine wrapper on the give-backs it retried.
            Assert.Contains(entries, e => e.Category == "Microsoft.DurableTask.Sidecar" && e.Level >= LogLevel.Warning
                && e.Message.Contains("injected by the test", StringComparison.Ordinal));
            Assert.Contains(entries, e => e.Category == typeof(DurableSidecar).FullName && e.Level == LogLevel.Warning
                && e.Message.Contains("could not give a failed work item back", StringComparison.Ordinal));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static AzureStorageOrchestrationService NewEngine(string taskHub, ILoggerFactory loggerFactory) => new(new AzureStorageOrchestrationServiceSettings
    {
        TaskHubName = taskHub,
        StorageAccountClientProvider = new StorageAccountClientProvider(TestStack.Storage),
        PartitionCount = 1,
        LoggerFactory = loggerFactory,
    });

    /// <summary>The engine, counting its starts and stops.</summary>
    public class CountingEngine : DispatchProxy
    {
        private IOrchestrationService _engine = null!;
        private int _starts;
        private int _stops;

        public int Starts => _starts;
        public int Stops => _stops;

        public static IOrchestrationService Over(IOrchestrationService engine)
        {
            var proxy = Create<IOrchestrationService, CountingEngine>();
            ((CountingEngine)(object)proxy)._engine = engine;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IOrchestrationService.StartAsync)) Interlocked.Increment(ref _starts);
            if (targetMethod.Name == nameof(IOrchestrationService.StopAsync)) Interlocked.Increment(ref _stops);
            try
            {
                return targetMethod.Invoke(_engine, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }

    /// <summary>
    /// The engine as storage going down at a completion leaves it: the first orchestration and activity completion fail
    /// as a refused connection does, and so do the two gives-back of each that follow; the third goes through.
    /// </summary>
    public class StorageOutageAtCompletion
    {
        private int _orchestrationCompletions, _activityCompletions, _orchestrationGiveBacks, _activityGiveBacks;

        public int FailedOrchestrationCompletions => Math.Min(1, _orchestrationCompletions);
        public int FailedActivityCompletions => Math.Min(1, _activityCompletions);
        public int OrchestrationGiveBacks => _orchestrationGiveBacks;
        public int ActivityGiveBacks => _activityGiveBacks;

        public IOrchestrationService Over(IOrchestrationService engine)
        {
            var proxy = DispatchProxy.Create<IOrchestrationService, Interceptor>();
            var interceptor = (Interceptor)(object)proxy;
            interceptor.Engine = engine;
            interceptor.Outage = this;
            return proxy;
        }

        /// <summary>Whether this call fails: the first <paramref name="failing"/> calls of a kind do.</summary>
        private static bool Fails(ref int calls, int failing) => Interlocked.Increment(ref calls) <= failing;

        private bool FailsNow(string method) => method switch
        {
            nameof(IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync) => Fails(ref _orchestrationCompletions, 1),
            nameof(IOrchestrationService.CompleteTaskActivityWorkItemAsync) => Fails(ref _activityCompletions, 1),
            nameof(IOrchestrationService.AbandonTaskOrchestrationWorkItemAsync) => Fails(ref _orchestrationGiveBacks, 2),
            nameof(IOrchestrationService.AbandonTaskActivityWorkItemAsync) => Fails(ref _activityGiveBacks, 2),
            _ => false,
        };

        public class Interceptor : DispatchProxy
        {
            internal IOrchestrationService Engine = null!;
            internal StorageOutageAtCompletion Outage = null!;

            protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
            {
                if (Outage.FailsNow(targetMethod!.Name))
                    return Task.FromException(new RequestFailedException(0, "Connection refused (127.0.0.1:10001), injected by the test"));
                try
                {
                    return targetMethod.Invoke(Engine, args);
                }
                catch (TargetInvocationException ex) when (ex.InnerException is not null)
                {
                    throw ex.InnerException;
                }
            }
        }
    }

    /// <summary>An outbox delivery for an account that does not exist: the worker runs the orchestrator and its attempt, which answers "failed".</summary>
    private static async Task AssertOrchestrationRunsAsync(WebApplication app)
    {
        var client = app.Services.GetRequiredService<DurableTaskClient>();
        string instanceId = await client.ScheduleNewOrchestrationInstanceAsync(OutboxTaskNames.Delivery,
            new OutboxDeliveryInput(-1, "no-such-item", DateTime.UtcNow.AddMinutes(-1)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var instance = await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, instance.RuntimeStatus);
        Assert.Equal(OutboxStates.Failed, instance.ReadOutputAs<string>());
    }

    private static async Task<Dictionary<string, string?>> HostSettingsAsync()
    {
        var databases = await TestStack.CreateDatabasesAsync();
        var settings = databases.EngineSettings();
        settings["Nylas:Durable:TaskHub"] = "t" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Durable:MaxQueuePollingIntervalMs"] = "200";
        settings["Nylas:Storage:IngestQueue"] = "ingest-" + Guid.NewGuid().ToString("N")[..12];
        return settings;
    }

    private static async Task<WebApplication> BuildHostAsync(Dictionary<string, string?> settings, RecentLog? log = null)
    {
        var app = LocalHostApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (log is not null) builder.Logging.AddProvider(log);
        });
        await app.Services.PrepareStorageAsync();
        return app;
    }
}
