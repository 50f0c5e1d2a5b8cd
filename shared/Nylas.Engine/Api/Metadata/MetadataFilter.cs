using System.Data.Common;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Nylas.Engine.Api.Metadata;

/// <summary>
/// The v2 metadata filters of a list endpoint: <c>metadata_key</c> (has one of these keys), <c>metadata_value</c> (has
/// one of these values), <c>metadata_pair</c> (<c>key:value</c>, split at the first colon; has one of these pairs) and
/// <c>metadata_search</c> (a key or value contains the text, case-insensitively). Each may repeat (any of its values);
/// different filters combine with AND, with each other and with the endpoint's other filters.
/// </summary>
public sealed record MetadataFilter(IReadOnlyList<string> Keys, IReadOnlyList<string> Values, IReadOnlyList<(string Key, string Value)> Pairs, string? Search)
{
    public static readonly string[] Names = ["metadata_key", "metadata_value", "metadata_pair", "metadata_search"];

    /// <summary>The filter of the query, null when it names none.</summary>
    public static (MetadataFilter? Filter, ApiResult? Error) Parse(IQueryCollection query)
    {
        var keys = Many(query, "metadata_key");
        var values = Many(query, "metadata_value");
        var pairs = new List<(string, string)>();
        foreach (string pair in Many(query, "metadata_pair"))
        {
            int colon = pair.IndexOf(':');
            if (colon <= 0) return (null, ApiResult.BadRequest($"Invalid metadata_pair '{pair}': expected key:value."));
            pairs.Add((pair[..colon], pair[(colon + 1)..]));
        }
        string? search = null;
        if (query.TryGetValue("metadata_search", out var s))
        {
            if (s.Count > 1 || string.IsNullOrEmpty(s.ToString())) return (null, ApiResult.BadRequest("Invalid metadata_search: expected one non-empty value."));
            search = s.ToString();
        }
        if (keys.Any(k => k.Length == 0)) return (null, ApiResult.BadRequest("Invalid metadata_key: expected a non-empty key."));
        if (keys.Count + values.Count + pairs.Count == 0 && search is null) return (null, null);
        return (new MetadataFilter(keys, values, pairs, search), null);
    }

    private static List<string> Many(IQueryCollection query, string name)
        => query.TryGetValue(name, out var values) ? values.Select(v => v ?? "").ToList() : [];

    /// <summary>SQL conditions (each starting with AND) on the object whose row id is <paramref name="rowIdColumn"/>; the query binds <c>@account</c>.</summary>
    public string Sql(string objectType, string rowIdColumn, DbCommand cmd)
    {
        var sql = new StringBuilder();
        Param(cmd, "@md_type", objectType);
        string Exists(string condition)
            => $" AND EXISTS (SELECT 1 FROM object_metadata md WHERE md.account_id = @account AND md.object_type = @md_type AND md.object_id = {rowIdColumn} AND ({condition}))";
        if (Keys.Count > 0) sql.Append(Exists(string.Join(" OR ", Keys.Select((k, i) => { Param(cmd, $"@md_k{i}", k); return $"md.meta_key = @md_k{i}"; }))));
        if (Values.Count > 0) sql.Append(Exists(string.Join(" OR ", Values.Select((v, i) => { Param(cmd, $"@md_v{i}", v); return $"md.meta_value = @md_v{i}"; }))));
        if (Pairs.Count > 0)
            sql.Append(Exists(string.Join(" OR ", Pairs.Select((p, i) =>
            {
                Param(cmd, $"@md_pk{i}", p.Key);
                Param(cmd, $"@md_pv{i}", p.Value);
                return $"(md.meta_key = @md_pk{i} AND md.meta_value = @md_pv{i})";
            }))));
        if (Search is not null)
        {
            // The columns compare bytes; LOWER on both sides makes the search case-insensitive. % and _ are literal.
            Param(cmd, "@md_search", "%" + Search.ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%");
            sql.Append(Exists("LOWER(md.meta_key) LIKE @md_search OR LOWER(md.meta_value) LIKE @md_search"));
        }
        return sql.ToString();
    }

    /// <summary>The same test on metadata already loaded (events are filtered in memory).</summary>
    public bool Matches(IReadOnlyDictionary<string, string> metadata)
        => (Keys.Count == 0 || Keys.Any(metadata.ContainsKey))
           && (Values.Count == 0 || metadata.Values.Any(v => Values.Contains(v, StringComparer.Ordinal)))
           && (Pairs.Count == 0 || Pairs.Any(p => metadata.TryGetValue(p.Key, out var v) && v == p.Value))
           && (Search is null || metadata.Any(p => p.Key.Contains(Search, StringComparison.OrdinalIgnoreCase) || p.Value.Contains(Search, StringComparison.OrdinalIgnoreCase)));

    private static void Param(DbCommand cmd, string name, object value)
    {
        if (!cmd.Parameters.Contains(name)) Nylas.Engine.Storage.DbExtensions.AddWithValue(cmd.Parameters, name, value);
    }
}
