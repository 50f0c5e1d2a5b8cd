using System.Text.Json;
using MySqlConnector;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Metadata;

/// <summary>
/// v2 metadata: string key-value pairs an application keeps on messages, threads and events (drafts later), in the
/// mirror only (table <c>object_metadata</c>), never on the mail server.
/// </summary>
public static class ObjectMetadata
{
    public const int MaxPairs = 50;
    public const int MaxKeyLength = 40;
    public const int MaxValueLength = 500;

    public static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    /// <summary>
    /// The <c>metadata</c> of a request body: an object of strings within v2's limits. Lengths are counted in
    /// characters (code points), as the columns count them.
    /// </summary>
    public static (Dictionary<string, string>? Metadata, ApiResult? Error) Parse(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object)
            return (null, ApiResult.BadRequest($"Invalid metadata: expected an object of string values, got {Describe(metadata)}."));
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in metadata.EnumerateObject())
        {
            string key = property.Name;
            if (key.Length == 0) return (null, ApiResult.BadRequest("Invalid metadata: a key is empty."));
            if (Length(key) > MaxKeyLength)
                return (null, ApiResult.BadRequest($"Invalid metadata: the key '{(key.Length > 60 ? key[..60] + "…" : key)}' has {Length(key)} characters, at most {MaxKeyLength}."));
            if (property.Value.ValueKind != JsonValueKind.String)
                return (null, ApiResult.BadRequest($"Invalid metadata.{key}: expected a string value, got {Describe(property.Value)} (nested values are not supported)."));
            string value = property.Value.GetString()!;
            if (Length(value) > MaxValueLength)
                return (null, ApiResult.BadRequest($"Invalid metadata.{key}: the value has {Length(value)} characters, at most {MaxValueLength}."));
            if (!pairs.TryAdd(key, value)) return (null, ApiResult.BadRequest($"Invalid metadata: the key '{key}' appears twice."));
        }
        if (pairs.Count > MaxPairs)
            return (null, ApiResult.BadRequest($"Invalid metadata: {pairs.Count} keys, at most {MaxPairs}."));
        return (pairs, null);
    }

    private static int Length(string s) => s.EnumerateRunes().Count();

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString().ToLowerInvariant(),
    };

    /// <summary>The metadata of some objects of one type, by row id (objects without any are absent).</summary>
    public static async Task<Dictionary<long, IReadOnlyDictionary<string, string>>> LoadAsync(
        MySqlDataSource shard, long accountId, string objectType, IReadOnlyCollection<long> rowIds, CancellationToken cancellationToken)
    {
        if (rowIds.Count == 0) return [];
        await using var cmd = shard.CreateCommand(Sql(rowIds));
        cmd.Parameters.AddWithValue("@type", objectType);
        cmd.Parameters.AddWithValue("@account", accountId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await ReadAsync(r, cancellationToken);
    }

    /// <summary>The same query as a statement of a page's batch (one round trip with the page's other lookups); <paramref name="rowIds"/> not empty.</summary>
    public static MySqlBatchCommand Command(long accountId, string objectType, IReadOnlyCollection<long> rowIds)
    {
        var cmd = new MySqlBatchCommand(Sql(rowIds));
        cmd.Parameters.AddWithValue("@type", objectType);
        cmd.Parameters.AddWithValue("@account", accountId);
        return cmd;
    }

    // Row ids are longs read from the database, not input.
    private static string Sql(IReadOnlyCollection<long> rowIds) => $"""
        SELECT object_id, meta_key, meta_value FROM object_metadata
        WHERE object_type = @type AND object_id IN ({string.Join(',', rowIds.Distinct())}) AND account_id = @account
        ORDER BY object_id, meta_key
        """;

    /// <summary>Reads the result of <see cref="Command"/> (the reader positioned on it).</summary>
    public static async Task<Dictionary<long, IReadOnlyDictionary<string, string>>> ReadAsync(System.Data.Common.DbDataReader r, CancellationToken cancellationToken)
    {
        var result = new Dictionary<long, IReadOnlyDictionary<string, string>>();
        while (await r.ReadAsync(cancellationToken))
        {
            long id = r.GetInt64(0);
            if (!result.TryGetValue(id, out var pairs)) result[id] = pairs = new SortedDictionary<string, string>(StringComparer.Ordinal);
            ((SortedDictionary<string, string>)pairs)[r.GetString(1)] = r.GetString(2);
        }
        return result;
    }

    /// <summary>
    /// Replaces an object's metadata with <paramref name="metadata"/> (v2: a PUT's metadata is the whole set), inside the
    /// caller's transaction; false when it was that already, so an echoed, unchanged object writes nothing.
    /// </summary>
    public static async Task<bool> ReplaceAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, string objectType, long rowId,
        IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var read = new MySqlCommand("""
            SELECT meta_key, meta_value FROM object_metadata WHERE object_type = @type AND object_id = @id FOR UPDATE
            """, connection, tx))
        {
            read.Parameters.AddWithValue("@type", objectType);
            read.Parameters.AddWithValue("@id", rowId);
            await using var r = await read.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) current[r.GetString(0)] = r.GetString(1);
        }
        if (current.Count == metadata.Count && metadata.All(p => current.TryGetValue(p.Key, out var v) && v == p.Value)) return false;

        await using (var delete = new MySqlCommand("DELETE FROM object_metadata WHERE object_type = @type AND object_id = @id", connection, tx))
        {
            delete.Parameters.AddWithValue("@type", objectType);
            delete.Parameters.AddWithValue("@id", rowId);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        if (metadata.Count == 0) return true;
        await using var insert = new MySqlCommand("", connection, tx);
        var rows = metadata.Select((pair, i) =>
        {
            insert.Parameters.AddWithValue($"@k{i}", pair.Key);
            insert.Parameters.AddWithValue($"@v{i}", pair.Value);
            return $"(@account, @type, @id, @k{i}, @v{i})";
        });
        insert.CommandText = $"INSERT INTO object_metadata (account_id, object_type, object_id, meta_key, meta_value) VALUES {string.Join(", ", rows)}";
        insert.Parameters.AddWithValue("@account", accountId);
        insert.Parameters.AddWithValue("@type", objectType);
        insert.Parameters.AddWithValue("@id", rowId);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }
}
