using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using Nylas.Core.Messages;
using Nylas.Engine;
using Nylas.Engine.Hosting;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// A local host that reaches its shards and its Blob storage through loopback forwarders the tests can take away (a real
/// "connection refused"; the shared MariaDB and Azurite keep running), parks after two failed deliveries of a message's
/// own, retries infrastructure failures after at most a second, and parses messages up to 1 MiB.
/// </summary>
public sealed class OutageHostFixture : LocalHostFixture
{
    public const long MaxMessageBytes = 1024 * 1024;

    public LoopbackForwarder Database { get; } = new(PortOf(TestStack.MySql, @"Port=(\d+)"));
    public LoopbackForwarder Blobs { get; } = new(PortOf(TestStack.Storage, @"BlobEndpoint=http://127\.0\.0\.1:(\d+)/"));

    private static int PortOf(string connection, string pattern) => int.Parse(Regex.Match(connection, pattern).Groups[1].Value);

    protected override void Configure(Dictionary<string, string?> settings)
    {
        foreach (string key in settings.Keys.Where(k => k.StartsWith("Nylas:Database:Shards:", StringComparison.Ordinal)).ToList())
            settings[key] = Regex.Replace(settings[key]!, @"Port=\d+", $"Port={Database.Port}");
        settings["Nylas:Storage:ConnectionString"] = Regex.Replace(settings["Nylas:Storage:ConnectionString"]!,
            @"BlobEndpoint=http://127\.0\.0\.1:\d+/", $"BlobEndpoint=http://127.0.0.1:{Blobs.Port}/");
        settings["Nylas:Ingest:MaxDequeueCount"] = "2";
        settings["Nylas:Ingest:TransientRetryMaxSeconds"] = "1";
        settings["Nylas:Ingest:MaxMessageBytes"] = MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override async Task DisposeAsync()
    {
        Database.Open();
        Blobs.Open();
        await base.DisposeAsync();
        await Database.DisposeAsync();
        await Blobs.DisposeAsync();
    }
}

/// <summary>
/// Ingest when the infrastructure fails (scope items 1, 4 and 6 of issue 11): a database or Blob storage outage requeues the
/// batch whole and never parks it; work queued under an earlier UIDVALIDITY is dropped; over-long fields and over-large
/// messages are stored, cut or unparsed and flagged, never failing ingest.
/// </summary>
public sealed class IngestReliabilityTests(OutageHostFixture host) : IClassFixture<OutageHostFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private QueueClient _queue = null!;
    private QueueClient _poison = null!;

    public async Task InitializeAsync()
    {
        var service = new QueueServiceClient(TestStack.Storage);
        string name = "outage-" + Guid.NewGuid().ToString("N")[..12];
        _queue = service.GetQueueClient(name);
        _poison = service.GetQueueClient(name + "-poison");
        await _queue.CreateAsync();
        await _poison.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        host.Database.Open();
        host.Blobs.Open();
        await _queue.DeleteAsync();
        await _poison.DeleteAsync();
    }

    private sealed record Inbox(string Email, string Token, string AccountId, long AccountDbId, int Shard, long FolderId, uint UidValidity)
    {
        public string ShardDb => $"shard{Shard}";
    }

    private async Task<Inbox> ConnectAsync()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(accountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {dbId}");
        // The first sync step records the inbox with its UIDVALIDITY.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.Databases.ScalarAsync($"shard{shard}",
            $"SELECT COUNT(*) FROM folders WHERE account_id = {dbId} AND role = 'inbox' AND uid_validity IS NOT NULL") == 1, Timeout));
        long inbox = await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {dbId} AND role = 'inbox'");
        uint validity = (uint)await host.Databases.ScalarAsync($"shard{shard}", $"SELECT uid_validity FROM folders WHERE id = {inbox}");
        return new Inbox(email, token, accountId, dbId, shard, inbox, validity);
    }

    /// <summary>Writes the raw message as the sync step does and returns what it would queue.</summary>
    private async Task<(IngestMessage Ingest, byte[] Raw)> StageAsync(Inbox inbox, uint uid, MimeMessage message, uint? uidValidity = null)
    {
        using var raw = new MemoryStream();
        await message.WriteToAsync(raw);
        byte[] bytes = raw.ToArray();
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string blob = await host.App.Services.GetRequiredService<RawMailStore>().PutAsync(sha, new MemoryStream(bytes));
        return (new IngestMessage(inbox.AccountDbId, inbox.Shard, inbox.FolderId, uidValidity ?? inbox.UidValidity, uid, blob, sha, bytes.Length, [],
            1_790_000_000), bytes);
    }

    /// <summary>One delivery of the test queue's next message through the host's ingest policy, as the pump or the Functions trigger runs it.</summary>
    private async Task<(DeliveryResult Result, StorageQueueDelivery Delivery)> DeliverNextAsync()
    {
        QueueMessage? received = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (received = (await _queue.ReceiveMessageAsync(TimeSpan.FromMinutes(5))).Value) is not null, Timeout));
        var delivery = new StorageQueueDelivery(_queue, _poison, received!);
        return (await host.App.Services.GetRequiredService<IngestDelivery>().ProcessAsync(delivery, CancellationToken.None), delivery);
    }

    private async Task<long> StoredAsync(Inbox inbox, uint fromUid, uint toUid) => await host.Databases.ScalarAsync(inbox.ShardDb,
        $"SELECT COUNT(*) FROM imap_uids u JOIN messages m ON m.id = u.message_id WHERE u.folder_id = {inbox.FolderId} AND u.uid BETWEEN {fromUid} AND {toUid}");

    /// <summary>
    /// Takes <paramref name="outage"/> away, delivers the batch more times than MaxDequeueCount allows, brings it back, and
    /// delivers until it is stored: every delivery during the outage requeues the whole batch, nothing is parked.
    /// </summary>
    private async Task RunThroughOutageAsync(LoopbackForwarder outage, Inbox inbox, uint firstUid)
    {
        var batch = new List<IngestMessage>();
        for (uint uid = firstUid; uid < firstUid + 3; uid++)
            batch.Add((await StageAsync(inbox, uid, TestStack.SimpleMessage(inbox.Email, $"through the outage {uid}"))).Ingest);
        await _queue.SendMessageAsync(IngestBatchCodec.Encode(batch, 25, 48 * 1024).Single());

        outage.Close();
        try
        {
            for (int delivery = 1; delivery <= 3; delivery++)
            {
                var (result, received) = await DeliverNextAsync();
                Assert.Equal(DeliveryResult.Requeued, result);
                // The batch goes back whole: an outage is not a bad message, so it is not split into singles.
                Assert.Equal(batch.Select(m => m.Uid), IngestBatchCodec.Decode(received.Body).Messages.Select(m => m.Uid));
                Assert.Equal(delivery - 1, received.TransientFailures);
            }
        }
        finally
        {
            outage.Open();
        }

        // Pooled connections cut by the outage may fail once more: still requeued, never parked.
        DeliveryResult last = DeliveryResult.Requeued;
        for (int attempt = 0; attempt < 5 && last == DeliveryResult.Requeued; attempt++)
            (last, _) = await DeliverNextAsync();
        Assert.Equal(DeliveryResult.Completed, last);
        Assert.Equal(3, await StoredAsync(inbox, firstUid, firstUid + 2));
        Assert.Equal(0, (await _poison.GetPropertiesAsync()).Value.ApproximateMessagesCount);
        Assert.Equal(0, (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task A_database_outage_requeues_the_batch_whole_however_many_deliveries_it_takes_and_it_is_stored_once_the_database_is_back()
    {
        var inbox = await ConnectAsync();
        await RunThroughOutageAsync(host.Database, inbox, 8001);
    }

    [Fact]
    public async Task A_blob_storage_outage_requeues_the_batch_whole_and_it_is_stored_once_storage_is_back()
    {
        var inbox = await ConnectAsync();
        await RunThroughOutageAsync(host.Blobs, inbox, 8101);
    }

    [Fact]
    public async Task Work_queued_under_a_folders_previous_UIDVALIDITY_is_dropped_and_writes_no_location()
    {
        var inbox = await ConnectAsync();
        // Stop the sync, so that only this test changes the folder's epoch (as a reset by the sync step would).
        using (var app = host.AppClient())
        using (var downgrade = await app.PostAsync($"/a/{host.ClientId}/accounts/{inbox.AccountId}/downgrade", new StringContent("{}")))
            Assert.Equal(HttpStatusCode.OK, downgrade.StatusCode);
        uint newEpoch = inbox.UidValidity + 1;
        await host.Databases.QueryScalarAsync(inbox.ShardDb, $"UPDATE folders SET uid_validity = {newEpoch} WHERE id = {inbox.FolderId}");

        var (stale, _) = await StageAsync(inbox, 9101, TestStack.SimpleMessage(inbox.Email, "fetched before the reset"));
        var (current, _) = await StageAsync(inbox, 9102, TestStack.SimpleMessage(inbox.Email, "fetched after the reset"), newEpoch);
        await host.App.Services.GetRequiredService<IIngestQueue>().EnqueueAsync([stale, current]);

        // Both are in one queue message, stored in one transaction: once the current one is there, the stale one was dropped.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await StoredAsync(inbox, 9102, 9102) == 1, Timeout));
        Assert.Equal(0, await host.Databases.ScalarAsync(inbox.ShardDb, $"SELECT COUNT(*) FROM imap_uids WHERE folder_id = {inbox.FolderId} AND uid = 9101"));
        Assert.Equal(0, await host.Databases.ScalarAsync(inbox.ShardDb,
            $"SELECT COUNT(*) FROM messages WHERE account_id = {inbox.AccountDbId} AND data_sha256 = '{stale.Sha256}'"));
    }

    [Fact]
    public async Task An_HTML_body_larger_than_its_column_is_cut_and_flagged_and_the_raw_message_is_served_whole()
    {
        var inbox = await ConnectAsync();
        // MEDIUMTEXT holds 16 MiB - 1 bytes; this body is 17 MB of HTML.
        var message = TestStack.SimpleMessage(inbox.Email, "a very long newsletter");
        message.Body = new TextPart("html") { Text = "<p>" + new string('x', 17_000_000) + "</p>", ContentTransferEncoding = ContentEncoding.Base64 };
        var (ingest, raw) = await StageAsync(inbox, 9201, message);

        // Straight to the writer: this host does not parse messages over 1 MiB, the body column's limit is what is tested.
        var parsed = new MimeMessageMapper().Map(new MemoryStream(raw));
        Assert.True(Encoding.UTF8.GetByteCount(parsed.BodyHtml) > ColumnLimits.BodyBytes);
        await host.App.Services.GetRequiredService<MessageWriter>().SaveAsync(ingest, parsed, CancellationToken.None);

        string where = $"account_id = {inbox.AccountDbId} AND data_sha256 = '{ingest.Sha256}'";
        long length = await host.Databases.ScalarAsync(inbox.ShardDb, $"SELECT LENGTH(body) FROM messages WHERE {where}");
        Assert.InRange(length, ColumnLimits.BodyBytes - 4, ColumnLimits.BodyBytes);
        Assert.StartsWith("body of ", (string)(await host.Databases.QueryScalarAsync(inbox.ShardDb, $"SELECT parse_notes FROM messages WHERE {where}"))!);
        string id = (string)(await host.Databases.QueryScalarAsync(inbox.ShardDb, $"SELECT public_id FROM messages WHERE {where}"))!;

        using var http = host.Client(inbox.Token);
        var json = await http.GetFromJsonAsync<JsonElement>($"/messages/{id}");
        Assert.Equal("a very long newsletter", json.GetProperty("subject").GetString());
        Assert.StartsWith("<p>xxx", json.GetProperty("body").GetString());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{id}");
        request.Headers.Accept.ParseAdd("message/rfc822");
        using var rawResponse = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, rawResponse.StatusCode);
        Assert.Equal(raw, await rawResponse.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_message_larger_than_MaxMessageBytes_is_stored_unparsed_flagged_and_served_raw()
    {
        var inbox = await ConnectAsync();
        var builder = new BodyBuilder { TextBody = "see the attachment" };
        builder.Attachments.Add("big.bin", RandomNumberGenerator.GetBytes((int)OutageHostFixture.MaxMessageBytes));
        var message = TestStack.SimpleMessage(inbox.Email, "too big to parse");
        message.Body = builder.ToMessageBody();
        var (ingest, raw) = await StageAsync(inbox, 9301, message);
        Assert.True(raw.Length > OutageHostFixture.MaxMessageBytes);

        await host.App.Services.GetRequiredService<IIngestQueue>().EnqueueAsync([ingest]);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await StoredAsync(inbox, 9301, 9301) == 1, Timeout));

        string where = $"account_id = {inbox.AccountDbId} AND data_sha256 = '{ingest.Sha256}'";
        Assert.Contains("Nylas:Ingest:MaxMessageBytes", (string)(await host.Databases.QueryScalarAsync(inbox.ShardDb, $"SELECT parse_error FROM messages WHERE {where}"))!);
        Assert.Equal("", (string)(await host.Databases.QueryScalarAsync(inbox.ShardDb, $"SELECT body FROM messages WHERE {where}"))!);
        Assert.Equal(0, await host.Databases.ScalarAsync(inbox.ShardDb,
            $"SELECT COUNT(*) FROM message_files mf JOIN messages m ON m.id = mf.message_id WHERE m.{where.Replace(" AND ", " AND m.", StringComparison.Ordinal)}"));
        string id = (string)(await host.Databases.QueryScalarAsync(inbox.ShardDb, $"SELECT public_id FROM messages WHERE {where}"))!;

        using var http = host.Client(inbox.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{id}");
        request.Headers.Accept.ParseAdd("message/rfc822");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(raw, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(0, (await host.App.Services.GetRequiredService<StorageQueueIngestQueue>().PoisonQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }
}

/// <summary>The delivery policy's split between the infrastructure's failures and the work's own, on a real storage queue.</summary>
public sealed class TransientDeliveryTests : IAsyncLifetime
{
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly QueueDelivery _policy = new(maxDeliveries: 2, NullLogger.Instance, TimeSpan.FromSeconds(1));

    public TransientDeliveryTests()
    {
        var service = new QueueServiceClient(TestStack.Storage);
        string name = "transient-" + Guid.NewGuid().ToString("N")[..12];
        _queue = service.GetQueueClient(name);
        _poison = service.GetQueueClient(name + "-poison");
    }

    public async Task InitializeAsync()
    {
        await _queue.CreateAsync();
        await _poison.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        await _queue.DeleteAsync();
        await _poison.DeleteAsync();
    }

    private async Task<(DeliveryResult, StorageQueueDelivery)> DeliverAsync(Func<string, CancellationToken, Task> work)
    {
        QueueMessage? received = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (received = (await _queue.ReceiveMessageAsync(TimeSpan.FromMinutes(1))).Value) is not null, TimeSpan.FromSeconds(30)));
        var delivery = new StorageQueueDelivery(_queue, _poison, received!);
        return (await _policy.ProcessAsync(delivery, work, CancellationToken.None), delivery);
    }

    [Fact]
    public async Task Infrastructure_failures_never_count_toward_parking_and_the_works_own_failures_still_do()
    {
        await _queue.SendMessageAsync("""{"work":1}""");
        // A refused connection, many times more than maxDeliveries: requeued each time as a fresh copy carrying the counts.
        for (int i = 1; i <= 4; i++)
        {
            var (result, delivery) = await DeliverAsync((_, _) => throw new SocketException((int)SocketError.ConnectionRefused));
            Assert.Equal(DeliveryResult.Requeued, result);
            Assert.Equal("""{"work":1}""", delivery.Body);
            Assert.Equal(i - 1, delivery.TransientFailures);
            // A fresh copy: the transport's own dequeue count (what host.json's maxDequeueCount reads) starts again.
            Assert.Equal(i, delivery.DeliveryCount);
        }
        // Then a failure of the work itself: the first counts (retry), the second parks, with all deliveries recorded.
        var (first, _) = await DeliverAsync((_, _) => throw new InvalidOperationException("a bug"));
        Assert.Equal(DeliveryResult.RetryScheduled, first);
        var (second, _) = await DeliverAsync((_, _) => throw new InvalidOperationException("a bug"));
        Assert.Equal(DeliveryResult.DeadLettered, second);

        var parked = JsonDocument.Parse((await _poison.ReceiveMessageAsync()).Value.MessageText).RootElement;
        Assert.Equal("""{"work":1}""", parked.GetProperty("message").GetString());
        Assert.Equal(6, parked.GetProperty("dequeue_count").GetInt64());
    }

    [Theory]
    [InlineData("refused")]
    [InlineData("storage503")]
    [InlineData("storage429")]
    [InlineData("storageNoResponse")]
    [InlineData("timeout")]
    [InlineData("wrapped")]
    public void Infrastructure_failures_are_transient(string kind)
    {
        Exception error = kind switch
        {
            "refused" => new SocketException((int)SocketError.ConnectionRefused),
            "storage503" => new Azure.RequestFailedException(503, "Server busy"),
            "storage429" => new Azure.RequestFailedException(429, "Too many requests"),
            "storageNoResponse" => new AggregateException(new Azure.RequestFailedException("Connection refused", new HttpRequestException("refused"))),
            "timeout" => new TimeoutException(),
            _ => new InvalidOperationException("outer", new IOException("connection reset")),
        };
        Assert.True(TransientFailure.Is(error));
    }

    [Fact]
    public void Failures_of_the_work_itself_are_not_transient()
    {
        Assert.False(TransientFailure.Is(new InvalidOperationException("a bug")));
        Assert.False(TransientFailure.Is(new Azure.RequestFailedException(404, "BlobNotFound", "BlobNotFound", null)));
        Assert.False(TransientFailure.Is(new FormatException("Not an ingest batch")));
        Assert.False(TransientFailure.Is(new FileNotFoundException("spool")));
    }

    [Fact]
    public void A_requeued_copy_carries_the_body_byte_for_byte_and_a_producers_message_counts_nothing()
    {
        string body = "{\"messages\":[{\"uid\":1}]}\nsecond line";
        Assert.Equal((body, 7L, 3L), StorageQueueDelivery.Unwrap(StorageQueueDelivery.Wrap(body, 7, 3)));
        Assert.Equal((body, 0L, 0L), StorageQueueDelivery.Unwrap(body));
    }
}

/// <summary>Service Bus: a transient failure schedules a copy counting it, so the entity's own MaxDeliveryCount never sees an outage.</summary>
public sealed class ServiceBusTransientTests
{
    [Fact]
    public async Task A_transient_failure_schedules_a_copy_that_counts_it_and_completes_the_original()
    {
        var now = new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
        var properties = new Dictionary<string, object>
        {
            [ServiceBusDelivery.PriorDeliveriesProperty] = 9L,
            [ServiceBusDelivery.TransientFailuresProperty] = 8L,
        };
        var message = ServiceBusModelFactory.ServiceBusReceivedMessage(body: BinaryData.FromString("""{"messages":[]}"""), messageId: "abcd~9",
            deliveryCount: 1, properties: properties, lockTokenGuid: Guid.NewGuid());
        var settlement = new Settlement();
        var sender = new Sender();
        var policy = new QueueDelivery(maxDeliveries: 2, NullLogger.Instance, TimeSpan.FromSeconds(30));

        var result = await policy.ProcessAsync(new ServiceBusDelivery(message, settlement, sender, new Clock(now)),
            (_, _) => throw new Azure.RequestFailedException(0, "connection refused"), CancellationToken.None);

        // Ten deliveries, far beyond maxDeliveries 2, yet none of them was the work's own failure: requeued, not parked.
        Assert.Equal(DeliveryResult.Requeued, result);
        var copy = Assert.Single(sender.Sent);
        Assert.Equal(10L, copy.ApplicationProperties[ServiceBusDelivery.PriorDeliveriesProperty]);
        Assert.Equal(9L, copy.ApplicationProperties[ServiceBusDelivery.TransientFailuresProperty]);
        // Capped at 30 s (plus jitter), not 2^9 s.
        Assert.InRange(copy.ScheduledEnqueueTime, now.AddSeconds(30), now.AddSeconds(31));
        Assert.Equal(["complete abcd~9"], settlement.Actions);
    }

    private sealed class Settlement : IServiceBusSettlement
    {
        public List<string> Actions { get; } = [];
        public Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) { Actions.Add($"complete {message.MessageId}"); return Task.CompletedTask; }
        public Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) { Actions.Add("abandon"); return Task.CompletedTask; }
        public Task DeadLetterAsync(ServiceBusReceivedMessage message, DeliveryFailure failure, CancellationToken cancellationToken) { Actions.Add("dead-letter"); return Task.CompletedTask; }
    }

    private sealed class Sender : ServiceBusSender
    {
        public List<ServiceBusMessage> Sent { get; } = [];
        public override Task SendMessageAsync(ServiceBusMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message);
            return Task.CompletedTask;
        }
    }

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

/// <summary>One delivery policy for both hosts: host.json's own retry count can never park work before the engine's policy.</summary>
public class DeliveryPolicyHostJsonTests
{
    [Fact]
    public void Host_json_maxDequeueCount_is_at_least_the_largest_MaxDequeueCount_the_settings_allow()
    {
        var range = typeof(IngestOptions).GetProperty(nameof(IngestOptions.MaxDequeueCount))!.GetCustomAttribute<System.ComponentModel.DataAnnotations.RangeAttribute>()!;
        Assert.True(HostJsonCheck.MinMaxDequeueCount >= Convert.ToInt32(range.Maximum, System.Globalization.CultureInfo.InvariantCulture));
        using var hostJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot.Path, "host.json")));
        Assert.True(hostJson.RootElement.GetProperty("extensions").GetProperty("queues").GetProperty("maxDequeueCount").GetInt32() >= HostJsonCheck.MinMaxDequeueCount);
        Assert.Empty(HostJsonCheck.Problems(File.ReadAllText(Path.Combine(RepoRoot.Path, "host.json"))));
    }

    [Fact]
    public void A_host_json_that_would_park_before_the_policy_is_refused()
    {
        const string HostJson = """{"extensions":{"http":{"routePrefix":""},"queues":{"messageEncoding":"none","maxDequeueCount":5},"durableTask":{"hubName":"%Nylas:Durable:TaskHub%"}}}""";
        var problem = Assert.Single(HostJsonCheck.Problems(HostJson));
        Assert.Contains("maxDequeueCount", problem);
    }
}

/// <summary>Fields cut to the columns of the messages table, never mid-character.</summary>
public class ColumnLimitsTests
{
    [Fact]
    public void A_subject_over_the_TEXT_column_is_cut_at_a_character_boundary_and_noted()
    {
        // 3-byte characters and a 4-byte pair: a byte count that a cut could split.
        string subject = string.Concat(Enumerable.Repeat("€😀", 20_000));
        var (fitted, cut) = ColumnLimits.Fit(new ParsedMessage { Subject = subject, Snippet = new string('s', 500) });
        Assert.Equal(["subject"], cut);
        int bytes = Encoding.UTF8.GetByteCount(fitted.Subject!);
        Assert.InRange(bytes, ColumnLimits.SubjectBytes - 6, ColumnLimits.SubjectBytes);
        Assert.StartsWith(fitted.Subject!, subject, StringComparison.Ordinal);
        Assert.False(char.IsHighSurrogate(fitted.Subject![^1]));
        Assert.Equal(ColumnLimits.SnippetChars, fitted.Snippet.Length);
        Assert.StartsWith("subject of ", fitted.ParseNotes[0]);
    }

    [Fact]
    public void A_message_within_every_column_is_returned_as_it_is()
    {
        var parsed = new ParsedMessage { Subject = "short", BodyHtml = "<p>hi</p>", Snippet = "hi" };
        var (fitted, cut) = ColumnLimits.Fit(parsed);
        Assert.Same(parsed, fitted);
        Assert.Empty(cut);
    }
}
