namespace Nylas.Core.Calendar;

/// <summary>One VEVENT of a calendar part (an invitation, its update, cancellation or reply), as ingest keeps it.</summary>
public sealed record ParsedEvent
{
    /// <summary>The iCalendar UID: what updates, cancellations and replies of the same event share.</summary>
    public required string Uid { get; init; }
    public int Sequence { get; init; }
    /// <summary>REQUEST, CANCEL, REPLY, PUBLISH, ... (upper case) from the calendar's METHOD, else the part's method parameter; null when neither says.</summary>
    public string? Method { get; init; }
    public string Title { get; init; } = "";
    public string Description { get; init; } = "";
    public string Location { get; init; } = "";
    public EventPerson? Organizer { get; init; }
    public IReadOnlyList<EventParticipant> Participants { get; init; } = [];
    /// <summary><c>confirmed</c>, <c>tentative</c> or <c>cancelled</c> (a CANCEL is always <c>cancelled</c>).</summary>
    public string Status { get; init; } = EventStatuses.Confirmed;
    /// <summary>False for TRANSP:TRANSPARENT (free), true otherwise.</summary>
    public bool Busy { get; init; } = true;
    /// <summary>When it happens; null when the VEVENT has no usable DTSTART (seen in cancellations).</summary>
    public EventWhen? When { get; init; }
    /// <summary>RRULE/RDATE/EXDATE/EXRULE lines as written, with the series' time zone; null for a single event.</summary>
    public EventRecurrence? Recurrence { get; init; }
    /// <summary>RECURRENCE-ID: the original start of the occurrence this VEVENT overrides (an exception of a series).</summary>
    public DateTimeOffset? OriginalStartTime { get; init; }
    /// <summary>The RECURRENCE-ID as written (value only), the second half of the event's identity with <see cref="Uid"/>.</summary>
    public string? RecurrenceId { get; init; }
}

public sealed record EventPerson(string Name, string Email);

/// <summary>An attendee; <see cref="Status"/> is the v2 value: yes, no, maybe or noreply.</summary>
public sealed record EventParticipant(string Name, string Email, string Status, string? Comment = null);

public sealed record EventRecurrence(IReadOnlyList<string> Rrule, string? Timezone);

public static class EventStatuses
{
    public const string Confirmed = "confirmed";
    public const string Tentative = "tentative";
    public const string Cancelled = "cancelled";
}

public static class ParticipantStatuses
{
    public const string Yes = "yes";
    public const string No = "no";
    public const string Maybe = "maybe";
    public const string NoReply = "noreply";

    /// <summary>PARTSTAT → v2 status: ACCEPTED yes, DECLINED no, TENTATIVE maybe, anything else (NEEDS-ACTION, DELEGATED, none) noreply.</summary>
    public static string FromPartStat(string? partStat) => partStat?.Trim().ToUpperInvariant() switch
    {
        "ACCEPTED" => Yes,
        "DECLINED" => No,
        "TENTATIVE" => Maybe,
        _ => NoReply,
    };
}

/// <summary>The four shapes of the v2 <c>when</c> object.</summary>
public enum EventWhenKind
{
    /// <summary>A point in time (start equals end).</summary>
    Time,
    Timespan,
    /// <summary>One all-day date.</summary>
    Date,
    /// <summary>All-day dates, end inclusive.</summary>
    Datespan,
}

/// <summary>
/// When an event happens. Timed events carry instants (<see cref="StartTime"/>/<see cref="EndTime"/>) with the
/// IANA zones they were written in, when known; all-day events carry dates (<see cref="EndDate"/> inclusive,
/// unlike iCalendar's exclusive DTEND).
/// </summary>
public sealed record EventWhen
{
    public required EventWhenKind Kind { get; init; }
    public DateTimeOffset? StartTime { get; init; }
    public DateTimeOffset? EndTime { get; init; }
    public string? StartTimezone { get; init; }
    public string? EndTimezone { get; init; }
    public DateOnly? StartDate { get; init; }
    public DateOnly? EndDate { get; init; }

    public static EventWhen Timed(DateTimeOffset start, DateTimeOffset end, string? startTimezone, string? endTimezone) => end <= start
        ? new() { Kind = EventWhenKind.Time, StartTime = start, EndTime = start, StartTimezone = startTimezone, EndTimezone = startTimezone }
        : new() { Kind = EventWhenKind.Timespan, StartTime = start, EndTime = end, StartTimezone = startTimezone, EndTimezone = endTimezone };

    public static EventWhen AllDay(DateOnly start, DateOnly endInclusive) => endInclusive <= start
        ? new() { Kind = EventWhenKind.Date, StartDate = start, EndDate = start }
        : new() { Kind = EventWhenKind.Datespan, StartDate = start, EndDate = endInclusive };
}
