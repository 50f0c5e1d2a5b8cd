using System.Globalization;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Serialization;
using IcalCalendar = Ical.Net.Calendar;

namespace Nylas.Core.Calendar;

/// <summary>
/// An attendee's answer to an invitation as an iMIP REPLY (RFC 5546 3.2.3, RFC 6047): the invitation's UID, SEQUENCE
/// and RECURRENCE-ID, its ORGANIZER, and one ATTENDEE (the one answering) with its PARTSTAT and COMMENT.
/// </summary>
public sealed record InvitationReply(ParsedEvent Event, int Sequence, EventPerson Attendee, string Status, string? Comment)
{
    /// <summary>v2 status (yes, no, maybe) → PARTSTAT (ACCEPTED, DECLINED, TENTATIVE); anything else is not an answer.</summary>
    public static string? PartStatOf(string status) => status switch
    {
        ParticipantStatuses.Yes => "ACCEPTED",
        ParticipantStatuses.No => "DECLINED",
        ParticipantStatuses.Maybe => "TENTATIVE",
        _ => null,
    };

    /// <summary>The subject line calendar clients put on a reply (Outlook's and Google's wording).</summary>
    public string Subject => Status switch
    {
        ParticipantStatuses.Yes => "Accepted: ",
        ParticipantStatuses.No => "Declined: ",
        _ => "Tentatively accepted: ",
    } + Event.Title;

    /// <summary>What a person reads in the reply's text part.</summary>
    public string Text
    {
        get
        {
            string who = Attendee.Name.Length > 0 ? $"{Attendee.Name} <{Attendee.Email}>" : Attendee.Email;
            string verb = Status switch
            {
                ParticipantStatuses.Yes => "has accepted",
                ParticipantStatuses.No => "has declined",
                _ => "has tentatively accepted",
            };
            var text = $"{who} {verb} the invitation: {Event.Title}";
            if (Event.When?.StartTime is { } start) text += $"\r\nWhen: {start.UtcDateTime.ToString("dddd d MMMM yyyy HH:mm", CultureInfo.InvariantCulture)} UTC";
            else if (Event.When?.StartDate is { } day) text += $"\r\nWhen: {day.ToString("dddd d MMMM yyyy", CultureInfo.InvariantCulture)}";
            if (Event.Location.Length > 0) text += $"\r\nWhere: {Event.Location}";
            if (!string.IsNullOrEmpty(Comment)) text += $"\r\n\r\n{Comment}";
            return text + "\r\n";
        }
    }

    /// <summary>The METHOD:REPLY calendar text; <paramref name="stamp"/> is its DTSTAMP (when the answer was given).</summary>
    public string ToIcs(DateTimeOffset stamp)
    {
        var organizer = Event.Organizer ?? throw new InvalidOperationException("An invitation without an organizer cannot be answered.");
        var vevent = new CalendarEvent
        {
            Uid = Event.Uid,
            Sequence = Sequence,
            DtStamp = new CalDateTime(stamp.UtcDateTime, CalDateTime.UtcTzId),
            Summary = Event.Title,
            Organizer = new Organizer($"mailto:{organizer.Email}") { CommonName = organizer.Name.Length > 0 ? organizer.Name : null },
        };
        // DTSTART/DTEND are optional in a REPLY; Google and Outlook match replies more readily with them.
        switch (Event.When)
        {
            case { StartTime: { } start } timed:
                vevent.DtStart = Utc(start);
                vevent.DtEnd = Utc(timed.EndTime ?? start);
                break;
            case { StartDate: { } day } allDay:
                vevent.DtStart = new CalDateTime(day);
                vevent.DtEnd = new CalDateTime((allDay.EndDate ?? day).AddDays(1));
                break;
        }
        // The occurrence answered, by its instant (a RECURRENCE-ID is compared as a time, RFC 5545 3.8.4.4).
        if (Event.OriginalStartTime is { } original)
            vevent.RecurrenceIdentifier = new RecurrenceIdentifier(Event.RecurrenceId is { } written && !written.Contains('T')
                ? new CalDateTime(DateOnly.FromDateTime(original.UtcDateTime))
                : Utc(original));
        vevent.Attendees.Add(new Attendee($"mailto:{Attendee.Email}")
        {
            CommonName = Attendee.Name.Length > 0 ? Attendee.Name : null,
            ParticipationStatus = PartStatOf(Status) ?? throw new ArgumentOutOfRangeException(nameof(Status), Status, "not an answer"),
        });
        if (!string.IsNullOrEmpty(Comment)) vevent.Comments.Add(Comment);

        var calendar = new IcalCalendar { ProductId = "-//nylas-sync//Nylas API v2 compatible//EN", Method = "REPLY" };
        calendar.Events.Add(vevent);
        return new CalendarSerializer().SerializeToString(calendar)!;
    }

    /// <summary>
    /// The stored event with an attendee's answer applied: that attendee's status, and the comment the answer carried
    /// (an answer replaces the one before it, comment included). Attendees are matched by address, ignoring case.
    /// </summary>
    public static ParsedEvent Apply(ParsedEvent stored, IEnumerable<EventParticipant> answers)
    {
        var byEmail = new Dictionary<string, EventParticipant>(StringComparer.OrdinalIgnoreCase);
        foreach (var a in answers) byEmail[a.Email] = a;
        var participants = stored.Participants
            .Select(p => byEmail.TryGetValue(p.Email, out var a) ? p with { Status = a.Status, Comment = a.Comment } : p)
            .ToList();
        return stored with { Participants = participants };
    }

    private static CalDateTime Utc(DateTimeOffset t) => new(t.UtcDateTime, CalDateTime.UtcTzId);
}
