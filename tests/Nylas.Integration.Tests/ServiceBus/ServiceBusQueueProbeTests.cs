using System.Net;
using System.Net.Sockets;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Queues;
using Nylas.Testing.ServiceBus;
using Xunit;

namespace Nylas.Integration.Tests.ServiceBus;

/// <summary>
/// The Service Bus probe behind /health and the queue gauges, with the real SDK against the in-process broker: a peek
/// for the check and the age; no counts without the management API (which the broker does not serve).
/// </summary>
public sealed class ServiceBusQueueProbeTests : IAsyncLifetime
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private readonly ServiceBusBroker _broker = new();
    private readonly string _queue = "probe" + Guid.NewGuid().ToString("N")[..8];
    private ServiceBusClient _client = null!;

    public Task InitializeAsync()
    {
        _client = new ServiceBusClient(_broker.ConnectionString, new ServiceBusClientOptions
        {
            RetryOptions = new ServiceBusRetryOptions { TryTimeout = TimeSpan.FromSeconds(10), MaxRetries = 1 },
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        _broker.Dispose();
    }

    private ServiceBusQueueProbe Probe(ServiceBusClient client, TimeProvider clock, string connectionString, bool readQueueDepth = false)
    {
        var options = new NylasOptions();
        options.Storage.IngestQueue = _queue;
        options.ServiceBus.ReadQueueDepth = readQueueDepth;
        return new ServiceBusQueueProbe(client, Options.Create(options),
            Options.Create(new TransportOptions { Transport = "ServiceBus", ServiceBusConnectionString = connectionString }), clock,
            NullLogger<ServiceBusQueueProbe>.Instance);
    }

    [Fact]
    public async Task An_empty_queue_passes_the_check_and_reports_a_zero_age_and_no_counts()
    {
        await using var probe = Probe(_client, TimeProvider.System, _broker.ConnectionString);
        await probe.CheckAsync(CancellationToken.None);
        var snapshot = await probe.ProbeAsync(CancellationToken.None);
        Assert.NotNull(snapshot);
        Assert.Equal(TimeSpan.Zero, snapshot.OldestAge);
        Assert.Null(snapshot.Depth); // the counts need the management API: off by default
        Assert.Null(snapshot.PoisonDepth);
    }

    [Fact]
    public async Task The_age_is_the_first_active_message_s_and_a_scheduled_retry_before_it_is_skipped()
    {
        await using var sender = _client.CreateSender(_queue);
        // A retry copy due in two hours takes the first sequence number; a message sent after it is the one waiting.
        await sender.SendMessageAsync(new ServiceBusMessage("retry") { MessageId = "retry", ScheduledEnqueueTime = DateTimeOffset.UtcNow.AddHours(2) });
        var before = DateTimeOffset.UtcNow;
        await sender.SendMessageAsync(new ServiceBusMessage("waiting") { MessageId = "waiting" });
        var after = DateTimeOffset.UtcNow;

        var now = after.AddHours(1);
        await using var probe = Probe(_client, new FixedClock(now), _broker.ConnectionString);
        var age = (await probe.ProbeAsync(CancellationToken.None))!.OldestAge!.Value;
        Assert.InRange(age, now - after - TimeSpan.FromSeconds(1), now - before + TimeSpan.FromSeconds(1));

        // A peek takes no lock and counts no delivery: the message is still there for the receiver, first delivery.
        await using var receiver = _client.CreateReceiver(_queue);
        var received = await receiver.ReceiveMessageAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("waiting", received.MessageId);
        Assert.Equal(1, received.DeliveryCount);
    }

    /// <summary>
    /// The counts themselves come from the management API over HTTPS, which the test broker does not serve, so only the
    /// failure path runs here: a refused management call (the usual cause: no Manage right) keeps the age from the peek.
    /// </summary>
    [Fact]
    public async Task With_ReadQueueDepth_a_failed_management_call_leaves_the_counts_unknown_and_keeps_the_age()
    {
        await using var sender = _client.CreateSender(_queue);
        var before = DateTimeOffset.UtcNow;
        await sender.SendMessageAsync(new ServiceBusMessage("waiting"));
        var now = DateTimeOffset.UtcNow.AddMinutes(10);
        await using var probe = Probe(_client, new FixedClock(now), _broker.ConnectionString, readQueueDepth: true);
        var snapshot = (await probe.ProbeAsync(CancellationToken.None))!;
        Assert.Null(snapshot.Depth);
        Assert.Null(snapshot.PoisonDepth);
        Assert.InRange(snapshot.OldestAge!.Value, TimeSpan.FromMinutes(9), now - before + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task An_unreachable_namespace_fails_the_check_instead_of_hanging()
    {
        int closedPort;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        string unreachable = $"Endpoint=sb://127.0.0.1:{closedPort};SharedAccessKeyName=k;SharedAccessKey=dGVzdA==;UseDevelopmentEmulator=true";
        await using var client = new ServiceBusClient(unreachable); // the SDK's default retries: longer than the probe allows
        await using var probe = Probe(client, TimeProvider.System, unreachable);
        await Assert.ThrowsAnyAsync<Exception>(() => probe.CheckAsync(CancellationToken.None));
        await Assert.ThrowsAnyAsync<Exception>(() => probe.ProbeAsync(CancellationToken.None));
    }
}
