using MailKit;
using MailKit.Net.Imap;
using MimeKit;

namespace Nylas.Testing.Faults;

/// <summary>
/// How big the fault scenarios are: small in the regular run, a few thousand messages and the long outages with
/// <c>./dev test --faults</c> (which sets NYLAS_TEST_FAULTS=full).
/// </summary>
public static class FaultSize
{
    public static bool Full => Environment.GetEnvironmentVariable("NYLAS_TEST_FAULTS") == "full";

    /// <summary>Messages in a scenario mailbox.</summary>
    public static int Messages => Full ? 3000 : 300;

    /// <summary>How long a stopped service stays down (the issue measured 90 s).</summary>
    public static TimeSpan Outage => Full ? TimeSpan.FromSeconds(90) : TimeSpan.FromSeconds(20);

    /// <summary>Where a fault comes (e.g. the n-th FETCH response): <paramref name="regular"/> in the regular run, random below <paramref name="max"/> in the full one.</summary>
    public static int Point(int regular, int max, int seed) => Full ? new Random(seed).Next(1, max) : regular;

    /// <summary>A seed per run in the full run (printed, so a failure can be replayed with NYLAS_TEST_FAULT_SEED), fixed otherwise.</summary>
    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("NYLAS_TEST_FAULT_SEED"), out int s) ? s : Full ? Random.Shared.Next() : 7;
}

/// <summary>A scenario mailbox on the test Dovecot: several folders, mixed real-world and generated messages, some flagged or read.</summary>
public sealed class FaultMailbox
{
    /// <summary>INBOX plus Archive (special-use, created by Dovecot) and two folders of the user's own.</summary>
    public static readonly IReadOnlyList<string> Folders = ["INBOX", "Archive", "Work", "Lists"];

    public required string User { get; init; }
    public required int Total { get; init; }

    /// <summary>
    /// Creates the mailbox with <paramref name="total"/> messages spread over <see cref="Folders"/> (half in INBOX), appended
    /// in MULTIAPPEND batches. Up to a fifth come from NYLAS_TEST_CORPUS when it is set; each carries a unique header, so
    /// no two messages have the same bytes.
    /// </summary>
    public static async Task<FaultMailbox> CreateAsync(string user, int total, int seed, CancellationToken cancellationToken = default)
    {
        var random = new Random(seed);
        using var client = await TestStack.ConnectImapAsync(user);
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        foreach (string name in Folders.Skip(1))
            if (!(await root.GetSubfoldersAsync(false, cancellationToken)).Any(f => f.FullName == name))
                await root.CreateAsync(name, true, cancellationToken);

        var corpus = LoadCorpus(total / 5, random);
        var baseDate = DateTimeOffset.UtcNow.AddDays(-60);
        var batches = Folders.ToDictionary(f => f, _ => new List<IAppendRequest>());
        for (int i = 0; i < total; i++)
        {
            var message = i < corpus.Count ? corpus[i] : Generated(user, i, random);
            message.Headers.Replace("X-Fault-Seq", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            message.Date = baseDate.AddMinutes(i * 7);
            string folder = random.NextDouble() < 0.5 ? "INBOX" : Folders[1 + random.Next(Folders.Count - 1)];
            var flags = MessageFlags.None;
            if (random.NextDouble() < 0.4) flags |= MessageFlags.Seen;
            if (random.NextDouble() < 0.1) flags |= MessageFlags.Flagged;
            batches[folder].Add(new AppendRequest(message, flags) { InternalDate = message.Date });
        }
        foreach (var (name, requests) in batches)
        {
            var folder = name == "INBOX" ? client.Inbox : await client.GetFolderAsync(name, cancellationToken);
            foreach (var chunk in requests.Chunk(200)) await folder.AppendAsync(chunk.ToList(), cancellationToken);
        }
        await client.DisconnectAsync(true, cancellationToken);
        return new FaultMailbox { User = user, Total = total };
    }

    /// <summary>A new message as any sender would write it (plain text, sometimes with an attachment).</summary>
    public static MimeMessage Generated(string to, int n, Random random)
    {
        var message = TestStack.SimpleMessage(to, $"fault scenario {n:D5} {Guid.NewGuid():N}"[..34], from: $"Sender {n % 37} <sender{n % 37}@example.org>");
        string text = string.Join('\n', Enumerable.Range(0, 5 + random.Next(200)).Select(l => $"line {l} of message {n}: lorem ipsum dolor sit amet"));
        if (random.NextDouble() < 0.15)
        {
            var bytes = new byte[1024 + random.Next(64 * 1024)];
            random.NextBytes(bytes);
            var attachment = new MimePart("application", "octet-stream")
            {
                Content = new MimeContent(new MemoryStream(bytes)),
                ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = $"data{n}.bin",
            };
            message.Body = new Multipart("mixed") { new TextPart("plain") { Text = text }, attachment };
        }
        else
        {
            message.Body = new TextPart("plain") { Text = text };
        }
        return message;
    }

    private static List<MimeMessage> LoadCorpus(int max, Random random)
    {
        string? root = Environment.GetEnvironmentVariable("NYLAS_TEST_CORPUS");
        if (max == 0 || root is not { Length: > 0 } || !Directory.Exists(root)) return [];
        var parsed = new List<MimeMessage>();
        foreach (var item in CorpusMessages.Load(root).OrderBy(_ => random.Next()))
        {
            if (parsed.Count >= max) break;
            // Messages over 1 MB would make the scenario slow without testing anything more here.
            if (item.Bytes.Length > 1024 * 1024) continue;
            try { parsed.Add(MimeMessage.Load(new MemoryStream(item.Bytes))); }
            catch (FormatException) { }
        }
        return parsed;
    }
}

/// <summary>
/// An independent IMAP client (straight to Dovecot, not through a fault proxy) changing the mailbox while the account
/// syncs: flags set and cleared, messages moved between folders, deleted and expunged, new mail appended.
/// </summary>
public sealed class MailboxChanger : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _flags, _moves, _expunges, _appends;

    private MailboxChanger(string user, int seed, TimeSpan interval)
    {
        _loop = Task.Run(() => RunAsync(user, new Random(seed), interval, _stop.Token));
    }

    public static MailboxChanger Start(string user, int seed, TimeSpan? interval = null) => new(user, seed, interval ?? TimeSpan.FromMilliseconds(100));

    public override string ToString() => $"{_flags} flag changes, {_moves} moves, {_expunges} expunges, {_appends} new messages";

    /// <summary>Changes made so far.</summary>
    public int Count => Volatile.Read(ref _flags) + Volatile.Read(ref _moves) + Volatile.Read(ref _expunges) + Volatile.Read(ref _appends);

    /// <summary>Waits until at least <paramref name="changes"/> changes are made (a fault that ends quickly still races some).</summary>
    public async Task WaitForChangesAsync(int changes, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < changes && DateTime.UtcNow < deadline && !_loop.IsCompleted) await Task.Delay(100);
    }

    /// <summary>Stops changing; rethrows what made the changer fail, if anything did.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        try { await _loop; }
        catch (OperationCanceledException) { }
    }

    private async Task RunAsync(string user, Random random, TimeSpan interval, CancellationToken ct)
    {
        using var client = await TestStack.ConnectImapAsync(user);
        var folders = new List<IMailFolder> { client.Inbox };
        foreach (string name in FaultMailbox.Folders.Skip(1)) folders.Add(await client.GetFolderAsync(name, ct));
        int n = 100_000;
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(interval, ct);
            var folder = folders[random.Next(folders.Count)];
            await folder.OpenAsync(FolderAccess.ReadWrite, ct);
            var uids = folder.Count == 0 ? [] : await folder.SearchAsync(MailKit.Search.SearchQuery.All, ct);
            double roll = random.NextDouble();
            if (uids.Count == 0 || roll < 0.15)
            {
                var message = FaultMailbox.Generated(user, n++, random);
                await folder.AppendAsync(new AppendRequest(message, MessageFlags.None), ct);
                Interlocked.Increment(ref _appends);
            }
            else if (roll < 0.7)
            {
                var uid = uids[random.Next(uids.Count)];
                var flag = random.NextDouble() < 0.6 ? MessageFlags.Seen : MessageFlags.Flagged;
                var summary = (await folder.FetchAsync([uid], MessageSummaryItems.Flags, ct)).FirstOrDefault();
                bool set = summary?.Flags is { } f && f.HasFlag(flag);
                await folder.StoreAsync(uid, new StoreFlagsRequest(set ? StoreAction.Remove : StoreAction.Add, flag) { Silent = true }, ct);
                Interlocked.Increment(ref _flags);
            }
            else if (roll < 0.9)
            {
                var target = folders.Where(f => f != folder).ElementAt(random.Next(folders.Count - 1));
                await folder.MoveToAsync(uids[random.Next(uids.Count)], target, ct);
                Interlocked.Increment(ref _moves);
            }
            else
            {
                await folder.AddFlagsAsync(uids[random.Next(uids.Count)], MessageFlags.Deleted, true, ct);
                await folder.ExpungeAsync(ct);
                Interlocked.Increment(ref _expunges);
            }
            await folder.CloseAsync(false, ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
