using System.Diagnostics;
using MailKit;
using MailKit.Net.Imap;
using MimeKit;
using Nylas.Testing;

namespace Nylas.SyncBench;

/// <summary>One message of the benchmark mailbox as planned: which corpus file it copies, where it goes, its flags.</summary>
public sealed record SeedItem(int Seq, string Folder, int TemplateIndex, MessageFlags Flags, DateTimeOffset InternalDate);

/// <summary>What seeding produced: the plan, the UIDs the server assigned (UIDPLUS), the time it took.</summary>
public sealed record SeedResult(
    string User, IReadOnlyList<SeedItem> Items, IReadOnlyDictionary<string, List<uint>> UidsByFolder,
    long Bytes, TimeSpan Elapsed, IReadOnlyDictionary<int, (string Folder, uint Uid)> UidBySeq)
{
    public int Seen => Items.Count(i => i.Flags.HasFlag(MessageFlags.Seen));
    public int Flagged => Items.Count(i => i.Flags.HasFlag(MessageFlags.Flagged));
}

/// <summary>
/// Builds the benchmark mailbox on a fresh Dovecot user: the corpus replicated round-robin, each copy made
/// distinct, 70 % INBOX / 20 % Archive / 10 % Sent, ~40 % \Seen and ~5 % \Flagged, APPENDed with
/// MULTIAPPEND batches (one connection per folder). INTERNALDATE grows with the sequence number, so within
/// a folder UID order, INTERNALDATE order and sequence order agree (the API lists by INTERNALDATE).
/// </summary>
public static class Seeder
{
    public static readonly string[] Folders = ["INBOX", "Archive", "Sent"];
    private const int BatchMessages = 200;
    private const long BatchBytes = 8L * 1024 * 1024;
    private static readonly DateTimeOffset BaseDate = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<SeedItem> Plan(int count, int templates, int firstSeq = 0)
    {
        var rng = new Random(20240101 + firstSeq);
        var items = new List<SeedItem>(count);
        for (int seq = firstSeq; seq < firstSeq + count; seq++)
        {
            string folder = (seq % 10) switch { < 7 => "INBOX", < 9 => "Archive", _ => "Sent" };
            var flags = MessageFlags.None;
            if (rng.NextDouble() < 0.40) flags |= MessageFlags.Seen;
            if (rng.NextDouble() < 0.05) flags |= MessageFlags.Flagged;
            items.Add(new SeedItem(seq, folder, seq % templates, flags, BaseDate.AddMinutes(seq)));
        }
        return items;
    }

    public static async Task<SeedResult> SeedAsync(Corpus corpus, int count, string runId, CancellationToken cancellationToken)
    {
        string user = TestStack.NewMailbox("bench");
        // Log in once so that Dovecot creates the mailbox (and its auto-created special-use folders).
        using (var login = await ConnectAsync(user, cancellationToken))
        {
            foreach (string name in Folders.Skip(1))
            {
                try { await login.GetFolderAsync(name, cancellationToken); }
                catch (FolderNotFoundException) { await login.GetFolder(login.PersonalNamespaces[0]).CreateAsync(name, true, cancellationToken); }
            }
            await login.DisconnectAsync(true, cancellationToken);
        }

        var items = Plan(count, corpus.Templates.Count);
        var sw = Stopwatch.StartNew();
        long bytes = 0;
        var uidsByFolder = new Dictionary<string, List<uint>>();
        var uidBySeq = new Dictionary<int, (string, uint)>();
        var tasks = Folders.Select(async folderName =>
        {
            var mine = items.Where(i => i.Folder == folderName).ToList();
            using var client = await ConnectAsync(user, cancellationToken);
            var (pairs, folderBytes) = await AppendAsync(client, folderName, mine, corpus, runId, cancellationToken);
            await client.DisconnectAsync(true, cancellationToken);
            lock (uidsByFolder)
            {
                uidsByFolder[folderName] = pairs.Select(p => p.Uid).ToList();
                foreach (var (seq, uid) in pairs) uidBySeq[seq] = (folderName, uid);
                bytes += folderBytes;
            }
        });
        await Task.WhenAll(tasks);
        return new SeedResult(user, items, uidsByFolder, bytes, sw.Elapsed, uidBySeq);
    }

    /// <summary>APPENDs the items to one folder in MULTIAPPEND batches; returns (seq, UID) pairs in order and the bytes sent.</summary>
    public static async Task<(List<(int Seq, uint Uid)> Pairs, long Bytes)> AppendAsync(
        ImapClient client, string folderName, IReadOnlyList<SeedItem> items, Corpus corpus, string runId, CancellationToken cancellationToken)
    {
        var pairs = new List<(int Seq, uint Uid)>(items.Count);
        long folderBytes = 0;
        var folder = folderName == "INBOX" ? client.Inbox : await client.GetFolderAsync(folderName, cancellationToken);
        var batch = new List<(SeedItem Item, MimeMessage Message)>();
        long batchBytes = 0;
        async Task FlushAsync()
        {
            if (batch.Count == 0) return;
            var requests = batch.Select(b => (IAppendRequest)new AppendRequest(b.Message, b.Item.Flags) { InternalDate = b.Item.InternalDate }).ToList();
            var appended = await folder.AppendAsync(requests, cancellationToken);
            if (appended.Count != batch.Count)
                throw new InvalidOperationException($"MULTIAPPEND to {folderName} returned {appended.Count} UIDs for {batch.Count} messages (no UIDPLUS?)");
            for (int i = 0; i < batch.Count; i++) pairs.Add((batch[i].Item.Seq, appended[i].Id));
            foreach (var b in batch) b.Message.Dispose();
            batch.Clear();
            batchBytes = 0;
        }
        foreach (var item in items)
        {
            byte[] raw = Corpus.Copy(corpus.Templates[item.TemplateIndex], item.Seq, runId);
            folderBytes += raw.Length;
            batch.Add((item, MimeMessage.Load(new MemoryStream(raw), cancellationToken)));
            batchBytes += raw.Length;
            if (batch.Count >= BatchMessages || batchBytes >= BatchBytes) await FlushAsync();
        }
        await FlushAsync();
        return (pairs, folderBytes);
    }

    public static async Task<ImapClient> ConnectAsync(string user, CancellationToken cancellationToken)
    {
        try
        {
            var client = new ImapClient { Timeout = 300_000 };
            await client.ConnectAsync(TestStack.ImapHost, TestStack.ImapPort, MailKit.Security.SecureSocketOptions.None, cancellationToken);
            await client.AuthenticateAsync(user, TestStack.ImapPassword, cancellationToken);
            return client;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            throw new StackUnavailableException($"cannot reach Dovecot at {TestStack.ImapHost}:{TestStack.ImapPort}: {ex.Message}", ex);
        }
    }
}
