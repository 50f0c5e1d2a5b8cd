using System.Data.Common;
using Microsoft.AspNetCore.Http;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api;

/// <summary>Strict query parsing, as the v2 API did it: unknown parameters and bad values are a 400, not ignored.</summary>
public sealed class QueryParameters
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public int Limit { get; private init; } = DefaultLimit;
    public int Offset { get; private init; }
    public string? View { get; private init; }

    public bool Expanded => View == "expanded";

    public static (QueryParameters? Query, ApiResult? Error) Parse(IQueryCollection query, params string[] allowedExtra)
    {
        foreach (var key in query.Keys)
        {
            if (key is "limit" or "offset" or "view" || allowedExtra.Contains(key)) continue;
            return (null, ApiResult.BadRequest($"Unknown or unsupported query parameter '{key}'."));
        }

        int limit = DefaultLimit, offset = 0;
        if (query.TryGetValue("limit", out var l) && (!int.TryParse(l.ToString(), out limit) || limit < 0))
            return (null, ApiResult.BadRequest($"Invalid limit '{l}': expected a whole number from 0 to {MaxLimit}."));
        if (limit > MaxLimit)
            return (null, ApiResult.BadRequest($"limit {limit} is too large: at most {MaxLimit}."));
        if (query.TryGetValue("offset", out var o) && (!int.TryParse(o.ToString(), out offset) || offset < 0))
            return (null, ApiResult.BadRequest($"Invalid offset '{o}': expected a whole number of at least 0."));

        string? view = query.TryGetValue("view", out var v) ? v.ToString() : null;
        if (view is not null and not ("count" or "ids" or "expanded"))
            return (null, ApiResult.BadRequest($"Invalid view '{view}': expected count, ids or expanded."));

        return (new QueryParameters { Limit = limit, Offset = offset, View = view }, null);
    }

    /// <summary>Binds the @account, @limit and @offset of a list query.</summary>
    public static void AddPaging(DbCommand cmd, long accountId, int limit, int offset)
    {
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@offset", offset);
    }

    /// <summary>An optional <c>true</c>/<c>false</c> filter.</summary>
    public static (bool? Value, ApiResult? Error) Bool(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var raw)) return (null, null);
        return raw.ToString().ToLowerInvariant() switch
        {
            "true" or "1" => (true, null),
            "false" or "0" => (false, null),
            _ => (null, ApiResult.BadRequest($"Invalid {name} '{raw}': expected true or false.")),
        };
    }

    /// <summary>An optional Unix-seconds filter (what the v2 SDK sends for dates).</summary>
    public static (long? Value, ApiResult? Error) Unix(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var raw)) return (null, null);
        return long.TryParse(raw.ToString(), out long value) && value >= 0
            ? (value, null)
            : (null, ApiResult.BadRequest($"Invalid {name} '{raw}': expected a Unix timestamp in seconds."));
    }

    /// <summary>An optional text filter; an empty value is a 400 rather than silently matching nothing.</summary>
    public static (string? Value, ApiResult? Error) Text(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var raw)) return (null, null);
        string value = raw.ToString();
        return value.Length == 0 || raw.Count > 1
            ? (null, ApiResult.BadRequest($"Invalid {name}: expected one non-empty value."))
            : (value, null);
    }

    /// <summary>
    /// A JSON_SEARCH pattern matching exactly <paramref name="value"/>: its % and _ would otherwise be
    /// wildcards (addresses like first_last@ are common).
    /// </summary>
    public static string ExactJsonSearchPattern(string value)
        => value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
