using Microsoft.AspNetCore.Http;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Delta;

/// <summary>The checked query of /delta, /delta/longpoll and /delta/streaming.</summary>
public sealed record DeltaRequest(string Cursor, long AfterSeq, Func<string, bool> Wanted, bool Expanded, int Limit, TimeSpan? Timeout)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    // The v2 SDK's deltas.since() sends includeTypes in camelCase (notes: SDK quirk 1): both spellings are accepted.
    // startStream(cursor, {expanded: true}) sends expanded=true rather than view=expanded.
    private static readonly string[] Known = ["cursor", "view", "expanded", "limit", "timeout", "include_types", "exclude_types", "includeTypes", "excludeTypes"];

    /// <param name="timeout">Whether the endpoint takes <c>timeout</c>, and its default (null: no limit).</param>
    public static (DeltaRequest? Request, ApiResult? Error) Parse(IQueryCollection query, string accountPublicId, long latestSeq, bool takesTimeout, TimeSpan? defaultTimeout, int maxTimeoutSeconds)
    {
        foreach (var key in query.Keys)
            if (!Known.Contains(key) || (key == "timeout" && !takesTimeout))
                return (null, ApiResult.BadRequest($"Unknown or unsupported query parameter '{key}'."));

        if (!query.TryGetValue("cursor", out var rawCursor) || rawCursor.Count != 1 || string.IsNullOrEmpty(rawCursor.ToString()))
            return (null, ApiResult.BadRequest("cursor is required: get one from POST /delta/latest_cursor (or pass 0 for everything still kept)."));
        string cursor = rawCursor.ToString();
        switch (ChangeCursor.TryDecode(cursor, accountPublicId, out long seq))
        {
            case ChangeCursor.DecodeResult.Malformed:
                return (null, ApiResult.BadRequest($"Invalid cursor '{cursor}': not a cursor this API issued."));
            case ChangeCursor.DecodeResult.OtherAccount:
                return (null, ApiResult.BadRequest($"Invalid cursor '{cursor}': it belongs to another account."));
        }
        if (seq > latestSeq)
            return (null, ApiResult.BadRequest($"Unknown cursor '{cursor}': it is ahead of this account's change log."));

        string? view = query.TryGetValue("view", out var v) ? v.ToString() : null;
        if (view is not null and not "expanded")
            return (null, ApiResult.BadRequest($"Invalid view '{view}': only expanded is supported here."));
        if (query.TryGetValue("expanded", out var e))
        {
            if (e.ToString() is not ("true" or "false")) return (null, ApiResult.BadRequest($"Invalid expanded '{e}': expected true or false."));
            if (e.ToString() == "true") view = "expanded";
        }

        int limit = DefaultLimit;
        if (query.TryGetValue("limit", out var l) && (!int.TryParse(l.ToString(), out limit) || limit < 1 || limit > MaxLimit))
            return (null, ApiResult.BadRequest($"Invalid limit '{l}': expected a whole number from 1 to {MaxLimit}."));

        TimeSpan? timeout = defaultTimeout;
        if (query.TryGetValue("timeout", out var t))
        {
            if (!int.TryParse(t.ToString(), out int seconds) || seconds < 1 || seconds > maxTimeoutSeconds)
                return (null, ApiResult.BadRequest($"Invalid timeout '{t}': expected whole seconds from 1 to {maxTimeoutSeconds}."));
            timeout = TimeSpan.FromSeconds(seconds);
        }

        var (include, includeError) = Types(query, "include_types", "includeTypes");
        if (includeError is not null) return (null, includeError);
        var (exclude, excludeError) = Types(query, "exclude_types", "excludeTypes");
        if (excludeError is not null) return (null, excludeError);
        if (include is not null && exclude is not null)
            return (null, ApiResult.BadRequest("Give include_types or exclude_types, not both."));
        Func<string, bool> wanted = include is not null ? include.Contains : exclude is not null ? type => !exclude.Contains(type) : _ => true;

        return (new DeltaRequest(cursor, seq, wanted, view == "expanded", limit, timeout), null);
    }

    private static (HashSet<string>? Types, ApiResult? Error) Types(IQueryCollection query, string name, string camelName)
    {
        var values = query[name].Concat(query[camelName]).ToList();
        if (values.Count == 0) return (null, null);
        var types = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!DeltaObjects.Types.Contains(type))
                return (null, ApiResult.BadRequest($"Invalid {name}: unknown object type '{type}' (known: {string.Join(", ", DeltaObjects.Types.Order())})."));
            types.Add(type);
        }
        return types.Count == 0 ? (null, ApiResult.BadRequest($"Invalid {name}: expected comma-separated object types.")) : (types, null);
    }
}
