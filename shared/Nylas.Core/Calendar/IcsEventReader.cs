using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using NodaTime;
using IcalCalendar = Ical.Net.Calendar;

namespace Nylas.Core.Calendar;

/// <summary>What one calendar part holds: its METHOD, its events, and what was wrong with it.</summary>
public sealed record IcsReadResult(string? Method, IReadOnlyList<ParsedEvent> Events, IReadOnlyList<string> Notes);

/// <summary>
/// Reads the VEVENTs of iCalendar text (Ical.Net) into <see cref="ParsedEvent"/>s. Never throws on bad input:
/// a calendar it cannot read, an event without UID or a date it cannot place give notes instead.
/// </summary>
public static class IcsEventReader
{
    /// <param name="ics">The calendar text.</param>
    /// <param name="fallbackMethod">The MIME part's <c>method</c> parameter, used when the calendar has no METHOD.</param>
    /// <param name="maxEvents">At most this many events are returned.</param>
    public static IcsReadResult Read(string ics, string? fallbackMethod = null, int maxEvents = 100)
    {
        var notes = new List<string>();
        var lines = IcsText.Lines(ics);
        var calendars = Load(IcsText.Without(lines, "VTIMEZONE", "VALARM"), notes);
        if (calendars.Count == 0) return new IcsReadResult(Normalize(fallbackMethod), [], notes);

        string? method = Normalize(calendars.Select(c => c.Method).FirstOrDefault(m => !string.IsNullOrWhiteSpace(m))) ?? Normalize(fallbackMethod);
        var raw = IcsText.Events(lines);
        IReadOnlyDictionary<string, List<IcsText.Observance>>? zones = null;
        var events = new List<ParsedEvent>();
        int index = 0;
        foreach (var vevent in calendars.SelectMany(c => c.Events))
        {
            // Ical.Net invents a UID for a VEVENT without one; the raw reading (same order) says whether it had one.
            var rawEvent = index < raw.Count && (raw[index].Uid is null || raw[index].Uid == vevent.Uid?.Trim())
                ? raw[index]
                : raw.FirstOrDefault(r => r.Uid == vevent.Uid?.Trim());
            index++;
            if (events.Count == maxEvents)
            {
                notes.Add($"more than {maxEvents} events: the rest ignored");
                break;
            }
            try
            {
                var parsed = Convert(vevent, method, rawEvent, () => zones ??= IcsText.TimeZones(lines), notes);
                if (parsed is not null) events.Add(parsed);
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
            {
                notes.Add($"event {vevent.Uid}: unreadable ({ex.GetType().Name}: {ex.Message})");
            }
        }
        return new IcsReadResult(method, events, notes);
    }

    private static List<IcalCalendar> Load(string ics, List<string> notes)
    {
        try
        {
            return CalendarCollection.Load(ics).Where(c => c is not null).ToList();
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
        {
            // A part cut short (no END lines) is common enough to repair; anything else is reported.
            if (IcsText.CloseOpenComponents(ics, IcsText.Lines(ics)) is { } repaired)
            {
                try
                {
                    var calendars = CalendarCollection.Load(repaired).Where(c => c is not null).ToList();
                    notes.Add($"calendar truncated ({ex.Message}): read up to where it stops");
                    return calendars;
                }
                catch (Exception again) when (again is not (OperationCanceledException or OutOfMemoryException)) { }
            }
            notes.Add($"calendar unreadable: {ex.GetType().Name}: {ex.Message}");
            return [];
        }
    }

    private static ParsedEvent? Convert(CalendarEvent e, string? method, IcsText.RawEvent? raw,
        Func<IReadOnlyDictionary<string, List<IcsText.Observance>>> zones, List<string> notes)
    {
        if (string.IsNullOrWhiteSpace(e.Uid) || (raw is not null && raw.Uid is null))
        {
            notes.Add($"event \"{e.Summary}\" without UID ignored");
            return null;
        }
        string uid = e.Uid.Trim();

        EventWhen? when = null;
        string? startZone = null;
        if (e.DtStart is null)
        {
            notes.Add($"event {uid}: no DTSTART");
        }
        else
        {
            when = When(e, uid, zones, notes, out startZone);
        }

        DateTimeOffset? originalStart = null;
        if (e.RecurrenceIdentifier?.StartTime is { } recurrenceId)
            originalStart = recurrenceId.HasTime ? ToInstant(recurrenceId, uid, zones, notes).Instant : new DateTimeOffset(recurrenceId.Date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

        var recurrenceLines = raw?.RecurrenceLines ?? [];
        string status = method == "CANCEL" ? EventStatuses.Cancelled : e.Status?.Trim().ToUpperInvariant() switch
        {
            "CANCELLED" => EventStatuses.Cancelled,
            "TENTATIVE" => EventStatuses.Tentative,
            _ => EventStatuses.Confirmed,
        };

        // A REPLY's COMMENT is what its one attendee wrote with the answer (RFC 5546 3.2.3).
        string? replyComment = method == "REPLY" && e.Attendees.Count == 1 && e.Comments.Count > 0
            ? string.Join("\n", e.Comments.Select(c => c.Trim())) : null;

        return new ParsedEvent
        {
            Uid = uid,
            Sequence = e.Sequence,
            Method = method,
            Title = e.Summary ?? "",
            Description = e.Description ?? "",
            Location = e.Location ?? "",
            Organizer = e.Organizer is { } organizer ? new EventPerson(organizer.CommonName?.Trim() ?? "", Email(organizer.Value, organizer.Parameters.Get("EMAIL"))) : null,
            Participants = e.Attendees.Select(a => new EventParticipant(
                a.CommonName?.Trim() ?? "", Email(a.Value, a.Parameters.Get("EMAIL")), ParticipantStatuses.FromPartStat(a.ParticipationStatus),
                replyComment)).ToArray(),
            Status = status,
            Busy = !string.Equals(e.Transparency?.Trim(), "TRANSPARENT", StringComparison.OrdinalIgnoreCase),
            When = when,
            Recurrence = recurrenceLines.Count > 0 ? new EventRecurrence(recurrenceLines, startZone) : null,
            OriginalStartTime = originalStart,
            RecurrenceId = raw?.RecurrenceId ?? e.RecurrenceIdentifier?.StartTime?.ToString(),
        };
    }

    private static EventWhen When(CalendarEvent e, string uid, Func<IReadOnlyDictionary<string, List<IcsText.Observance>>> zones,
        List<string> notes, out string? startZone)
    {
        var start = e.DtStart!;
        if (!start.HasTime)
        {
            startZone = null;
            var startDate = start.Date;
            // DTEND of an all-day event is exclusive; v2's end_date is inclusive. No DTEND: one day (RFC 5545 3.6.1).
            DateOnly endExclusive = e.DtEnd is { } dtEnd ? dtEnd.Date
                : e.Duration is { } duration && duration.Days is int days ? startDate.AddDays(days + 7 * (duration.Weeks ?? 0))
                : startDate.AddDays(1);
            return EventWhen.AllDay(startDate, endExclusive.AddDays(-1));
        }

        var (startInstant, zone) = ToInstant(start, uid, zones, notes);
        startZone = zone;
        DateTimeOffset endInstant;
        string? endZone = zone;
        if (e.DtEnd is { } end)
        {
            (endInstant, endZone) = end.HasTime ? ToInstant(end, uid, zones, notes) : (new DateTimeOffset(end.Date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), zone);
        }
        else if (e.Duration is { } duration)
        {
            endInstant = startInstant + duration.ToTimeSpanUnspecified();
        }
        else
        {
            endInstant = startInstant;
        }
        return EventWhen.Timed(startInstant, endInstant, startZone, endZone);
    }

    /// <summary>
    /// An instant from a DATE-TIME: UTC as is; a TZID through the time-zone database (IANA or Windows names,
    /// via Ical.Net's resolver), else through the calendar's own VTIMEZONE; floating times are taken as UTC.
    /// </summary>
    private static (DateTimeOffset Instant, string? Zone) ToInstant(CalDateTime value, string uid,
        Func<IReadOnlyDictionary<string, List<IcsText.Observance>>> zones, List<string> notes)
    {
        var local = DateTime.SpecifyKind(value.Value, DateTimeKind.Unspecified);
        if (value.IsUtc || value.IsFloating || string.IsNullOrWhiteSpace(value.TzId))
            return (new DateTimeOffset(local, TimeSpan.Zero), null);

        DateTimeZone? zone = null;
        try { zone = DefaultTimeZoneResolver.GetZone(value.TzId); }
        catch (ArgumentException) { }
        if (zone is not null)
            return (zone.AtLeniently(LocalDateTime.FromDateTime(local)).ToDateTimeOffset(), zone.Id);

        if (zones().TryGetValue(value.TzId, out var observances) && IcsText.OffsetAt(observances, local) is { } offset)
        {
            notes.Add($"event {uid}: time zone \"{value.TzId}\" unknown, placed by its VTIMEZONE");
            return (new DateTimeOffset(local, offset), null);
        }
        notes.Add($"event {uid}: time zone \"{value.TzId}\" unknown and not defined, taken as UTC");
        return (new DateTimeOffset(local, TimeSpan.Zero), null);
    }

    private static string Email(Uri? value, string? emailParameter)
    {
        string text = value?.OriginalString.Trim() ?? "";
        if (text.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase)) text = text[7..].Trim();
        if (text.Contains('@')) return Uri.UnescapeDataString(text);
        return emailParameter?.Trim() ?? text;
    }

    private static string? Normalize(string? method) => string.IsNullOrWhiteSpace(method) ? null : method.Trim().ToUpperInvariant();
}
