using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MailKit;
using MailKit.Net.Imap;
using MySqlConnector;

namespace Nylas.Testing.Faults;

/// <summary>One location of a message on the IMAP server: its flags and the SHA-256 of its raw bytes.</summary>
public sealed record ServerMessage(uint Uid, IReadOnlySet<string> Flags, string Sha256);

/// <summary>What the IMAP server holds for a mailbox, folder by folder, read by an IMAP client of its own.</summary>
public static class ServerMailbox
{
    public static async Task<Dictionary<string, Dictionary<uint, ServerMessage>>> ReadAsync(string user, CancellationToken cancellationToken)
    {
        var server = new Dictionary<string, Dictionary<uint, ServerMessage>>(StringComparer.Ordinal);
        using var client = await TestStack.ConnectImapAsync(user);
        foreach (var folder in await ListFoldersAsync(client, cancellationToken))
        {
            await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
            var map = new Dictionary<uint, ServerMessage>();
            if (folder.Count > 0)
            {
                var summaries = await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags, cancellationToken);
                var hashes = new Dictionary<uint, string>();
                foreach (var chunk in summaries.Select(s => s.UniqueId).Chunk(500))
                {
                    await folder.GetStreamsAsync(chunk, async (_, _, uid, stream, ct) =>
                    {
                        string sha = await Sha256Async(stream, ct);
                        lock (hashes) hashes[uid.Id] = sha;
                    }, cancellationToken);
                }
                foreach (var s in summaries)
                    map[s.UniqueId.Id] = new ServerMessage(s.UniqueId.Id, FlagSet(s.Flags ?? MessageFlags.None, s.Keywords), hashes.GetValueOrDefault(s.UniqueId.Id, "?"));
            }
            server[folder.FullName] = map;
            await folder.CloseAsync(false, cancellationToken);
        }
        await client.DisconnectAsync(true, cancellationToken);
        return server;
    }

    /// <summary>Every selectable folder of the account, INBOX first.</summary>
    public static async Task<List<ImapFolder>> ListFoldersAsync(ImapClient client, CancellationToken cancellationToken)
    {
        var all = new List<IMailFolder> { client.Inbox };
        async Task Walk(IMailFolder parent)
        {
            foreach (var child in await parent.GetSubfoldersAsync(false, cancellationToken))
            {
                all.Add(child);
                if (!child.Attributes.HasFlag(FolderAttributes.HasNoChildren)) await Walk(child);
            }
        }
        await Walk(client.GetFolder(client.PersonalNamespaces[0]));
        return all.Cast<ImapFolder>()
            .Where(f => !f.Attributes.HasFlag(FolderAttributes.NoSelect) && !f.Attributes.HasFlag(FolderAttributes.NonExistent))
            .DistinctBy(f => f.FullName).ToList();
    }

    public static HashSet<string> FlagSet(MessageFlags flags, IReadOnlySet<string>? keywords)
    {
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (flags.HasFlag(MessageFlags.Seen)) set.Add(@"\Seen");
        if (flags.HasFlag(MessageFlags.Answered)) set.Add(@"\Answered");
        if (flags.HasFlag(MessageFlags.Flagged)) set.Add(@"\Flagged");
        if (flags.HasFlag(MessageFlags.Deleted)) set.Add(@"\Deleted");
        if (flags.HasFlag(MessageFlags.Draft)) set.Add(@"\Draft");
        if (keywords is not null) foreach (string k in keywords) set.Add(k);
        return set;
    }

    public static async Task<string> Sha256Async(Stream stream, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0) sha.AppendData(buffer, 0, n);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}

/// <summary>The outcome of a <see cref="MirrorCheck"/>: empty <see cref="Problems"/> means the mirror equals the server.</summary>
public sealed record MirrorReport(IReadOnlyList<string> Problems, IReadOnlyList<string> Lines)
{
    public bool Equal => Problems.Count == 0;
    public override string ToString() => string.Join('\n', Lines);
}

/// <summary>
/// The mirror must equal the server: per folder the same UIDs with the same flags (the mirror's locations), the same
/// bytes as the API serves them raw (<c>Accept: message/rfc822</c>, SHA-256 against the server's <c>BODY.PEEK[]</c>),
/// the API's count per folder and in total equal to the server's, no duplicate messages, every message in a thread,
/// and every served message created exactly once in the change log (no create for a message the API does not serve
/// unless a delete follows it).
/// </summary>
public static class MirrorCheck
{
    private const int Examples = 5;

    /// <param name="api">An HTTP client of the API with the account's access token.</param>
    /// <param name="onlyFolders">When given, only these folders are compared, and the account-wide checks are left out.</param>
    public static async Task<MirrorReport> RunAsync(string user, TestDatabases databases, string accountPublicId, HttpClient api,
        IReadOnlySet<string>? onlyFolders = null, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        var lines = new List<string>();
        void Check(bool ok, string text)
        {
            lines.Add($"{(ok ? "ok  " : "FAIL")} {text}");
            if (!ok) problems.Add(text);
        }

        var server = await ServerMailbox.ReadAsync(user, cancellationToken);

        long accountId;
        int shard;
        await using (var global = new MySqlConnection(databases.Global))
        {
            await global.OpenAsync(cancellationToken);
            await using var cmd = new MySqlCommand("SELECT id, shard_id FROM accounts WHERE public_id = @p", global);
            cmd.Parameters.AddWithValue("@p", accountPublicId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            if (!await r.ReadAsync(cancellationToken)) throw new InvalidOperationException($"account {accountPublicId} not found");
            (accountId, shard) = (r.GetInt64(0), r.GetInt32(1));
        }
        await using var db = new MySqlConnection(shard == 0 ? databases.Shard0 : databases.Shard1);
        await db.OpenAsync(cancellationToken);

        var folders = new Dictionary<string, (long Id, string PublicId, string? Role)>(StringComparer.Ordinal);
        await using (var cmd = new MySqlCommand("SELECT id, name, public_id, role FROM folders WHERE account_id = @a", db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) folders[r.GetString(1)] = (r.GetInt64(0), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3));
        }
        var missingFolders = server.Keys.Except(folders.Keys).Order().ToList();
        var extraFolders = folders.Keys.Except(server.Keys).Order().ToList();
        if (onlyFolders is not null) (missingFolders, extraFolders) = (missingFolders.Where(onlyFolders.Contains).ToList(), extraFolders.Where(onlyFolders.Contains).ToList());
        Check(missingFolders.Count == 0 && extraFolders.Count == 0,
            $"folders: server {server.Count}, mirror {folders.Count}"
            + (missingFolders.Count > 0 ? $"; missing in the mirror: {string.Join(", ", missingFolders)}" : "")
            + (extraFolders.Count > 0 ? $"; only in the mirror: {string.Join(", ", extraFolders)}" : ""));

        // Per folder: UIDs and flags from the mirror's locations, bytes as the API serves them.
        var servedPublicIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, onServer) in server.Where(kv => onlyFolders is null || onlyFolders.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var mirror = new Dictionary<uint, (HashSet<string> Flags, string? PublicId)>();
            if (folders.TryGetValue(name, out var folder))
            {
                await using var cmd = new MySqlCommand("""
                    SELECT u.uid, u.flags, m.public_id FROM imap_uids u LEFT JOIN messages m ON m.id = u.message_id WHERE u.folder_id = @f
                    """, db);
                cmd.Parameters.AddWithValue("@f", folder.Id);
                await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken))
                    mirror[Convert.ToUInt32(r.GetValue(0))] = (ParseFlags(r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2));
            }
            var missing = onServer.Keys.Where(u => !mirror.ContainsKey(u)).Order().ToList();
            var extra = mirror.Keys.Where(u => !onServer.ContainsKey(u)).Order().ToList();
            var dangling = mirror.Where(kv => kv.Value.PublicId is null).Select(kv => kv.Key).Order().ToList();
            var flagDiffs = onServer.Where(kv => mirror.TryGetValue(kv.Key, out var m) && !m.Flags.SetEquals(kv.Value.Flags)).Select(kv => kv.Key).Order().ToList();

            var served = new Dictionary<uint, string>();
            var located = mirror.Where(kv => kv.Value.PublicId is not null && onServer.ContainsKey(kv.Key)).ToList();
            await Parallel.ForEachAsync(located, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (kv, ct) =>
            {
                string sha = await RawSha256Async(api, kv.Value.PublicId!, ct);
                lock (served) served[kv.Key] = sha;
            });
            foreach (var kv in located) servedPublicIds.Add(kv.Value.PublicId!);
            var byteDiffs = served.Where(kv => kv.Value != onServer[kv.Key].Sha256).Select(kv => kv.Key).Order().ToList();

            // What sits in the Drafts folder is served as drafts, not messages.
            string list = folder.Role == "drafts" ? "drafts" : "messages";
            long apiCount = folder.PublicId is null ? 0 : await CountAsync(api, $"/{list}?in={folder.PublicId}&view=count", cancellationToken);
            int serverDistinct = onServer.Values.Select(m => m.Sha256).Distinct().Count();

            string text = $"{name}: server {onServer.Count} UIDs, mirror {mirror.Count}, API {apiCount}";
            if (missing.Count > 0) text += $"; {missing.Count} missing in the mirror (e.g. UID {string.Join(", ", missing.Take(Examples))})";
            if (extra.Count > 0) text += $"; {extra.Count} only in the mirror (e.g. UID {string.Join(", ", extra.Take(Examples))})";
            if (dangling.Count > 0) text += $"; {dangling.Count} locations without a message (e.g. UID {string.Join(", ", dangling.Take(Examples))})";
            if (flagDiffs.Count > 0)
                text += $"; {flagDiffs.Count} with other flags (e.g. {string.Join("; ", flagDiffs.Take(Examples).Select(u => $"UID {u}: server '{string.Join(' ', onServer[u].Flags.Order())}' mirror '{string.Join(' ', mirror[u].Flags.Order())}'"))})";
            if (byteDiffs.Count > 0) text += $"; {byteDiffs.Count} served with other bytes (e.g. UID {string.Join(", ", byteDiffs.Take(Examples))})";
            if (apiCount != serverDistinct) text += $"; the API lists {apiCount} messages in it for {serverDistinct} distinct on the server";
            Check(missing.Count == 0 && extra.Count == 0 && dangling.Count == 0 && flagDiffs.Count == 0 && byteDiffs.Count == 0 && apiCount == serverDistinct, text);
        }

        if (onlyFolders is not null) return new MirrorReport(problems, lines);

        // The whole account: no duplicates, every message threaded.
        int serverDistinctTotal = server.Values.SelectMany(f => f.Values.Select(v => v.Sha256)).Distinct().Count();
        long apiTotal = await CountAsync(api, "/messages?view=count", cancellationToken) + await CountAsync(api, "/drafts?view=count", cancellationToken);
        Check(apiTotal == serverDistinctTotal, $"API: {apiTotal} messages and drafts, server: {serverDistinctTotal} distinct messages");
        long rows = 0, distinctSha = 0, withoutThread = 0;
        await using (var cmd = new MySqlCommand("""
            SELECT COUNT(*), COUNT(DISTINCT data_sha256), COALESCE(SUM(thread_id IS NULL), 0)
            FROM messages WHERE account_id = @a AND orphaned_at IS NULL
            """, db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            (rows, distinctSha, withoutThread) = (r.GetInt64(0), r.GetInt64(1), Convert.ToInt64(r.GetValue(2)));
        }
        Check(rows == distinctSha, $"duplicates: {rows} message rows for {distinctSha} distinct contents ({rows - distinctSha} duplicated)");
        Check(withoutThread == 0, $"threads: {withoutThread} messages without a thread");

        // The change feed: each served message created exactly once; a created message not served must be deleted after.
        var events = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        await using (var cmd = new MySqlCommand("""
            SELECT object_public_id, command FROM transactions WHERE account_id = @a AND object_type IN ('message', 'draft') ORDER BY seq
            """, db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                if (!events.TryGetValue(r.GetString(0), out var list)) events[r.GetString(0)] = list = [];
                list.Add(r.GetString(1));
            }
        }
        var notCreated = servedPublicIds.Where(id => !events.TryGetValue(id, out var e) || !e.Contains("insert")).Order().ToList();
        var createdTwice = events.Where(kv => kv.Value.Count(c => c == "insert") > 1).Select(kv => kv.Key).Order().ToList();
        var servedButDeleted = servedPublicIds.Where(id => events.TryGetValue(id, out var e) && e[^1] == "delete").Order().ToList();
        var goneWithoutDelete = events.Where(kv => !servedPublicIds.Contains(kv.Key) && kv.Value[^1] != "delete").Select(kv => kv.Key).Order().ToList();
        Check(notCreated.Count == 0 && createdTwice.Count == 0 && servedButDeleted.Count == 0 && goneWithoutDelete.Count == 0,
            $"change feed: {servedPublicIds.Count} served messages; {notCreated.Count} without a create (e.g. {string.Join(", ", notCreated.Take(Examples))}), "
            + $"{createdTwice.Count} created more than once (e.g. {string.Join(", ", createdTwice.Take(Examples))}), "
            + $"{servedButDeleted.Count} served although their last change is a delete, {goneWithoutDelete.Count} not served without a delete (e.g. {string.Join(", ", goneWithoutDelete.Take(Examples))})");
        return new MirrorReport(problems, lines);
    }

    /// <summary>Polls the check until the mirror equals the server or <paramref name="timeout"/> passes; returns the last report.</summary>
    public static async Task<MirrorReport> WaitForEqualAsync(string user, TestDatabases databases, string accountPublicId, HttpClient api, TimeSpan timeout,
        IReadOnlySet<string>? onlyFolders = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var report = await RunAsync(user, databases, accountPublicId, api, onlyFolders, cancellationToken);
            if (report.Equal || DateTime.UtcNow > deadline) return report;
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        }
    }

    private static async Task<string> RawSha256Async(HttpClient api, string publicId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{publicId}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("message/rfc822"));
        using var response = await api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode) return $"(HTTP {(int)response.StatusCode})";
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await ServerMailbox.Sha256Async(stream, cancellationToken);
    }

    private static async Task<long> CountAsync(HttpClient api, string path, CancellationToken cancellationToken)
    {
        using var response = await api.GetAsync(path, cancellationToken);
        string text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("count").GetInt64();
    }

    private static HashSet<string> ParseFlags(string stored)
        => new(stored.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase);

    /// <summary>For assertion messages: the report plus, when given, the proxy's injected faults.</summary>
    public static string Describe(MirrorReport report, FaultProxy? proxy = null)
    {
        var text = new StringBuilder(report.ToString());
        if (proxy is not null) foreach (string f in proxy.Faults) text.Append('\n').Append(f);
        return text.ToString();
    }
}
