using Nylas.Core.Calendar;
using Xunit;

namespace Nylas.Core.Tests.Calendar;

/// <summary>The iMIP REPLY an RSVP sends, read back by the same reader that reads invitations, and the answer applied to an event.</summary>
public class InvitationReplyTests
{
    private static readonly DateTimeOffset Start = new(2027, 3, 8, 9, 30, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Stamp = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ParsedEvent Invitation(string? recurrenceId = null, DateTimeOffset? originalStart = null) => new()
    {
        Uid = "meeting-7@example.com",
        Sequence = 3,
        Method = "REQUEST",
        Title = "Roadmap review",
        Location = "Room 9",
        Organizer = new EventPerson("Boss", "boss@example.com"),
        Participants = [new EventParticipant("Me", "Me@Example.com", ParticipantStatuses.NoReply), new EventParticipant("Other", "other@example.com", ParticipantStatuses.Yes)],
        When = EventWhen.Timed(Start, Start.AddHours(1), null, null),
        RecurrenceId = recurrenceId,
        OriginalStartTime = originalStart,
    };

    [Theory]
    [InlineData("yes", "ACCEPTED", "Accepted: Roadmap review")]
    [InlineData("no", "DECLINED", "Declined: Roadmap review")]
    [InlineData("maybe", "TENTATIVE", "Tentatively accepted: Roadmap review")]
    public void The_reply_reads_back_as_a_REPLY_with_the_invitation_s_identity_and_the_answer(string status, string partStat, string subject)
    {
        var reply = new InvitationReply(Invitation(), 3, new EventPerson("Me", "me@example.com"), status, "See you there,\nwith slides");
        string ics = reply.ToIcs(Stamp);

        Assert.Contains("METHOD:REPLY", ics);
        Assert.Contains($"PARTSTAT={partStat}", ics);
        Assert.Contains("SEQUENCE:3", ics);
        Assert.Contains("DTSTAMP:20270301T120000Z", ics);
        Assert.Equal(subject, reply.Subject);
        var read = IcsEventReader.Read(ics);
        Assert.Empty(read.Notes);
        Assert.Equal("REPLY", read.Method);
        var e = Assert.Single(read.Events);
        Assert.Equal("meeting-7@example.com", e.Uid);
        Assert.Equal(3, e.Sequence);
        Assert.Equal(new EventPerson("Boss", "boss@example.com"), e.Organizer);
        Assert.Equal(new EventParticipant("Me", "me@example.com", status, "See you there,\nwith slides"), Assert.Single(e.Participants));
        Assert.Equal(Start, e.When!.StartTime);
        Assert.Null(e.RecurrenceId);
    }

    [Fact]
    public void An_occurrence_is_answered_by_its_RECURRENCE_ID_as_an_instant_or_a_date()
    {
        var original = new DateTimeOffset(2027, 3, 15, 10, 30, 0, TimeSpan.FromHours(1));
        string timed = new InvitationReply(Invitation("20270315T103000", original), 3, new EventPerson("", "me@example.com"), "yes", null).ToIcs(Stamp);
        Assert.Contains("RECURRENCE-ID:20270315T093000Z", timed);
        Assert.Equal(original, Assert.Single(IcsEventReader.Read(timed).Events).OriginalStartTime);

        var day = new DateTimeOffset(2027, 3, 15, 0, 0, 0, TimeSpan.Zero);
        string allDay = new InvitationReply(Invitation("20270315", day), 3, new EventPerson("", "me@example.com"), "no", null).ToIcs(Stamp);
        Assert.Contains("RECURRENCE-ID;VALUE=DATE:20270315", allDay);
        Assert.DoesNotContain("COMMENT", allDay);
    }

    [Fact]
    public void Anything_but_yes_no_and_maybe_is_not_an_answer()
    {
        Assert.Null(InvitationReply.PartStatOf("noreply"));
        Assert.Null(InvitationReply.PartStatOf("YES"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InvitationReply(Invitation(), 0, new EventPerson("", "me@example.com"), "perhaps", null).ToIcs(Stamp));
    }

    [Fact]
    public void An_answer_sets_that_attendee_s_status_and_replaces_its_comment_and_leaves_the_others()
    {
        var stored = Invitation() with
        {
            Participants = [new EventParticipant("Me", "Me@Example.com", ParticipantStatuses.Yes, "old note"), new EventParticipant("Other", "other@example.com", ParticipantStatuses.Yes)],
        };
        var answered = InvitationReply.Apply(stored, [new EventParticipant("", "me@example.com", ParticipantStatuses.No, null)]);
        Assert.Equal(new EventParticipant("Me", "Me@Example.com", ParticipantStatuses.No, null), answered.Participants[0]);
        Assert.Equal(stored.Participants[1], answered.Participants[1]);
        // Someone the invitation did not name is not added.
        Assert.Equal(2, InvitationReply.Apply(stored, [new EventParticipant("", "stranger@example.com", ParticipantStatuses.Yes)]).Participants.Count);
    }

    [Fact]
    public void Only_a_REPLY_s_single_attendee_takes_the_COMMENT()
    {
        string Calendar(string method, string attendees) => string.Join("\r\n", "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//T//EN", $"METHOD:{method}",
            "BEGIN:VEVENT", "UID:u1@example.com", "DTSTAMP:20270301T000000Z", "DTSTART:20270310T120000Z", "ORGANIZER:mailto:boss@example.com",
            attendees, "COMMENT:Running late", "END:VEVENT", "END:VCALENDAR", "");
        Assert.Equal("Running late", Assert.Single(Assert.Single(IcsEventReader.Read(Calendar("REPLY", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com")).Events).Participants).Comment);
        Assert.Null(Assert.Single(Assert.Single(IcsEventReader.Read(Calendar("REQUEST", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com")).Events).Participants).Comment);
        Assert.All(Assert.Single(IcsEventReader.Read(Calendar("REPLY",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com\r\nATTENDEE;PARTSTAT=DECLINED:mailto:b@example.com")).Events).Participants, p => Assert.Null(p.Comment));
    }
}
