using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Testing;

namespace Nylas.SyncBench;

public sealed record ProbeStep(string What, int Operations, TimeSpan Elapsed)
{
    public double PerSecond => Operations / Elapsed.TotalSeconds;
}

/// <summary>
/// How fast the storage emulator alone goes with the engine's own calls, on a scratch container and queue:
/// what the sync step does per message (<see cref="RawMailStore.PutAsync"/> + one queue send, 8 in parallel
/// like Nylas:Sync:UploadParallelism) and what the ingest pump does per message without parsing or MySQL
/// (receive 32, <see cref="RawMailStore.OpenReadAsync"/> read to the end, delete; 8 in parallel like
/// Nylas:Ingest:Parallelism). A ceiling for the pipeline on this machine, measured after the end-to-end run.
/// Then the queue alone with a short and a long backlog (as long as the ingest queue got in the run), to show
/// whether a queue call's cost grows with the queue's length.
/// </summary>
public static class StorageProbe
{
    public static async Task<List<ProbeStep>> RunAsync(int count, int backlog, int messageSize, CancellationToken cancellationToken)
    {
        string id = "probe-" + Guid.NewGuid().ToString("N")[..12];
        var options = Options.Create(new NylasOptions { Storage = new StorageOptions { ConnectionString = TestStack.Storage, RawMailContainer = id, IngestQueue = id } });
        var blobs = new BlobServiceClient(TestStack.Storage);
        var store = new RawMailStore(blobs, options);
        var queue = new QueueClient(TestStack.Storage, id);
        await store.EnsureCreatedAsync(cancellationToken);
        await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        var steps = new List<ProbeStep>();
        try
        {
            var random = new Random(7);
            var payloads = Enumerable.Range(0, count).Select(_ => { var b = new byte[messageSize]; random.NextBytes(b); return b; }).ToList();
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken };

            // As the engine does it by default: blobs put 8 in parallel, one queue message per Nylas:Ingest:MessagesPerQueueMessage.
            int perQueueMessage = options.Value.Ingest.MessagesPerQueueMessage;
            var sw = Stopwatch.StartNew();
            foreach (var chunk in Enumerable.Range(0, count).Chunk(perQueueMessage))
            {
                var queued = new IngestMessage[chunk.Length];
                await Parallel.ForEachAsync(Enumerable.Range(0, chunk.Length), parallel, async (k, ct) =>
                {
                    int i = chunk[k];
                    byte[] raw = payloads[i];
                    string sha = Convert.ToHexStringLower(SHA256.HashData(raw));
                    string blob;
                    await using (var content = new MemoryStream(raw, writable: false))
                        blob = await store.PutAsync(sha, content, ct);
                    queued[k] = new IngestMessage(1, 0, 1, 1, (uint)i + 1, blob, sha, raw.LongLength, [@"\Seen"], 1_700_000_000);
                });
                foreach (string body in IngestBatchCodec.Encode(queued, perQueueMessage, 48 * 1024))
                    await queue.SendMessageAsync(body, cancellationToken);
            }
            steps.Add(new ProbeStep($"sync step's storage work per message: put blob ({messageSize / 1024.0:F1} KiB), 8 in parallel, + one enqueue per {perQueueMessage}", count, sw.Elapsed));

            sw.Restart();
            int done = 0;
            while (done < count)
            {
                var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), cancellationToken)).Value;
                if (batch.Length == 0) break;
                await Parallel.ForEachAsync(batch, parallel, async (m, ct) =>
                {
                    var ingest = IngestBatchCodec.Decode(m.MessageText);
                    await Parallel.ForEachAsync(ingest.Messages, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (one, ct2) =>
                    {
                        await using var stream = await store.OpenReadAsync(one.BlobName, ct2);
                        await stream.CopyToAsync(Stream.Null, ct2);
                    });
                    await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, ct);
                    Interlocked.Add(ref done, ingest.Messages.Count);
                });
            }
            steps.Add(new ProbeStep($"ingest pump's storage work per message: receive (32 queue messages per call) + open/read blob (4 in parallel per queue message) + one delete per {perQueueMessage}, 8 queue messages in parallel", done, sw.Elapsed));

            // The queue alone, with a short and with a long backlog: does a queue call cost more when the queue is long?
            foreach (int depth in new[] { count, backlog }.Distinct().Where(d => d > 0))
            {
                sw.Restart();
                await Parallel.ForEachAsync(Enumerable.Range(0, depth), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
                    async (i, ct) => await queue.SendMessageAsync($"{{\"probe\":{i}}}", ct));
                steps.Add(new ProbeStep($"queue only: enqueue {depth:N0} small messages into an empty queue, 16 in parallel", depth, sw.Elapsed));
                int take = Math.Min(count, depth);
                sw.Restart();
                int got = 0;
                while (got < take)
                {
                    var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5), cancellationToken)).Value;
                    if (batch.Length == 0) break;
                    await Parallel.ForEachAsync(batch, parallel, async (m, ct) => await queue.DeleteMessageAsync(m.MessageId, m.PopReceipt, ct));
                    got += batch.Length;
                }
                steps.Add(new ProbeStep($"queue only: receive (32 per call) + delete {got:N0} messages with {depth:N0} in the queue, 8 in parallel", got, sw.Elapsed));
                await queue.ClearMessagesAsync(cancellationToken);
            }
        }
        finally
        {
            try
            {
                await blobs.GetBlobContainerClient(id).DeleteIfExistsAsync(cancellationToken: CancellationToken.None);
                await queue.DeleteIfExistsAsync(CancellationToken.None);
            }
            catch (Azure.RequestFailedException) { }
        }
        return steps;
    }
}
