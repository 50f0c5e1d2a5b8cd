using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
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
        await queue.EnqueueAsync(new IngestMessage(1, 0, 1, 1, 1, missingBlob, new string('0', 64), 10, [], 0));

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
}
