using System.Globalization;
using System.Text;
using MimeKit;

namespace Nylas.DevTool.DemoMail;

/// <summary>
/// Writes a METHOD:REQUEST iCalendar object (RFC 5545 / RFC 5546 iTIP) by hand, the way Google
/// Calendar and Outlook put it into an invitation e-mail.
/// </summary>
internal sealed record CalendarInvite(
    string Uid,
    string Summary,
    string Location,
    string Description,
    DateTimeOffset Start,
    DateTimeOffset End,
    DateTimeOffset Stamp,
    MailboxAddress Organizer,
    IReadOnlyList<MailboxAddress> Attendees)
{
    public string ToICalendar()
    {
        var lines = new List<string>
        {
            "BEGIN:VCALENDAR",
            "PRODID:-//Brightleaf Studio//Demo Mail Generator//EN",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "DTSTART:" + Utc(Start),
            "DTEND:" + Utc(End),
            "DTSTAMP:" + Utc(Stamp),
            $"ORGANIZER;CN={Param(Organizer.Name ?? Organizer.Address)}:mailto:{Organizer.Address}",
            "UID:" + Uid,
        };
        // The organizer is an attendee who has already accepted, as Google writes it.
        lines.Add("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE;" +
                  $"CN={Param(Organizer.Name ?? Organizer.Address)};X-NUM-GUESTS=0:mailto:{Organizer.Address}");
        foreach (var attendee in Attendees)
            lines.Add("ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;" +
                      $"CN={Param(attendee.Name ?? attendee.Address)};X-NUM-GUESTS=0:mailto:{attendee.Address}");
        lines.AddRange(
        [
            "CREATED:" + Utc(Stamp),
            "DESCRIPTION:" + Text(Description),
            "LAST-MODIFIED:" + Utc(Stamp),
            "LOCATION:" + Text(Location),
            "SEQUENCE:0",
            "STATUS:CONFIRMED",
            "SUMMARY:" + Text(Summary),
            "TRANSP:OPAQUE",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "DESCRIPTION:This is an event reminder",
            "TRIGGER:-P0DT0H10M0S",
            "END:VALARM",
            "END:VEVENT",
            "END:VCALENDAR",
        ]);

        var ics = new StringBuilder();
        foreach (var line in lines)
            ics.Append(Fold(line));
        return ics.ToString();
    }

    private static string Utc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    // TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 §3.3.11).
    private static string Text(string value) =>
        value.Replace("\\", "\\\\").Replace(";", "\\;").Replace(",", "\\,").Replace("\r\n", "\\n").Replace("\n", "\\n");

    // Parameter values containing ':', ';' or ',' must be quoted (RFC 5545 §3.2).
    private static string Param(string value) =>
        value.IndexOfAny([':', ';', ',']) >= 0 ? "\"" + value.Replace("\"", "'") + "\"" : value;

    /// <summary>Folds a content line at 75 octets with CRLF + space, never splitting a UTF-8 sequence.</summary>
    private static string Fold(string line)
    {
        var folded = new StringBuilder();
        var octets = 0;
        var limit = 75;
        foreach (var rune in line.EnumerateRunes())
        {
            var size = rune.Utf8SequenceLength;
            if (octets + size > limit)
            {
                folded.Append("\r\n ");
                octets = 0;
                limit = 74; // continuation lines start with the folding space
            }
            folded.Append(rune.ToString());
            octets += size;
        }
        return folded.Append("\r\n").ToString();
    }
}
