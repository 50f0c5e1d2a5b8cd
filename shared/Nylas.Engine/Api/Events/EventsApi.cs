using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Core.Calendar;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Metadata;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Events;

/// <summary>
/// GET /events (filters <c>calendar_id</c>, <c>title</c>, <c>starts_before/after</c>, <c>ends_before/after</c>,
/// <c>show_cancelled</c>) and GET /events/{id}: the invitations found in mail, soonest first.
/// </summary>
public sealed class EventsApi(ShardDirectory shards)
{
    private static readonly string[] Filters =
        ["calendar_id", "title", "starts_before", "starts_after", "ends_before", "ends_after", "show_cancelled", .. MetadataFilter.Names];

    private sealed record EventRow(ApiEvent Event, DateTimeOffset? Start, DateTimeOffset? End);

    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest(Filters);
        if (request is null) return error!;
        var (account, query) = request;
        var q = http.Request.Query;
        var (calendarId, e1) = QueryParameters.Text(q, "calendar_id");
        var (title, e2) = QueryParameters.Text(q, "title");
        var (startsBefore, e3) = QueryParameters.Unix(q, "starts_before");
        var (startsAfter, e4) = QueryParameters.Unix(q, "starts_after");
        var (endsBefore, e5) = QueryParameters.Unix(q, "ends_before");
        var (endsAfter, e6) = QueryParameters.Unix(q, "ends_after");
        var (showCancelled, e7) = QueryParameters.Bool(q, "show_cancelled");
        if ((e1 ?? e2 ?? e3 ?? e4 ?? e5 ?? e6 ?? e7) is { } filterError) return filterError;
        if (calendarId is not null && !PublicId.IsWellFormed(calendarId)) return ApiResult.BadRequest($"Invalid calendar_id '{calendarId}'.");
        var (metadata, metadataError) = MetadataFilter.Parse(q);
        if (metadataError is not null) return metadataError;

        // Times live in the stored event JSON, not in columns: the account's events are filtered and paged here
        // (mail-borne invitations are few per account); calendar and status are narrowed in SQL first.
        var rows = await LoadAsync(account, null, calendarId, showCancelled ?? false, ct);
        static bool Before(DateTimeOffset? t, long? limit) => limit is null || (t is { } v && v.ToUnixTimeSeconds() < limit);
        static bool After(DateTimeOffset? t, long? limit) => limit is null || (t is { } v && v.ToUnixTimeSeconds() > limit);
        var matching = rows
            .Where(r => title is null || r.Event.Title.Contains(title, StringComparison.OrdinalIgnoreCase))
            .Where(r => metadata is null || metadata.Matches(r.Event.Metadata))
            .Where(r => Before(r.Start, startsBefore) && After(r.Start, startsAfter) && Before(r.End, endsBefore) && After(r.End, endsAfter))
            .OrderBy(r => r.Start is null).ThenBy(r => r.Start).ThenBy(r => r.Event.Id, StringComparer.Ordinal)
            .ToList();
        var page = matching.Skip(query.Offset).Take(query.Limit);
        return query.View switch
        {
            "count" => ApiResult.Json(new ApiCount(matching.Count)),
            "ids" => ApiResult.Json(page.Select(r => r.Event.Id).ToList()),
            _ => ApiResult.Json(page.Select(r => r.Event).ToList()),
        };
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("event", id);
        if (request is null) return error!;
        var (account, query) = request;
        var e = (await LoadAsync(account, id, null, showCancelled: true, ct)).FirstOrDefault();
        return e is null ? ApiResult.NotFound($"Couldn't find event {id}") : ApiResult.Json(e.Event);
    }

    /// <summary>What /delta renders for an event (cancelled ones too: a cancellation is a change).</summary>
    internal async Task<ApiEvent?> FindAsync(Account account, string publicId, CancellationToken cancellationToken)
        => (await LoadAsync(account, publicId, null, showCancelled: true, cancellationToken)).FirstOrDefault()?.Event;

    private async Task<List<EventRow>> LoadAsync(Account account, string? publicId, string? calendarId, bool showCancelled, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand($"""
            SELECT e.public_id, c.public_id, e.data_json, m.public_id, e.id
            FROM events e JOIN calendars c ON c.id = e.calendar_id AND c.account_id = e.account_id
            LEFT JOIN messages m ON m.id = e.message_id AND m.account_id = e.account_id
            WHERE e.account_id = @account
            {(publicId is null ? "" : "AND e.public_id = @pid")}
            {(calendarId is null ? "" : "AND c.public_id = @calendar")}
            {(showCancelled ? "" : "AND e.status <> 'cancelled'")}
            """);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@calendar", calendarId);
        var rows = new List<(long RowId, EventRow Row)>();
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
            while (await r.ReadAsync(cancellationToken))
            {
                var parsed = JsonSerializer.Deserialize<ParsedEvent>(r.GetString(2), ApiJson.Options)!;
                var (start, end) = Span(parsed.When);
                rows.Add((r.GetInt64(4), new EventRow(ApiEvent.From(parsed, r.GetString(0), account.PublicId, r.GetString(1), r.IsDBNull(3) ? null : r.GetString(3)), start, end)));
            }
        var metadata = await ObjectMetadata.LoadAsync(shards.Shard(account.ShardId), account.Id, "event", rows.Select(r => r.RowId).ToList(), cancellationToken);
        return rows.Select(r => metadata.TryGetValue(r.RowId, out var pairs) ? r.Row with { Event = r.Row.Event with { Metadata = pairs } } : r.Row).ToList();
    }

    /// <summary>Start and end instants; all-day events run from the start date's midnight UTC to the day after the (inclusive) end date.</summary>
    private static (DateTimeOffset? Start, DateTimeOffset? End) Span(EventWhen? when) => when switch
    {
        null => (null, null),
        { StartTime: { } start } => (start, when.EndTime ?? start),
        { StartDate: { } day } => (Midnight(day), Midnight((when.EndDate ?? day).AddDays(1))),
        _ => (null, null),
    };

    private static DateTimeOffset Midnight(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
