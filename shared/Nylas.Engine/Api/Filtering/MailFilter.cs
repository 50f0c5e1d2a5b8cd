using Microsoft.AspNetCore.Http;
using Nylas.Core.Ids;
using Nylas.Core.Search;
using Nylas.Engine.Api.Metadata;

namespace Nylas.Engine.Api.Filtering;

/// <summary>
/// The filters v2 took on /messages and /threads (threads: the same minus received_*; a thread matches
/// when one of its messages does), plus the search text of the /search endpoints.
/// </summary>
public sealed record MailFilter
{
    /// <summary>The v2 SDK sends any_email as repeated keys, the API documented a comma list: both are read.</summary>
    public const int MaxAnyEmail = 25;

    private static readonly string[] Common =
    [
        "subject", "any_email", "from", "to", "cc", "bcc", "in", "unread", "starred", "filename", "thread_id",
        "last_message_before", "last_message_after", "started_before", "started_after",
        .. MetadataFilter.Names,
    ];

    public static readonly string[] MessageNames = [.. Common, "received_before", "received_after"];
    public static readonly string[] ThreadNames = Common;
    /// <summary>/drafts takes the /messages filters but from (a draft is always from the account).</summary>
    public static readonly string[] DraftNames = [.. MessageNames.Where(n => n != "from")];
    /// <summary>The /search endpoints take the words to find and nothing else, as v2's did.</summary>
    public static readonly string[] SearchNames = ["q"];

    public string? Subject { get; init; }
    public IReadOnlyList<string> AnyEmail { get; init; } = [];
    public string? From { get; init; }
    public string? To { get; init; }
    public string? Cc { get; init; }
    public string? Bcc { get; init; }
    public string? In { get; init; }
    public bool? Unread { get; init; }
    public bool? Starred { get; init; }
    public string? Filename { get; init; }
    public string? ThreadId { get; init; }
    public long? ReceivedBefore { get; init; }
    public long? ReceivedAfter { get; init; }
    public long? LastMessageBefore { get; init; }
    public long? LastMessageAfter { get; init; }
    public long? StartedBefore { get; init; }
    public long? StartedAfter { get; init; }
    /// <summary>The InnoDB BOOLEAN MODE query built from the user's <c>q</c> (see <see cref="FullTextQuery"/>).</summary>
    public string? FullText { get; init; }
    /// <summary>The object's own metadata (a thread's, not its messages').</summary>
    public MetadataFilter? Metadata { get; init; }

    /// <summary>The list filters (query parameter names are checked by <see cref="QueryParameters.Parse"/> first).</summary>
    public static (MailFilter? Filter, ApiResult? Error) Parse(IQueryCollection query)
    {
        var (subject, e1) = QueryParameters.Text(query, "subject");
        var (from, e2) = QueryParameters.Text(query, "from");
        var (to, e3) = QueryParameters.Text(query, "to");
        var (cc, e4) = QueryParameters.Text(query, "cc");
        var (bcc, e5) = QueryParameters.Text(query, "bcc");
        var (folder, e6) = QueryParameters.Text(query, "in");
        var (unread, e7) = QueryParameters.Bool(query, "unread");
        var (starred, e8) = QueryParameters.Bool(query, "starred");
        var (filename, e9) = QueryParameters.Text(query, "filename");
        var (threadId, e10) = QueryParameters.Text(query, "thread_id");
        var (receivedBefore, e11) = QueryParameters.Unix(query, "received_before");
        var (receivedAfter, e12) = QueryParameters.Unix(query, "received_after");
        var (lastBefore, e13) = QueryParameters.Unix(query, "last_message_before");
        var (lastAfter, e14) = QueryParameters.Unix(query, "last_message_after");
        var (startedBefore, e15) = QueryParameters.Unix(query, "started_before");
        var (startedAfter, e16) = QueryParameters.Unix(query, "started_after");
        if ((e1 ?? e2 ?? e3 ?? e4 ?? e5 ?? e6 ?? e7 ?? e8 ?? e9 ?? e10 ?? e11 ?? e12 ?? e13 ?? e14 ?? e15 ?? e16) is { } error)
            return (null, error);

        if (threadId is not null && !PublicId.IsWellFormed(threadId)) return (null, ApiResult.BadRequest($"Invalid thread_id '{threadId}'."));
        // An empty window is a mistake in the request, not a question whose answer is "nothing".
        if (Conflict("received", receivedAfter, receivedBefore, inclusiveBefore: true) is { } c1) return (null, c1);
        if (Conflict("last_message", lastAfter, lastBefore, inclusiveBefore: false) is { } c2) return (null, c2);
        if (Conflict("started", startedAfter, startedBefore, inclusiveBefore: false) is { } c3) return (null, c3);

        var anyEmail = query.TryGetValue("any_email", out var values)
            ? values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : [];
        if (values.Count > 0 && anyEmail.Count == 0) return (null, ApiResult.BadRequest("Invalid any_email: expected one or more addresses."));
        if (anyEmail.Count > MaxAnyEmail) return (null, ApiResult.BadRequest($"any_email has {anyEmail.Count} addresses: at most {MaxAnyEmail}."));
        var (metadata, metadataError) = MetadataFilter.Parse(query);
        if (metadataError is not null) return (null, metadataError);

        return (new MailFilter
        {
            Subject = subject,
            AnyEmail = anyEmail.Select(a => a.ToLowerInvariant()).ToList(),
            From = from?.ToLowerInvariant(),
            To = to?.ToLowerInvariant(),
            Cc = cc?.ToLowerInvariant(),
            Bcc = bcc?.ToLowerInvariant(),
            In = folder,
            Unread = unread,
            Starred = starred,
            Filename = filename,
            ThreadId = threadId,
            ReceivedBefore = receivedBefore,
            ReceivedAfter = receivedAfter,
            LastMessageBefore = lastBefore,
            LastMessageAfter = lastAfter,
            StartedBefore = startedBefore,
            StartedAfter = startedAfter,
            Metadata = metadata,
        }, null);
    }

    /// <summary>The search endpoints' <c>q</c>.</summary>
    public static (MailFilter? Filter, ApiResult? Error) ParseSearch(IQueryCollection query)
    {
        if (query.TryGetValue("q", out var raw) && raw.Count > 1) return (null, ApiResult.BadRequest("Invalid q: expected one value."));
        var (fullText, error) = FullTextQuery.Build(raw.ToString());
        return fullText is null ? (null, ApiResult.BadRequest(error!)) : (new MailFilter { FullText = fullText }, null);
    }

    private static ApiResult? Conflict(string name, long? after, long? before, bool inclusiveBefore)
    {
        if (after is not { } a || before is not { } b) return null;
        bool empty = inclusiveBefore ? b <= a : b <= a + 1;
        return empty
            ? ApiResult.BadRequest($"Conflicting filters: {name}_after={a} and {name}_before={b} leave no time between them.")
            : null;
    }
}
