using System.Diagnostics;
using MailKit;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using Nylas.Engine.Queues;
using Nylas.Engine.Sync;

namespace Nylas.SyncBench;

public sealed record RaceResult(
    int Appended, IReadOnlyList<uint> FlaggedUids, IReadOnlyList<uint> ExpungedUids,
    int TargetsIngestedAtChange, int TargetsIngestedAtNextStep, TimeSpan DrainTook,
    TargetState CondStore, TargetState Full,
    IReadOnlyList<CheckLine> AfterCondStore, IReadOnlyList<CheckLine> AfterFullCompare);

/// <summary>How the changed messages look in the mirror: flagged ones without \Flagged, expunged ones still there, flagged ones never ingested.</summary>
public sealed record TargetState(int FlagLost, int Phantoms, int NotIngested);

/// <summary>
/// Not part of the figures, run after them: a change made on the server while ingest lags behind the sync
/// step. New mail is APPENDed to INBOX, one sync step (CONDSTORE, called directly) queues it, and at once a few
/// of the newest of those messages — queued but not ingested yet — are flagged and a few others expunged on the
/// server. Another step runs while ingest is still behind, ingest drains, one more step runs, and the mirror
/// is compared with the server. Then one step without CONDSTORE (full comparison) runs and the mirror is
/// compared again. The sync step only applies flag changes and expunges to UIDs already in <c>imap_uids</c>,
/// while ingest later writes the flags the message was queued with.
/// </summary>
public static class RaceCheck
{
    public static async Task<RaceResult> RunAsync(HostUnderTest host, SeedResult seed, Corpus corpus, string runId, long accountId, int shardId,
        BenchLog log, CancellationToken cancellationToken)
    {
        int extra = Math.Clamp(seed.Items.Count / 20, 200, 1000);
        const int k = 20;
        var items = Seeder.Plan(extra, corpus.Templates.Count, firstSeq: seed.Items.Count)
            .Select(i => i with { Folder = "INBOX", Flags = MessageFlags.None }).ToList();
        List<uint> uids;
        using (var client = await Seeder.ConnectAsync(seed.User, cancellationToken))
        {
            var (pairs, _) = await Seeder.AppendAsync(client, "INBOX", items, corpus, runId, cancellationToken);
            uids = pairs.Select(p => p.Uid).ToList();
            await client.DisconnectAsync(true, cancellationToken);
        }
        Console.WriteLine($"  appended {extra} messages to INBOX (UIDs {uids.Min()}..{uids.Max()})");

        await using var engine = Incremental.CreateEngine(host, log, disableCondStore: false);
        var syncer = engine.GetRequiredService<MailboxSyncer>();
        log.ResetClock("race check: CONDSTORE step queues the new mail");
        var step1 = await syncer.SyncAsync(accountId, cancellationToken);
        Console.WriteLine($"  step 1 (CONDSTORE): queued {step1.Fetched}");

        var newest = uids.OrderDescending().Take(2 * k).ToList();
        var flagged = newest.Take(k).Order().ToList();
        var expunged = newest.Skip(k).Order().ToList();
        long inboxId = await ScalarAsync(host.Shard(shardId), "SELECT id FROM folders WHERE account_id = @a AND name = 'INBOX'", accountId, cancellationToken);
        int ingestedAtChange = await CountIngestedAsync(host.Shard(shardId), inboxId, newest, cancellationToken);
        using (var client = await Seeder.ConnectAsync(seed.User, cancellationToken))
        {
            var inbox = client.Inbox;
            await inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
            await inbox.AddFlagsAsync(flagged.Select(u => new UniqueId(u)).ToList(), MessageFlags.Flagged, silent: true, cancellationToken);
            var gone = expunged.Select(u => new UniqueId(u)).ToList();
            await inbox.AddFlagsAsync(gone, MessageFlags.Deleted, silent: true, cancellationToken);
            await inbox.ExpungeAsync(gone, cancellationToken);
            await client.DisconnectAsync(true, cancellationToken);
        }
        Console.WriteLine($"  on the server: flagged {k} and expunged {k} of the newest queued messages ({ingestedAtChange} of those {2 * k} were ingested at that moment)");

        int ingestedAtStep2 = await CountIngestedAsync(host.Shard(shardId), inboxId, newest, cancellationToken);
        var step2 = await syncer.SyncAsync(accountId, cancellationToken);
        Console.WriteLine($"  step 2 (CONDSTORE) while ingest is behind ({ingestedAtStep2}/{2 * k} of them ingested): fetched {step2.Fetched}");

        var drain = await DrainAsync(host, cancellationToken);
        Console.WriteLine($"  ingest drained after {drain.TotalSeconds:F1} s");
        var step3 = await syncer.SyncAsync(accountId, cancellationToken);
        Console.WriteLine($"  step 3 (CONDSTORE) after ingest: fetched {step3.Fetched}");
        using var http = host.Client();
        Console.WriteLine("  mirror check after the CONDSTORE steps:");
        var afterCondStore = await MirrorCheck.RunAsync(seed.User, host.Shard(shardId), accountId, await host.CountAsync(http, cancellationToken), cancellationToken);
        var condStoreState = await TargetsAsync(host.Shard(shardId), inboxId, flagged, expunged, cancellationToken);
        Console.WriteLine($"  targets after the CONDSTORE steps: {condStoreState}");

        await using (var full = Incremental.CreateEngine(host, log, disableCondStore: true))
        {
            await Incremental.SetFullCompareDueAsync(host, accountId, due: true, cancellationToken);
            var step4 = await full.GetRequiredService<MailboxSyncer>().SyncAsync(accountId, cancellationToken);
            Console.WriteLine($"  step 4 (without CONDSTORE, full comparison): fetched {step4.Fetched}");
        }
        await DrainAsync(host, cancellationToken);
        Console.WriteLine("  mirror check after one full-comparison step:");
        var afterFull = await MirrorCheck.RunAsync(seed.User, host.Shard(shardId), accountId, await host.CountAsync(http, cancellationToken), cancellationToken);
        var fullState = await TargetsAsync(host.Shard(shardId), inboxId, flagged, expunged, cancellationToken);
        Console.WriteLine($"  targets after the full-comparison step: {fullState}");
        return new RaceResult(extra, flagged, expunged, ingestedAtChange, ingestedAtStep2, drain, condStoreState, fullState, afterCondStore, afterFull);
    }

    private static async Task<TargetState> TargetsAsync(string shard, long folderId, IReadOnlyList<uint> flagged, IReadOnlyList<uint> expunged, CancellationToken cancellationToken)
    {
        await using var db = new MySqlConnection(shard);
        await db.OpenAsync(cancellationToken);
        var flags = new Dictionary<uint, string>();
        await using (var cmd = new MySqlCommand($"SELECT uid, flags FROM imap_uids WHERE folder_id = @f AND uid IN ({string.Join(',', flagged)})", db))
        {
            cmd.Parameters.AddWithValue("@f", folderId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) flags[Convert.ToUInt32(r.GetValue(0))] = r.GetString(1);
        }
        int flagLost = flags.Values.Count(f => !ImapFlags.IsFlagged(f));
        int notIngested = flagged.Count - flags.Count;
        int phantoms = await CountIngestedAsync(shard, folderId, expunged, cancellationToken);
        return new TargetState(flagLost, phantoms, notIngested);
    }

    private static async Task<TimeSpan> DrainAsync(HostUnderTest host, CancellationToken cancellationToken)
    {
        var queue = host.App.Services.GetRequiredService<StorageQueueIngestQueue>();
        var sw = Stopwatch.StartNew();
        int emptyInARow = 0;
        while (sw.Elapsed < TimeSpan.FromMinutes(10))
        {
            int length = (await queue.Queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
            emptyInARow = length == 0 ? emptyInARow + 1 : 0;
            if (emptyInARow >= 3) break;
            await Task.Delay(500, cancellationToken);
        }
        return sw.Elapsed;
    }

    private static async Task<int> CountIngestedAsync(string shard, long folderId, IReadOnlyList<uint> uids, CancellationToken cancellationToken)
    {
        await using var db = new MySqlConnection(shard);
        await db.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand($"SELECT COUNT(*) FROM imap_uids WHERE folder_id = @f AND uid IN ({string.Join(',', uids)})", db);
        cmd.Parameters.AddWithValue("@f", folderId);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    private static async Task<long> ScalarAsync(string shard, string sql, long accountId, CancellationToken cancellationToken)
    {
        await using var db = new MySqlConnection(shard);
        await db.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand(sql, db);
        cmd.Parameters.AddWithValue("@a", accountId);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken));
    }
}
