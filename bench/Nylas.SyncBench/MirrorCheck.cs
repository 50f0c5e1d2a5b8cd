using MySqlConnector;
using Nylas.Testing.Faults;

namespace Nylas.SyncBench;

public sealed record CheckLine(bool Pass, string Text);

/// <summary>
/// After the benchmark the mirror must equal the server exactly: the same folders, per folder the same UID set
/// with the same flags (<c>UID FETCH 1:* (UID FLAGS)</c> vs <c>imap_uids</c>), the same bytes at each
/// location (SHA-256 of <c>BODY.PEEK[]</c> vs <c>messages.data_sha256</c>), no duplicate messages, no
/// orphans or dangling locations, unread/starred following the flags, and the API count equal to the number
/// of distinct messages on the server.
/// </summary>
public static class MirrorCheck
{
    private const int Examples = 5;

    public static async Task<List<CheckLine>> RunAsync(string user, string shardConnection, long accountId, long apiCount, CancellationToken cancellationToken)
    {
        var lines = new List<CheckLine>();
        void Add(bool pass, string text)
        {
            lines.Add(new CheckLine(pass, text));
            Console.WriteLine($"  {(pass ? "PASS" : "FAIL")} {text}");
        }

        // --- the server (read as the fault tests' mirror check reads it) ---
        var server = (await ServerMailbox.ReadAsync(user, cancellationToken)).ToDictionary(
            f => f.Key,
            f => f.Value.ToDictionary(m => m.Key, m => (Flags: new HashSet<string>(m.Value.Flags, StringComparer.OrdinalIgnoreCase), Sha: m.Value.Sha256)),
            StringComparer.Ordinal);

        // --- the mirror ---
        await using var db = new MySqlConnection(shardConnection);
        await db.OpenAsync(cancellationToken);
        var folderIds = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var cmd = new MySqlCommand("SELECT id, name FROM folders WHERE account_id = @a", db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) folderIds[r.GetString(1)] = r.GetInt64(0);
        }
        var missingFolders = server.Keys.Except(folderIds.Keys).ToList();
        var extraFolders = folderIds.Keys.Except(server.Keys).ToList();
        Add(missingFolders.Count == 0 && extraFolders.Count == 0,
            $"folders: server {server.Count} [{string.Join(", ", server.Keys.Order())}], mirror {folderIds.Count}"
            + (missingFolders.Count > 0 ? $"; missing in mirror: {string.Join(", ", missingFolders)}" : "")
            + (extraFolders.Count > 0 ? $"; only in mirror: {string.Join(", ", extraFolders)}" : ""));

        foreach (var (name, onServer) in server.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var mirror = new Dictionary<uint, (HashSet<string> Flags, string Sha)>();
            if (folderIds.TryGetValue(name, out long folderId))
            {
                await using var cmd = new MySqlCommand("""
                    SELECT u.uid, u.flags, m.data_sha256 FROM imap_uids u LEFT JOIN messages m ON m.id = u.message_id WHERE u.folder_id = @f
                    """, db);
                cmd.Parameters.AddWithValue("@f", folderId);
                await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken))
                    mirror[Convert.ToUInt32(r.GetValue(0))] = (ParseFlags(r.GetString(1)), r.IsDBNull(2) ? "(no message row)" : r.GetString(2));
            }
            var missing = onServer.Keys.Where(u => !mirror.ContainsKey(u)).Order().ToList();
            var extra = mirror.Keys.Where(u => !onServer.ContainsKey(u)).Order().ToList();
            var flagDiffs = onServer.Where(kv => mirror.TryGetValue(kv.Key, out var m) && !m.Flags.SetEquals(kv.Value.Flags)).Select(kv => kv.Key).Order().ToList();
            var byteDiffs = onServer.Where(kv => mirror.TryGetValue(kv.Key, out var m) && m.Sha != kv.Value.Sha).Select(kv => kv.Key).Order().ToList();
            bool ok = missing.Count == 0 && extra.Count == 0 && flagDiffs.Count == 0 && byteDiffs.Count == 0;
            string text = $"{name}: server {onServer.Count} UIDs, mirror {mirror.Count}";
            if (missing.Count > 0) text += $"; {missing.Count} missing in mirror (e.g. UID {string.Join(", ", missing.Take(Examples))})";
            if (extra.Count > 0) text += $"; {extra.Count} only in mirror (e.g. UID {string.Join(", ", extra.Take(Examples))})";
            if (flagDiffs.Count > 0)
                text += $"; {flagDiffs.Count} with other flags (e.g. {string.Join("; ", flagDiffs.Take(Examples).Select(u => $"UID {u}: server '{string.Join(' ', onServer[u].Flags.Order())}' mirror '{string.Join(' ', mirror[u].Flags.Order())}'"))})";
            if (byteDiffs.Count > 0) text += $"; {byteDiffs.Count} with other bytes (e.g. UID {string.Join(", ", byteDiffs.Take(Examples))})";
            if (ok) text += ", same flags and bytes";
            Add(ok, text);
        }

        int serverLocations = server.Values.Sum(f => f.Count);
        int serverDistinct = server.Values.SelectMany(f => f.Values.Select(v => v.Sha)).Distinct().Count();

        long messages = 0, distinctSha = 0, orphaned = 0, distinctMessageIds = 0, parseErrors = 0;
        await using (var cmd = new MySqlCommand("""
            SELECT COUNT(*), COUNT(DISTINCT data_sha256), COALESCE(SUM(orphaned_at IS NOT NULL), 0), COUNT(DISTINCT message_id_header), COALESCE(SUM(parse_error IS NOT NULL), 0)
            FROM messages WHERE account_id = @a
            """, db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            (messages, distinctSha, orphaned, distinctMessageIds, parseErrors) = (r.GetInt64(0), r.GetInt64(1), Convert.ToInt64(r.GetValue(2)), r.GetInt64(3), Convert.ToInt64(r.GetValue(4)));
        }
        Add(messages == distinctSha, $"messages: {messages} rows, {distinctSha} distinct data_sha256 (duplicates: {messages - distinctSha})");
        Add(messages == serverDistinct, $"messages: {messages} rows for {serverDistinct} distinct messages on the server ({serverLocations} locations)");
        Add(apiCount == serverDistinct, $"API: GET /messages?view=count = {apiCount}, distinct messages on the server = {serverDistinct}");
        Add(orphaned == 0, $"orphans: {orphaned} messages marked orphaned");

        long locations = 0, distinctLocated = 0, unlocated = 0, dangling = 0;
        await using (var cmd = new MySqlCommand("""
            SELECT (SELECT COUNT(*) FROM imap_uids WHERE account_id = @a),
                   (SELECT COUNT(DISTINCT message_id) FROM imap_uids WHERE account_id = @a),
                   (SELECT COUNT(*) FROM messages m WHERE m.account_id = @a AND NOT EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = m.id)),
                   (SELECT COUNT(*) FROM imap_uids u WHERE u.account_id = @a AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = u.message_id))
            """, db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            (locations, distinctLocated, unlocated, dangling) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3));
        }
        Add(locations == serverLocations && unlocated == 0 && dangling == 0 && distinctLocated == locations,
            $"locations: {locations} imap_uids rows (server {serverLocations}) for {distinctLocated} messages; messages without a location {unlocated}; locations without a message {dangling}");

        long withoutThread = 0;
        await using (var cmd = new MySqlCommand("SELECT COUNT(*) FROM messages WHERE account_id = @a AND thread_id IS NULL", db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            try { withoutThread = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken)); }
            catch (MySqlException) { withoutThread = -1; } // a schema without threads
        }
        if (withoutThread >= 0) Add(withoutThread == 0, $"threads: {withoutThread} messages without a thread");

        int readMismatch = 0, starMismatch = 0;
        await using (var cmd = new MySqlCommand("""
            SELECT u.flags, m.is_read, m.is_starred FROM imap_uids u JOIN messages m ON m.id = u.message_id WHERE u.account_id = @a
            """, db))
        {
            cmd.Parameters.AddWithValue("@a", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                var flags = ParseFlags(r.GetString(0));
                if (flags.Contains(@"\Seen") != r.GetBoolean(1)) readMismatch++;
                if (flags.Contains(@"\Flagged") != r.GetBoolean(2)) starMismatch++;
            }
        }
        Add(readMismatch == 0 && starMismatch == 0, $"unread/starred follow the flags: {readMismatch} is_read and {starMismatch} is_starred mismatches");
        Console.WriteLine($"  info: {distinctMessageIds} distinct Message-ID values stored for {messages} messages; {parseErrors} stored with parse_error");
        lines.Add(new CheckLine(true, $"info: {distinctMessageIds} distinct Message-ID values stored for {messages} messages; {parseErrors} stored with parse_error"));
        return lines;
    }

    private static HashSet<string> ParseFlags(string stored)
        => new(stored.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase);
}
