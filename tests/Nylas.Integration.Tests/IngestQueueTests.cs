using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Nylas.Testing.ServiceBus;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>A message that the policy parked, read back from the transport's poison queue or dead-letter queue.</summary>
public sealed record ParkedMessage(string Body, string Reason, string Error, long DeliveryCount);

/// <summary>A local host whose ingest transport can be searched for parked messages; two deliveries before a message counts as poison.</summary>
public abstract class IngestTransportHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Nylas:Ingest:MaxDequeueCount"] = "2";

    public abstract Task<ParkedMessage?> FindParkedAsync(string contains);

    /// <summary>The transport's state, for a failure message.</summary>
    public virtual string Describe() => "";
}

public sealed class PoisonHostFixture : IngestTransportHostFixture
{
    public override async Task<ParkedMessage?> FindParkedAsync(string contains)
    {
        var queue = App.Services.GetRequiredService<StorageQueueIngestQueue>();
        foreach (var m in (await queue.PoisonQueue.PeekMessagesAsync(32)).Value)
            if (m.MessageText.Contains(contains))
            {
                var envelope = JsonDocument.Parse(m.MessageText).RootElement;
                return new ParkedMessage(envelope.GetProperty("message").GetString()!, envelope.GetProperty("reason").GetString()!,
                    envelope.GetProperty("error").GetString()!, envelope.GetProperty("dequeue_count").GetInt64());
            }
        return null;
    }
}

/// <summary>The local host with <c>Nylas:Transport=ServiceBus</c>, against the in-process test broker.</summary>
public sealed class ServiceBusHostFixture : IngestTransportHostFixture
{
    public ServiceBusBroker Broker { get; } = new();
    private readonly List<ParkedMessage> _parked = [];

    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Transport"] = "ServiceBus";
        settings["ServiceBusConnection"] = Broker.ConnectionString;
    }

    public override async Task<ParkedMessage?> FindParkedAsync(string contains)
    {
        var client = App.Services.GetRequiredService<ServiceBusClient>();
        // Peek-lock, completed once recorded: a message that arrives as the receiver closes goes back to the queue, not astray.
        await using var deadLetters = client.CreateReceiver(App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Nylas.Engine.NylasOptions>>().Value.Storage.IngestQueue,
            new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        foreach (var m in await deadLetters.ReceiveMessagesAsync(32, TimeSpan.FromMilliseconds(500)))
        {
            _parked.Add(new ParkedMessage(m.Body.ToString(), m.DeadLetterReason, m.DeadLetterErrorDescription,
                Convert.ToInt64(m.ApplicationProperties[ServiceBusDelivery.DeliveriesProperty])));
            await deadLetters.CompleteMessageAsync(m);
        }
        return _parked.FirstOrDefault(p => p.Body.Contains(contains));
    }

    public override string Describe()
    {
        string queue = App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Nylas.Engine.NylasOptions>>().Value.Storage.IngestQueue;
        return $"broker: {Broker.Published(queue)} sent to {queue} ({Broker.CountAvailable(queue)} waiting), "
            + $"{Broker.Published(queue + "/$deadletterqueue")} dead-lettered ({Broker.CountAvailable(queue + "/$deadletterqueue")} waiting), {_parked.Count} read";
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Broker.Dispose();
    }
}

/// <summary>Storage Queues: the default transport.</summary>
public sealed class StorageQueueIngestTests(PoisonHostFixture host) : IngestTransportContract(host), IClassFixture<PoisonHostFixture>;

/// <summary>Service Bus, through the real SDK and the in-process broker.</summary>
public sealed class ServiceBusIngestTests(ServiceBusHostFixture host) : IngestTransportContract(host), IClassFixture<ServiceBusHostFixture>
{
    [Fact]
    public async Task Mail_synced_with_the_Service_Bus_transport_is_ingested_through_the_broker()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendManyAsync(email, Enumerable.Range(1, 30).Select(i => TestStack.SimpleMessage(email, $"over service bus {i}")));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 30, TimeSpan.FromSeconds(60)));

        string queue = host.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Nylas.Engine.NylasOptions>>().Value.Storage.IngestQueue;
        Assert.True(host.Broker.Published(queue) >= 2, $"{host.Broker.Published(queue)} ingest batches went through the broker");
        var storage = host.App.Services.GetRequiredService<StorageQueueIngestQueue>();
        Assert.Equal(0, (await storage.Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }
}

/// <summary>/health and the queue gauges on the Service Bus transport read the broker, not the idle storage queue.</summary>
public sealed class ServiceBusHealthTests(ServiceBusHostFixture host) : IClassFixture<ServiceBusHostFixture>
{
    [Fact]
    public async Task Health_checks_the_Service_Bus_queue_and_the_metrics_report_its_age_but_no_depth()
    {
        using var http = host.Client();
        using var health = await http.GetAsync("/health");
        var body = await health.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        var checks = body.GetProperty("checks");
        Assert.True(checks.GetProperty("servicebus").GetProperty("ok").GetBoolean(), checks.ToString());
        Assert.False(checks.TryGetProperty("queue", out _), "the storage queue is not the transport: " + checks);

        // The gauges wait for the first reading only briefly: scrape until it has arrived.
        string metrics = "";
        Assert.True((await TestStack.WaitUntilAsync(async () => (metrics = await http.GetStringAsync("/metrics")).Contains("nylas_ingest_queue_age_seconds"),
            TimeSpan.FromSeconds(30))).HasValue, "no queue age in /metrics");
        Assert.Matches(@"(?m)^nylas_ingest_queue_age_seconds(\{[^}]*\})? ", metrics);
        // The counts need the management API (Nylas:ServiceBus:ReadQueueDepth): without it, no series rather than a zero.
        Assert.DoesNotMatch(@"(?m)^nylas_ingest_queue_depth", metrics);
        Assert.DoesNotMatch(@"(?m)^nylas_ingest_poison_depth", metrics);
    }
}

/// <summary>
/// What either ingest transport must do: a message ingest cannot process is retried, then parked with its error, and
/// ingest goes on; a failing message in a batch is parked alone while the rest of its batch is stored.
/// </summary>
public abstract class IngestTransportContract(IngestTransportHostFixture host)
{
    [Fact]
    public async Task A_message_that_keeps_failing_is_parked_with_its_error_and_ingest_goes_on()
    {
        var queue = host.App.Services.GetRequiredService<IIngestQueue>();
        string missingBlob = $"sha256/00/{new string('0', 62)}{Random.Shared.Next(10, 99)}";
        await queue.EnqueueAsync([new IngestMessage(1, 0, 1, 1, 1, missingBlob, new string('0', 64), 10, [], 0)]);

        ParkedMessage? parked = null;
        Assert.True((await TestStack.WaitUntilAsync(async () => (parked = await host.FindParkedAsync(missingBlob)) is not null, TimeSpan.FromSeconds(60))).HasValue,
            "never parked; " + host.Describe());
        Assert.StartsWith("RequestFailedException", parked!.Reason);
        Assert.Contains("BlobNotFound", parked.Error);
        Assert.Equal(2, parked.DeliveryCount);
        Assert.Equal(missingBlob, IngestBatchCodec.Decode(parked.Body).Messages.Single().BlobName);

        // The receiver is still running: mail keeps flowing.
        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after the poison"));
        // A first sync of a new account, as the other connect tests wait for it (the suite runs many at once).
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_failing_message_in_a_batch_is_parked_alone_and_the_rest_of_its_batch_is_stored()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        long accountDbId = await host.Databases.AccountRowIdAsync(accountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            await host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(*) FROM folders WHERE account_id = {accountDbId} AND role = 'inbox'") == 1, TimeSpan.FromSeconds(30)));
        long inbox = await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {accountDbId} AND role = 'inbox'");

        // Two good messages (their blobs written as the sync step writes them) around one whose blob is missing.
        var rawMail = host.App.Services.GetRequiredService<RawMailStore>();
        async Task<IngestMessage> Good(uint uid, string subject)
        {
            using var raw = new MemoryStream();
            TestStack.SimpleMessage(email, subject).WriteTo(raw);
            string sha = Convert.ToHexStringLower(SHA256.HashData(raw.ToArray()));
            raw.Position = 0;
            string blob = await rawMail.PutAsync(sha, raw);
            return new IngestMessage(accountDbId, shard, inbox, 0, uid, blob, sha, raw.Length, [], 1_790_000_000);
        }
        string missingBlob = $"sha256/11/{new string('1', 62)}{Random.Shared.Next(10, 99)}";
        // UIDVALIDITY 0 (unknown) in these messages: the folder's epoch is not what this test is about.
        var bad = new IngestMessage(accountDbId, shard, inbox, 0, 9002, missingBlob, new string('1', 64), 10, [], 0);
        var queue = host.App.Services.GetRequiredService<IIngestQueue>();
        await queue.EnqueueAsync([await Good(9001, "batch mate one"), bad, await Good(9003, "batch mate two")]);

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(30)));
        ParkedMessage? parked = null;
        Assert.True((await TestStack.WaitUntilAsync(async () => (parked = await host.FindParkedAsync(missingBlob)) is not null, TimeSpan.FromSeconds(60))).HasValue,
            "never parked; " + host.Describe());
        Assert.Equal([9002u], IngestBatchCodec.Decode(parked!.Body).Messages.Select(m => m.Uid));
    }
}

/// <summary>The queue message body both transports carry.</summary>
public class IngestBatchCodecTests
{
    [Fact]
    public void Ingest_messages_are_queued_in_batches_bounded_by_count_and_size_and_read_back_whole()
    {
        var messages = Enumerable.Range(1, 60).Select(i =>
            new IngestMessage(7, 1, 3, 42, (uint)i, $"sha256/ab/{i:D62}", new string('a', 64), i * 100, [@"\Seen", "$label"], 1_790_000_000 + i)).ToList();

        var byCount = IngestBatchCodec.Encode(messages, maxMessages: 25, maxBytes: 48 * 1024).ToList();
        Assert.Equal([25, 25, 10], byCount.Select(b => IngestBatchCodec.Decode(b).Messages.Count));
        Assert.Equal(messages, byCount.SelectMany(b => IngestBatchCodec.Decode(b).Messages), new IngestMessageComparer());

        var bySize = IngestBatchCodec.Encode(messages, maxMessages: 200, maxBytes: 4096).ToList();
        Assert.All(bySize, b => Assert.True(System.Text.Encoding.UTF8.GetByteCount(b) <= 4096 + 64, $"{b.Length} bytes"));
        Assert.Equal(60, bySize.Sum(b => IngestBatchCodec.Decode(b).Messages.Count));

        // A bare message (the format before batching, no longer written) is refused by name: the delivery policy parks it
        // with this error instead of reading it as something else.
        string bare = JsonSerializer.Serialize(messages[0], IngestBatchCodec.Json);
        Assert.Contains("messages", Assert.Throws<FormatException>(() => IngestBatchCodec.Decode(bare)).Message);
    }

    [Fact]
    public void The_idempotency_key_of_a_batch_depends_on_its_content_only()
    {
        var one = new IngestMessage(7, 1, 3, 42, 1, "sha256/ab/1", new string('a', 64), 100, [], 1_790_000_000);
        string body = IngestBatchCodec.Encode([one], 25, 48 * 1024).Single();
        string again = IngestBatchCodec.Encode([one with { }], 25, 48 * 1024).Single();
        string other = IngestBatchCodec.Encode([one with { Uid = 2 }], 25, 48 * 1024).Single();
        Assert.Equal(IngestBatchCodec.IdempotencyKey(body), IngestBatchCodec.IdempotencyKey(again));
        Assert.NotEqual(IngestBatchCodec.IdempotencyKey(body), IngestBatchCodec.IdempotencyKey(other));
        Assert.Equal(IngestBatchCodec.IdempotencyKey(body), ServiceBusIngestQueue.ToMessage(body).MessageId);
    }

    private sealed class IngestMessageComparer : IEqualityComparer<IngestMessage>
    {
        public bool Equals(IngestMessage? a, IngestMessage? b) => a is not null && b is not null
            && a with { Flags = [] } == b with { Flags = [] } && a.Flags.SequenceEqual(b.Flags);
        public int GetHashCode(IngestMessage m) => m.Uid.GetHashCode();
    }
}
