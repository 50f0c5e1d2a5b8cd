using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>Two deliveries before an ingest message counts as poison, so the test does not wait long.</summary>
public sealed class PoisonHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Nylas:Ingest:MaxDequeueCount"] = "2";
}

/// <summary>A message ingest cannot process is retried, then parked with its error; the pump keeps going.</summary>
public class IngestQueueTests(PoisonHostFixture host) : IClassFixture<PoisonHostFixture>
{
    [Fact]
    public async Task A_message_that_keeps_failing_lands_in_the_poison_queue_with_its_error_and_ingest_goes_on()
    {
        var queue = host.App.Services.GetRequiredService<StorageQueueIngestQueue>();
        string missingBlob = $"sha256/00/{new string('0', 62)}{Random.Shared.Next(10, 99)}";
        await queue.EnqueueAsync([new IngestMessage(1, 0, 1, 1, 1, missingBlob, new string('0', 64), 10, [], 0)]);

        string? poisoned = null;
        var parked = await TestStack.WaitUntilAsync(async () =>
        {
            foreach (var m in (await queue.PoisonQueue.PeekMessagesAsync(32)).Value)
                if (m.MessageText.Contains(missingBlob)) poisoned = m.MessageText;
            return poisoned is not null;
        }, TimeSpan.FromSeconds(60));
        Assert.True(parked.HasValue, "the failing message never reached the poison queue");
        var envelope = JsonDocument.Parse(poisoned!).RootElement;
        Assert.Contains("BlobNotFound", envelope.GetProperty("error").GetString());
        Assert.Equal(2, envelope.GetProperty("dequeue_count").GetInt64());

        // The pump is still running: mail keeps flowing.
        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after the poison"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_failing_message_in_a_batch_is_parked_alone_and_the_rest_of_its_batch_is_stored()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        long accountDbId = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE public_id = '{accountId}'");
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
            return new IngestMessage(accountDbId, shard, inbox, 1, uid, blob, sha, raw.Length, [], 1_790_000_000);
        }
        string missingBlob = $"sha256/11/{new string('1', 62)}{Random.Shared.Next(10, 99)}";
        var bad = new IngestMessage(accountDbId, shard, inbox, 1, 9002, missingBlob, new string('1', 64), 10, [], 0);
        var queue = host.App.Services.GetRequiredService<StorageQueueIngestQueue>();
        await queue.EnqueueAsync([await Good(9001, "batch mate one"), bad, await Good(9003, "batch mate two")]);

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(30)));
        string? poisoned = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            foreach (var m in (await queue.PoisonQueue.PeekMessagesAsync(32)).Value)
                if (m.MessageText.Contains(missingBlob)) poisoned = m.MessageText;
            return poisoned is not null;
        }, TimeSpan.FromSeconds(60)));
        var parked = IngestBatchCodec.Decode(JsonDocument.Parse(poisoned!).RootElement.GetProperty("message").GetString()!);
        Assert.Equal([9002u], parked.Messages.Select(m => m.Uid));
    }

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

        // A single message as queued before batching is read as a batch of one.
        string legacy = JsonSerializer.Serialize(messages[0], IngestBatchCodec.Json);
        Assert.Equal(messages[0], IngestBatchCodec.Decode(legacy).Messages.Single(), new IngestMessageComparer());
    }

    private sealed class IngestMessageComparer : IEqualityComparer<IngestMessage>
    {
        public bool Equals(IngestMessage? a, IngestMessage? b) => a is not null && b is not null
            && a with { Flags = [] } == b with { Flags = [] } && a.Flags.SequenceEqual(b.Flags);
        public int GetHashCode(IngestMessage m) => m.Uid.GetHashCode();
    }
}
