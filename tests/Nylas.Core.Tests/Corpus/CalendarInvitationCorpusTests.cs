using Nylas.Core.Calendar;
using Nylas.Core.Messages;
using Xunit;

namespace Nylas.Core.Tests.Corpus;

/// <summary>Every invitation of <c>supplements/thunderbird-calendar-invitations</c> yields its event as the file states it.</summary>
public class CalendarInvitationCorpusTests
{
    private const string Dir = "supplements/thunderbird-calendar-invitations/";

    [SkippableTheory]
    [InlineData("cancel-repeat-event.eml", "02e79b96", "CANCEL", "Repeat Event")]
    [InlineData("cancel-single-event.eml", "02e79b96", "CANCEL", "Single Event")]
    [InlineData("event-with-file-attachment.eml", "02e79b96-file", "REQUEST", "File Attachment Event")]
    [InlineData("exception-major.eml", "02e79b96", "REQUEST", "Repeat Event")]
    [InlineData("exception-minor.eml", "02e79b96", "REQUEST", "Exception title")]
    [InlineData("meet-meeting-invite.eml", "65m17hsdolmotv3kvmrtg40ont@google.com", "REQUEST", "Meeeeet me HTML")]
    [InlineData("message-containing-event.eml", "20160824T204000Z-568860280@example.com", "PUBLISH", "Haircut")]
    [InlineData("message-non-invite.eml", "1e5fd4e6-bc52-439c-ac76-40da54f57c77@secure.example.com", "PUBLISH", "Party at John's house, Helsinki")]
    [InlineData("outlook-test-invite.eml", "030000008200E00074C5B7101A82E0080000000060B608D090DDD7010000000000000000100000004BE0CFFA54BCF64E956E34143362C3C0", "REQUEST", "Testaus")]
    [InlineData("repeat-event.eml", "02e79b96", "REQUEST", "Repeat Event")]
    [InlineData("repeat-update-major.eml", "02e79b96", "REQUEST", "Repeat Event")]
    [InlineData("repeat-update-minor.eml", "02e79b96", "REQUEST", "Updated Event")]
    [InlineData("single-event.eml", "02e79b96", "REQUEST", "Single Event")]
    [InlineData("teams-meeting-invite.eml", "056000008200E00074C5B7101A82E008000000001AF84C64CBC8D601000000000000000010000000403B5AC10A0EB444A947D2B499A4B98C", "REQUEST", "Teams meeting")]
    [InlineData("update-major.eml", "02e79b96", "REQUEST", "Single Event")]
    [InlineData("update-minor.eml", "02e79b96", "REQUEST", "Updated Event")]
    public void Each_invitation_yields_its_event(string file, string uid, string method, string summary)
    {
        var parsed = Map(file);
        var e = Assert.Single(parsed.Events);
        Assert.Equal(uid, e.Uid);
        Assert.Equal(method, e.Method);
        Assert.Equal(summary, e.Title);
        if (method == "CANCEL") Assert.Equal(EventStatuses.Cancelled, e.Status);
    }

    [SkippableFact]
    public void Every_invitation_file_is_covered()
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        var covered = typeof(CalendarInvitationCorpusTests).GetMethod(nameof(Each_invitation_yields_its_event))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>()
            .Select(a => (string)a.GetData(null!).First()[0]).ToHashSet();
        var files = Directory.EnumerateFiles(Corpus.PathOf(Dir), "*.eml").Select(f => Path.GetFileName(f)).ToList();
        Assert.Equal(16, files.Count);
        Assert.All(files, f => Assert.Contains(f, covered));
    }

    [SkippableFact]
    public void A_single_event_has_its_times_people_and_v2_shape()
    {
        var e = Assert.Single(Map("single-event.eml").Events);
        Assert.Equal(EventWhenKind.Timespan, e.When!.Kind);
        Assert.Equal(new DateTimeOffset(2022, 3, 16, 11, 0, 0, TimeSpan.Zero), e.When.StartTime);
        Assert.Equal(new DateTimeOffset(2022, 3, 16, 11, 30, 0, TimeSpan.Zero), e.When.EndTime);
        Assert.Equal(new EventPerson("Sender", "sender@example.com"), e.Organizer);
        Assert.Equal(
            [new EventParticipant("Sender", "sender@example.com", "yes"), new EventParticipant("Receiver", "receiver@example.com", "noreply"), new EventParticipant("Other", "other@example.com", "noreply")],
            e.Participants);
        Assert.Equal("Somewhere", e.Location);
        Assert.Equal(EventStatuses.Confirmed, e.Status);
        Assert.True(e.Busy);
        Assert.Null(e.Recurrence);

        var api = ApiEvent.From(e, "evt1", "acc1", "cal1", "msg1");
        Assert.Equal("timespan", api.When!.Object);
        Assert.Equal(1647428400, api.When.StartTime);
        Assert.Equal(1647430200, api.When.EndTime);
        Assert.Equal("Sender <sender@example.com>", api.Owner);
    }

    [SkippableFact]
    public void Outlook_windows_time_zones_are_placed_and_named_by_iana()
    {
        var e = Assert.Single(Map("outlook-test-invite.eml").Events);
        // DTSTART;TZID=FLE Standard Time:20211127T090000 is 07:00 UTC (EET, +02:00 in November).
        Assert.Equal(new DateTimeOffset(2021, 11, 27, 7, 0, 0, TimeSpan.Zero), e.When!.StartTime);
        Assert.Contains(e.When.StartTimezone, new[] { "Europe/Kiev", "Europe/Kyiv" });
    }

    [SkippableFact]
    public void Recurring_events_keep_their_rules_and_exceptions_their_original_start()
    {
        var series = Assert.Single(Map("repeat-event.eml").Events);
        Assert.Equal(["RRULE:FREQ=DAILY;WKST=SU;COUNT=3;INTERVAL=1"], series.Recurrence!.Rrule);

        var cancelled = Assert.Single(Map("cancel-repeat-event.eml").Events);
        Assert.Equal(["RRULE:FREQ=DAILY;WKST=SU;COUNT=3;INTERVAL=1", "EXDATE:20220317T110000Z"], cancelled.Recurrence!.Rrule);
        Assert.Null(cancelled.When);   // the file has no DTSTART (see its X-NOTE): a note, not an exception
        Assert.Contains(Map("cancel-repeat-event.eml").ParseNotes, n => n.Contains("no DTSTART", StringComparison.Ordinal));

        var exception = Assert.Single(Map("exception-major.eml").Events);
        Assert.Equal(new DateTimeOffset(2022, 3, 17, 11, 0, 0, TimeSpan.Zero), exception.OriginalStartTime);
        Assert.Equal(new DateTimeOffset(2022, 3, 17, 5, 0, 0, TimeSpan.Zero), exception.When!.StartTime);
    }

    [SkippableFact]
    public void An_invitation_sent_twice_in_one_message_is_one_event_and_the_ics_attachment_a_file()
    {
        var parsed = Map("meet-meeting-invite.eml");
        Assert.Single(parsed.Events);
        var file = Assert.Single(parsed.Files);
        Assert.Equal("invite.ics", file.Filename);
    }

    private static ParsedMessage Map(string file)
    {
        Skip.If(Corpus.Directory is null, Corpus.SkipReason);
        using var stream = File.OpenRead(Corpus.PathOf(Dir + file));
        return new MimeMessageMapper().Map(stream);
    }
}
