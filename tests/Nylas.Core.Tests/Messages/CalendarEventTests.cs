using System.Text;
using System.Text.Json;
using Nylas.Core.Calendar;
using Nylas.Core.Messages;
using Xunit;

namespace Nylas.Core.Tests.Messages;

public class CalendarEventTests
{
    private static ParsedMessage Invitation(string ics, string contentType = "text/calendar; charset=utf-8", string extraHeaders = "")
    {
        var raw = $"""
            From: Organizer <org@example.com>
            To: me@example.com
            Subject: Invitation
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: text/plain

            You are invited.
            --m
            Content-Type: {contentType}
            {extraHeaders}
            {ics}
            --m--
            """;
        return new MimeMessageMapper().Map(new MemoryStream(Encoding.UTF8.GetBytes(raw.ReplaceLineEndings("\r\n"))));
    }

    private const string Request = """
        BEGIN:VCALENDAR
        PRODID:-//Test//EN
        VERSION:2.0
        METHOD:REQUEST
        BEGIN:VEVENT
        UID:meeting-1@example.com
        SEQUENCE:2
        DTSTAMP:20260101T090000Z
        DTSTART;TZID=Europe/Berlin:20260310T100000
        DTEND;TZID=Europe/Berlin:20260310T113000
        SUMMARY:Planning
        DESCRIPTION:Agenda:\n1. budget
        LOCATION:Room 4
        STATUS:TENTATIVE
        TRANSP:TRANSPARENT
        ORGANIZER;CN="Org, The":mailto:org@example.com
        ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@example.com
        ATTENDEE;CN=Bob;PARTSTAT=DECLINED:mailto:bob@example.com
        ATTENDEE;CN=Cy;PARTSTAT=TENTATIVE:mailto:cy@example.com
        ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:dee@example.com
        ATTENDEE:mailto:eve@example.com
        END:VEVENT
        END:VCALENDAR
        """;

    [Fact]
    public void A_request_maps_every_v2_field()
    {
        var parsed = Invitation(Request, "text/calendar; charset=utf-8; method=REQUEST");
        var e = Assert.Single(parsed.Events);
        Assert.Equal("meeting-1@example.com", e.Uid);
        Assert.Equal(2, e.Sequence);
        Assert.Equal("REQUEST", e.Method);
        Assert.Equal("Planning", e.Title);
        Assert.Equal("Agenda:\n1. budget", e.Description);
        Assert.Equal("Room 4", e.Location);
        Assert.Equal(new EventPerson("Org, The", "org@example.com"), e.Organizer);
        Assert.Equal(["yes", "no", "maybe", "noreply", "noreply"], e.Participants.Select(p => p.Status));
        Assert.Equal(["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com"], e.Participants.Select(p => p.Email));
        Assert.Equal(EventStatuses.Tentative, e.Status);
        Assert.False(e.Busy);
        Assert.Equal(EventWhenKind.Timespan, e.When!.Kind);
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 9, 0, 0, TimeSpan.Zero), e.When.StartTime);   // CET = UTC+1 in March
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 10, 30, 0, TimeSpan.Zero), e.When.EndTime);
        Assert.Equal("Europe/Berlin", e.When.StartTimezone);
        Assert.Null(e.Recurrence);
        Assert.Empty(parsed.Files);   // the calendar part has no name: it is the invitation, not a file
    }

    [Fact]
    public void The_v2_wire_object_has_the_shapes_the_sdk_reads()
    {
        var e = Assert.Single(Invitation(Request).Events);
        var api = ApiEvent.From(e, id: "ev1", accountId: "acc", calendarId: "cal", messageId: "msg");
        var json = JsonSerializer.Serialize(api, new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("event", root.GetProperty("object").GetString());
        Assert.Equal("meeting-1@example.com", root.GetProperty("ical_uid").GetString());
        Assert.Equal("Org, The <org@example.com>", root.GetProperty("owner").GetString());
        Assert.True(root.GetProperty("read_only").GetBoolean());
        var when = root.GetProperty("when");
        Assert.Equal("timespan", when.GetProperty("object").GetString());
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 9, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), when.GetProperty("start_time").GetInt64());
        Assert.Equal("Europe/Berlin", when.GetProperty("start_timezone").GetString());
        Assert.False(when.TryGetProperty("date", out _));
        Assert.Equal("yes", root.GetProperty("participants")[0].GetProperty("status").GetString());
        Assert.False(root.TryGetProperty("recurrence", out _));
    }

    [Fact]
    public void A_cancel_is_cancelled_whatever_its_status_says()
    {
        var ics = Request.Replace("METHOD:REQUEST", "METHOD:CANCEL");
        var e = Assert.Single(Invitation(ics).Events);
        Assert.Equal("CANCEL", e.Method);
        Assert.Equal(EventStatuses.Cancelled, e.Status);
    }

    [Fact]
    public void A_reply_carries_the_attendee_answer()
    {
        var ics = """
            BEGIN:VCALENDAR
            VERSION:2.0
            METHOD:REPLY
            BEGIN:VEVENT
            UID:meeting-1@example.com
            DTSTAMP:20260102T090000Z
            DTSTART:20260310T090000Z
            ORGANIZER:mailto:org@example.com
            ATTENDEE;CN=Bob;PARTSTAT=DECLINED:mailto:Bob@Example.com
            END:VEVENT
            END:VCALENDAR
            """;
        var e = Assert.Single(Invitation(ics, "text/calendar; method=REPLY").Events);
        Assert.Equal("REPLY", e.Method);
        Assert.Equal(new EventParticipant("Bob", "Bob@Example.com", "no"), Assert.Single(e.Participants));
        Assert.Equal(EventWhenKind.Time, e.When!.Kind);   // no DTEND, no DURATION: a point in time
        Assert.Equal("time", ApiEventWhen.From(e.When).Object);
    }

    [Theory]
    [InlineData("DTSTART;VALUE=DATE:20260704", "DTEND;VALUE=DATE:20260705", EventWhenKind.Date, "2026-07-04", "2026-07-04")]
    [InlineData("DTSTART;VALUE=DATE:20260704", "", EventWhenKind.Date, "2026-07-04", "2026-07-04")]
    [InlineData("DTSTART;VALUE=DATE:20260704", "DTEND;VALUE=DATE:20260707", EventWhenKind.Datespan, "2026-07-04", "2026-07-06")]
    [InlineData("DTSTART;VALUE=DATE:20260704", "DURATION:P2D", EventWhenKind.Datespan, "2026-07-04", "2026-07-05")]
    public void All_day_events_are_dates_with_an_inclusive_end(string start, string end, EventWhenKind kind, string startDate, string endDate)
    {
        var ics = $"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:day@example.com\r\nDTSTAMP:20260101T000000Z\r\n{start}\r\n{(end.Length > 0 ? end + "\r\n" : "")}SUMMARY:Holiday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        var e = Assert.Single(Invitation(ics).Events);
        Assert.Equal(kind, e.When!.Kind);
        var when = ApiEventWhen.From(e.When);
        if (kind == EventWhenKind.Date)
        {
            Assert.Equal("date", when.Object);
            Assert.Equal(startDate, when.Date);
        }
        else
        {
            Assert.Equal("datespan", when.Object);
            Assert.Equal(startDate, when.StartDate);
            Assert.Equal(endDate, when.EndDate);
        }
        Assert.Null(when.StartTime);
    }

    [Fact]
    public void A_recurring_event_keeps_its_rule_lines_and_exceptions_their_original_start()
    {
        var ics = """
            BEGIN:VCALENDAR
            VERSION:2.0
            METHOD:REQUEST
            BEGIN:VEVENT
            UID:weekly@example.com
            DTSTAMP:20260101T000000Z
            DTSTART;TZID=America/New_York:20260105T093000
            DTEND;TZID=America/New_York:20260105T100000
            RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10
            EXDATE;TZID=America/New_York:20260119T093000
            SUMMARY:Standup
            END:VEVENT
            BEGIN:VEVENT
            UID:weekly@example.com
            DTSTAMP:20260101T000000Z
            RECURRENCE-ID;TZID=America/New_York:20260112T093000
            DTSTART;TZID=America/New_York:20260112T110000
            DTEND;TZID=America/New_York:20260112T113000
            SUMMARY:Standup (moved)
            END:VEVENT
            END:VCALENDAR
            """;
        var events = Invitation(ics).Events;
        Assert.Equal(2, events.Count);
        var series = events[0];
        Assert.Equal(["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10", "EXDATE;TZID=America/New_York:20260119T093000"], series.Recurrence!.Rrule);
        Assert.Equal("America/New_York", series.Recurrence.Timezone);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 14, 30, 0, TimeSpan.Zero), series.When!.StartTime);
        var moved = events[1];
        Assert.Equal(new DateTimeOffset(2026, 1, 12, 14, 30, 0, TimeSpan.Zero), moved.OriginalStartTime);
        Assert.Equal(new DateTimeOffset(2026, 1, 12, 16, 0, 0, TimeSpan.Zero), moved.When!.StartTime);
        var api = ApiEvent.From(series, "s", "a", "c", null);
        Assert.Equal(series.Recurrence.Rrule, api.Recurrence!.Rrule);
    }

    [Theory]
    [InlineData("this is not a calendar")]
    [InlineData("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:notadate\r\nEND:VEVENT\r\nEND:VCALENDAR")]
    [InlineData("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR")]
    [InlineData("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:cut@example.com\r\nDTSTART:20260101T100000Z\r\nSUMMARY:Cut off")]
    [InlineData("")]
    public void Broken_calendars_give_notes_not_exceptions(string ics)
    {
        var parsed = Invitation(ics);
        Assert.Null(parsed.ParseError);
        Assert.Equal("You are invited.", parsed.Snippet);
        if (ics.Contains("Cut off"))
        {
            // A truncated part is read up to where it stops.
            Assert.Equal("Cut off", Assert.Single(parsed.Events).Title);
            Assert.Contains(parsed.ParseNotes, n => n.Contains("truncated", StringComparison.Ordinal));
        }
        else if (ics.Length > 0)
        {
            Assert.Contains(parsed.ParseNotes, n => n.StartsWith("calendar part", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Unknown_time_zones_are_placed_by_the_calendars_own_vtimezone()
    {
        var ics = """
            BEGIN:VCALENDAR
            VERSION:2.0
            METHOD:REQUEST
            BEGIN:VTIMEZONE
            TZID:Customized Time Zone
            BEGIN:STANDARD
            DTSTART:16010101T030000
            TZOFFSETFROM:+0200
            TZOFFSETTO:+0100
            RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
            END:STANDARD
            BEGIN:DAYLIGHT
            DTSTART:16010101T020000
            TZOFFSETFROM:+0100
            TZOFFSETTO:+0200
            RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
            END:DAYLIGHT
            END:VTIMEZONE
            BEGIN:VEVENT
            UID:custom@example.com
            DTSTAMP:20260101T000000Z
            DTSTART;TZID=Customized Time Zone:20260615T100000
            DTEND;TZID=Customized Time Zone:20260615T110000
            SUMMARY:Summer
            END:VEVENT
            BEGIN:VEVENT
            UID:custom2@example.com
            DTSTAMP:20260101T000000Z
            DTSTART;TZID=Customized Time Zone:20261215T100000
            SUMMARY:Winter
            END:VEVENT
            END:VCALENDAR
            """;
        var parsed = Invitation(ics);
        Assert.Equal(new DateTimeOffset(2026, 6, 15, 8, 0, 0, TimeSpan.Zero), parsed.Events[0].When!.StartTime);
        Assert.Equal(new DateTimeOffset(2026, 12, 15, 9, 0, 0, TimeSpan.Zero), parsed.Events[1].When!.StartTime);
        Assert.Null(parsed.Events[0].When!.StartTimezone);
        Assert.Contains(parsed.ParseNotes, n => n.Contains("placed by its VTIMEZONE", StringComparison.Ordinal));
    }

    [Fact]
    public void An_ics_attachment_is_an_invitation_only_with_a_method()
    {
        const string publish = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:export@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nSUMMARY:Exported\r\nEND:VEVENT\r\nEND:VCALENDAR";
        var export = Invitation(publish, "application/octet-stream; name=\"cal.ics\"", "Content-Disposition: attachment; filename=\"cal.ics\"\r\n");
        Assert.Empty(export.Events);
        Assert.Equal("cal.ics", Assert.Single(export.Files).Filename);

        var invite = Invitation(publish.Replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST"), "application/octet-stream; name=\"cal.ics\"", "Content-Disposition: attachment; filename=\"cal.ics\"\r\n");
        Assert.Equal("Exported", Assert.Single(invite.Events).Title);
        Assert.Single(invite.Files);
    }

    [Fact]
    public void Calendar_parts_over_the_size_limit_are_not_read()
    {
        var big = Request.Replace("DESCRIPTION:Agenda:\\n1. budget", "DESCRIPTION:" + new string('x', 5000));
        var raw = $"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar\r\n\r\n{big.ReplaceLineEndings("\r\n")}";
        var parsed = new MimeMessageMapper(new MimeLimits { MaxCalendarBytes = 1000 }).Map(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
        Assert.Empty(parsed.Events);
        Assert.Contains(parsed.ParseNotes, n => n.Contains("larger than 1000 bytes", StringComparison.Ordinal));
    }
}
