using Microsoft.AspNetCore.Http;

namespace Nylas.Engine.Api.Threads;

/// <summary>The /threads filters v2 had (minus received_*): a thread matches when any of its messages does.</summary>
public sealed record ThreadFilter
{
    /// <summary>The v2 SDK sends any_email as repeated keys, the API documented a comma list: both are read.</summary>
    public const int MaxAnyEmail = 25;

    public static readonly string[] Names =
    [
        "subject", "any_email", "from", "to", "in", "unread", "starred",
        "last_message_before", "last_message_after", "started_before", "started_after",
    ];

    public string? Subject { get; init; }
    public IReadOnlyList<string> AnyEmail { get; init; } = [];
    public string? From { get; init; }
    public string? To { get; init; }
    public string? In { get; init; }
    public bool? Unread { get; init; }
    public bool? Starred { get; init; }
    public long? LastMessageBefore { get; init; }
    public long? LastMessageAfter { get; init; }
    public long? StartedBefore { get; init; }
    public long? StartedAfter { get; init; }

    public static (ThreadFilter? Filter, ApiResult? Error) Parse(IQueryCollection query)
    {
        var (subject, e1) = QueryParameters.Text(query, "subject");
        var (from, e2) = QueryParameters.Text(query, "from");
        var (to, e3) = QueryParameters.Text(query, "to");
        var (folder, e4) = QueryParameters.Text(query, "in");
        var (unread, e5) = QueryParameters.Bool(query, "unread");
        var (starred, e6) = QueryParameters.Bool(query, "starred");
        var (lastBefore, e7) = QueryParameters.Unix(query, "last_message_before");
        var (lastAfter, e8) = QueryParameters.Unix(query, "last_message_after");
        var (startedBefore, e9) = QueryParameters.Unix(query, "started_before");
        var (startedAfter, e10) = QueryParameters.Unix(query, "started_after");
        if ((e1 ?? e2 ?? e3 ?? e4 ?? e5 ?? e6 ?? e7 ?? e8 ?? e9 ?? e10) is { } error) return (null, error);

        var anyEmail = query.TryGetValue("any_email", out var values)
            ? values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : [];
        if (values.Count > 0 && anyEmail.Count == 0) return (null, ApiResult.BadRequest("Invalid any_email: expected one or more addresses."));
        if (anyEmail.Count > MaxAnyEmail) return (null, ApiResult.BadRequest($"any_email has {anyEmail.Count} addresses: at most {MaxAnyEmail}."));

        return (new ThreadFilter
        {
            Subject = subject,
            AnyEmail = anyEmail.Select(a => a.ToLowerInvariant()).ToList(),
            From = from?.ToLowerInvariant(),
            To = to?.ToLowerInvariant(),
            In = folder,
            Unread = unread,
            Starred = starred,
            LastMessageBefore = lastBefore,
            LastMessageAfter = lastAfter,
            StartedBefore = startedBefore,
            StartedAfter = startedAfter,
        }, null);
    }
}
