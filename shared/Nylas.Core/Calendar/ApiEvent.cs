using System.Globalization;
using System.Text.Json.Serialization;

namespace Nylas.Core.Calendar;

// The Nylas API v2 event object (serialized snake_case by the API's JSON options; times are Unix seconds).

/// <summary>An event participant as v2 shows it; status is yes, no, maybe or noreply.</summary>
public sealed record ApiEventParticipant(string Name, string Email, string Status, string? Comment);

/// <summary>The v2 <c>when</c> object: only the fields of its <c>object</c> shape are written.</summary>
public sealed record ApiEventWhen
{
    /// <summary><c>time</c>, <c>timespan</c>, <c>date</c> or <c>datespan</c>.</summary>
    public required string Object { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Time { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Timezone { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? StartTime { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? EndTime { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? StartTimezone { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? EndTimezone { get; init; }
    /// <summary>YYYY-MM-DD.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Date { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? StartDate { get; init; }
    /// <summary>YYYY-MM-DD, inclusive.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? EndDate { get; init; }

    public static ApiEventWhen From(EventWhen when) => when.Kind switch
    {
        EventWhenKind.Time => new() { Object = "time", Time = when.StartTime?.ToUnixTimeSeconds(), Timezone = when.StartTimezone },
        EventWhenKind.Timespan => new()
        {
            Object = "timespan",
            StartTime = when.StartTime?.ToUnixTimeSeconds(),
            EndTime = when.EndTime?.ToUnixTimeSeconds(),
            StartTimezone = when.StartTimezone,
            EndTimezone = when.EndTimezone,
        },
        EventWhenKind.Date => new() { Object = "date", Date = Iso(when.StartDate) },
        EventWhenKind.Datespan => new() { Object = "datespan", StartDate = Iso(when.StartDate), EndDate = Iso(when.EndDate) },
        _ => throw new ArgumentOutOfRangeException(nameof(when), when.Kind, "unknown when kind"),
    };

    private static string? Iso(DateOnly? date) => date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}

public sealed record ApiEventRecurrence(IReadOnlyList<string> Rrule, string? Timezone);

/// <summary>The v2 event object. Events read from mail are read-only copies of the organizer's invitation.</summary>
public sealed record ApiEvent
{
    public required string Id { get; init; }
    public string Object => "event";
    public required string AccountId { get; init; }
    public required string CalendarId { get; init; }
    public required string IcalUid { get; init; }
    public string? MessageId { get; init; }
    public string Title { get; init; } = "";
    public string Description { get; init; } = "";
    /// <summary><c>Name &lt;email&gt;</c> of the organizer, or empty.</summary>
    public string Owner { get; init; } = "";
    public string? OrganizerName { get; init; }
    public string? OrganizerEmail { get; init; }
    public IReadOnlyList<ApiEventParticipant> Participants { get; init; } = [];
    public bool ReadOnly { get; init; } = true;
    public string Location { get; init; } = "";
    /// <summary>Null only for an event whose invitation had no start (a cancellation without DTSTART).</summary>
    public ApiEventWhen? When { get; init; }
    public bool Busy { get; init; } = true;
    public string Status { get; init; } = EventStatuses.Confirmed;
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ApiEventRecurrence? Recurrence { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? MasterEventId { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? OriginalStartTime { get; init; }
    /// <summary>The application's key-value pairs (kept in the mirror only); <c>{}</c> when none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The wire object for an event read from a message; ids come from the store.</summary>
    public static ApiEvent From(ParsedEvent e, string id, string accountId, string calendarId, string? messageId,
        bool readOnly = true, string? masterEventId = null) => new()
    {
        Id = id,
        AccountId = accountId,
        CalendarId = calendarId,
        IcalUid = e.Uid,
        MessageId = messageId,
        Title = e.Title,
        Description = e.Description,
        Owner = e.Organizer is { } o ? OwnerOf(o) : "",
        OrganizerName = e.Organizer?.Name,
        OrganizerEmail = e.Organizer?.Email,
        Participants = e.Participants.Select(p => new ApiEventParticipant(p.Name, p.Email, p.Status, p.Comment)).ToArray(),
        ReadOnly = readOnly,
        Location = e.Location,
        When = e.When is { } when ? ApiEventWhen.From(when) : null,
        Busy = e.Busy,
        Status = e.Status,
        Recurrence = e.Recurrence is { } r ? new ApiEventRecurrence(r.Rrule, r.Timezone) : null,
        MasterEventId = masterEventId,
        OriginalStartTime = e.OriginalStartTime?.ToUnixTimeSeconds(),
    };

    private static string OwnerOf(EventPerson organizer)
        => organizer.Name.Length == 0 ? $"<{organizer.Email}>" : $"{organizer.Name} <{organizer.Email}>";
}
