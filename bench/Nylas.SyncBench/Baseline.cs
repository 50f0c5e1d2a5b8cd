using System.Buffers;
using System.Diagnostics;
using MailKit;
using MailKit.Search;

namespace Nylas.SyncBench;

public sealed record FetchPass(int Messages, long Bytes, TimeSpan Elapsed)
{
    /// <summary>CPU during the pass (this process = the MailKit client; Dovecot), when measured.</summary>
    public CpuSnapshot? Cpu { get; init; }

    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;
    public double MegabytesPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;
}

public sealed record BaselineResult(FetchPass WarmUp, IReadOnlyList<FetchPass> Runs, FetchPass SummaryProbe)
{
    /// <summary>One more pass after the end-to-end run, to show how much the machine's load moved meanwhile.</summary>
    public FetchPass? After { get; set; }

    public FetchPass Median => Runs.OrderBy(r => r.Elapsed).ElementAt(Runs.Count / 2);
}

/// <summary>
/// The yardstick: raw MailKit over one connection, per folder <c>UID SEARCH ALL</c> then
/// <c>UID FETCH &lt;500 UIDs&gt; BODY.PEEK[]</c> (<see cref="ImapFolder.GetStreamsAsync(IList{UniqueId}, ImapFetchStreamAsyncCallback, CancellationToken)"/>)
/// reading every stream to its end. Nothing is stored: this is the IMAP download alone.
/// </summary>
public static class Baseline
{
    private const int Batch = 500;

    public static async Task<BaselineResult> RunAsync(string user, IReadOnlyList<string> folders, int runs, ProcessCpu cpu, CancellationToken cancellationToken)
    {
        using var client = await Seeder.ConnectAsync(user, cancellationToken);
        var warmUp = await PassAsync(client, ["INBOX"], cancellationToken);
        Console.WriteLine($"  warm-up (INBOX): {warmUp.Messages} msgs in {warmUp.Elapsed.TotalSeconds:F2} s");
        var list = new List<FetchPass>();
        for (int i = 0; i < runs; i++)
        {
            var before = cpu.Snapshot();
            var pass = await PassAsync(client, folders, cancellationToken);
            pass = pass with { Cpu = cpu.Snapshot().Minus(before) };
            Console.WriteLine($"  run {i + 1}: {pass.Messages} msgs, {pass.Bytes / 1e6:F1} MB in {pass.Elapsed.TotalSeconds:F2} s = {pass.MessagesPerSecond:F0} msgs/s, {pass.MegabytesPerSecond:F1} MB/s");
            list.Add(pass);
        }
        var probe = await SummaryProbeAsync(client, cancellationToken);
        Console.WriteLine($"  summaries (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE) of the newest {probe.Messages} INBOX messages: {probe.Elapsed.TotalMilliseconds:F0} ms");
        await client.DisconnectAsync(true, cancellationToken);
        return new BaselineResult(warmUp, list, probe);
    }

    public static async Task<FetchPass> OnePassAsync(string user, IReadOnlyList<string> folders, CancellationToken cancellationToken)
    {
        using var client = await Seeder.ConnectAsync(user, cancellationToken);
        var pass = await PassAsync(client, folders, cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
        return pass;
    }

    /// <summary>
    /// What the sync step does before its first body FETCH: the summaries (<c>UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE</c>)
    /// of every UID of the step's budget (Nylas:Sync:MaxMessagesPerStep, 5000) — here the newest 5000 INBOX UIDs.
    /// </summary>
    private static async Task<FetchPass> SummaryProbeAsync(MailKit.Net.Imap.ImapClient client, CancellationToken cancellationToken)
    {
        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        var sw = Stopwatch.StartNew();
        var uids = (await inbox.SearchAsync(SearchQuery.All, cancellationToken)).OrderByDescending(u => u.Id).Take(5000).ToList();
        var summaries = await inbox.FetchAsync(uids, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate
                                                     | MessageSummaryItems.Size | MessageSummaryItems.Envelope, cancellationToken);
        var elapsed = sw.Elapsed;
        await inbox.CloseAsync(false, cancellationToken);
        return new FetchPass(summaries.Count, 0, elapsed);
    }

    private static async Task<FetchPass> PassAsync(MailKit.Net.Imap.ImapClient client, IReadOnlyList<string> folders, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        int messages = 0;
        long bytes = 0;
        foreach (string name in folders)
        {
            var folder = name == "INBOX" ? client.Inbox : await client.GetFolderAsync(name, cancellationToken);
            await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
            var uids = folder.Count == 0 ? [] : await folder.SearchAsync(SearchQuery.All, cancellationToken);
            foreach (var chunk in uids.OrderByDescending(u => u.Id).Chunk(Batch))
            {
                await ((MailKit.Net.Imap.ImapFolder)folder).GetStreamsAsync(chunk, async (_, _, _, stream, ct) =>
                {
                    byte[] buffer = ArrayPool<byte>.Shared.Rent(81920);
                    try
                    {
                        long n = 0;
                        int read;
                        while ((read = await stream.ReadAsync(buffer, ct)) > 0) n += read;
                        Interlocked.Add(ref bytes, n);
                        Interlocked.Increment(ref messages);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }, cancellationToken);
            }
            await folder.CloseAsync(false, cancellationToken);
        }
        return new FetchPass(messages, bytes, sw.Elapsed);
    }
}
