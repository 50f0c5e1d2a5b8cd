using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ical.Net.CalendarComponents;
using MailKit;
using MailKit.Search;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Nylas.Engine.Accounts;
using Nylas.Testing;
using Xunit;
using IcalCalendar = Ical.Net.Calendar;

namespace Nylas.Integration.Tests;

/// <summary>The send fixture with loopback webhooks allowed and a receiver subscribed to event.updated.</summary>
public sealed class RsvpFixture : SendFixture, IAsyncLifetime
{
    public WebhookReceiver Receiver { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Storage:WebhookQueue"] = "webhooks-" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Webhooks:AllowHttpLoopback"] = "true";
        settings["Nylas:Webhooks:AllowedPrivateNetworks"] = "127.0.0.0/8";
        settings["Nylas:Webhooks:PollMilliseconds"] = "100";
    }

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Receiver.StartAsync();
        using var app = AppClient();
        var body = new JsonObject { ["callback_url"] = Receiver.Url, ["triggers"] = new JsonArray("event.updated") };
        using var created = await app.PostAsync($"/a/{ClientId}/webhooks", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "text/plain"));
        Assert.True(created.IsSuccessStatusCode, $"webhook subscription: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
    }

    public override async Task DisposeAsync()
    {
        await Receiver.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>The event.updated deltas delivered so far for one event.</summary>
    public List<JsonElement> EventUpdates(string eventId) => Receiver.Acknowledged
        .SelectMany(p => JsonDocument.Parse(p.Body).RootElement.GetProperty("deltas").EnumerateArray())
        .Where(d => d.GetProperty("type").GetString() == "event.updated" && d.GetProperty("object_data").GetProperty("id").GetString() == eventId)
        .ToList();
}

/// <summary>
/// POST /send-rsvp against the real Postfix and Dovecot: an invitation delivered into the account is answered, the
/// organizer's mailbox receives the iMIP REPLY (read back and parsed with Ical.Net), the event shows the answer and
/// the change feed has it; bad input and SMTP refusals are answered like /send's and change nothing.
/// </summary>
public class RsvpTests(RsvpFixture host) : IClassFixture<RsvpFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly DateTime Start = new(2027, 3, 8, 9, 30, 0, DateTimeKind.Utc);

    private sealed record Invitation(string Title, string Uid, string MessageId);

    /// <summary>An organizer's invitation APPENDed into <paramref name="account"/>'s INBOX by an IMAP client of its own.</summary>
    private static async Task<Invitation> DeliverInvitationAsync(string account, string organizer, string? attendee = null, MimeEntity? body = null, string method = "REQUEST")
    {
        string title = $"Roadmap review {Guid.NewGuid():N}"[..26];
        string uid = $"{Guid.NewGuid():N}@example.com";
        var message = TestStack.SimpleMessage(account, $"Invitation: {title}", from: $"Boss <{organizer}>");
        message.Body = body ?? TestStack.InvitationBody(attendee ?? account, title, "Room 9", Start, $"{title} on Monday", uid: uid, method: method,
            sequence: 2, organizer: organizer);
        await TestStack.AppendAsync(account, message);
        return new Invitation(title, uid, message.MessageId!);
    }

    /// <summary>The event the sync made of the invitation, once it is there.</summary>
    private static async Task<JsonElement> WaitForEventAsync(HttpClient http, string title)
    {
        JsonElement[] found = [];
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (found = (await http.GetFromJsonAsync<JsonElement[]>($"/events?title={Uri.EscapeDataString(title)}&show_cancelled=true"))!).Length == 1, Timeout));
        return found[0];
    }

    private static async Task<HttpResponseMessage> RsvpAsync(HttpClient http, JsonObject body)
        => await http.PostAsync("/send-rsvp", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "text/plain"));

    private static JsonObject Answer(string eventId, string status, string? comment = null)
    {
        var body = new JsonObject { ["event_id"] = eventId, ["status"] = status };
        if (comment is not null) body["comment"] = comment;
        return body;
    }

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST /send-rsvp: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static JsonElement Participant(JsonElement evt, string email)
        => evt.GetProperty("participants").EnumerateArray().Single(p => string.Equals(p.GetProperty("email").GetString(), email, StringComparison.OrdinalIgnoreCase));

    private static async Task<MimeMessage> WaitForMessageAsync(string user, string subject)
    {
        List<MimeMessage> found = [];
        Assert.True(await TestStack.WaitUntilAsync(async () => (found = await TestStack.ReadFolderAsync(user, "INBOX", subject)).Count >= 1, Timeout) is not null,
            $"{subject} did not arrive in {user}'s INBOX");
        return Assert.Single(found);
    }

    /// <summary>The message's text/calendar part, parsed as a calendar client would.</summary>
    private static (IcalCalendar Calendar, CalendarEvent Event, TextPart Part) CalendarOf(MimeMessage message)
    {
        var part = Assert.Single(message.BodyParts.OfType<TextPart>(), p => p.ContentType.IsMimeType("text", "calendar"));
        var calendar = IcalCalendar.Load(part.Text)!;
        return (calendar, Assert.Single(calendar.Events), part);
    }

    private static async Task<List<JsonElement>> DeltasSinceAsync(HttpClient http, string cursor)
    {
        var page = await http.GetFromJsonAsync<JsonElement>($"/delta?cursor={cursor}&view=expanded");
        return page.GetProperty("deltas").EnumerateArray().ToList();
    }

    private static async Task<string> LatestCursorAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/delta/latest_cursor", null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cursor").GetString()!;
    }

    [Fact]
    public async Task Yes_sends_the_organizer_an_iMIP_REPLY_and_the_event_and_the_change_feed_show_the_answer()
    {
        var attendee = await host.ConnectWithSmtpAsync("rsvp");
        string organizer = TestStack.NewMailbox("org");
        var invitation = await DeliverInvitationAsync(attendee.Email, organizer);
        using var http = host.Client(attendee.Token);
        var evt = await WaitForEventAsync(http, invitation.Title);
        string eventId = evt.GetProperty("id").GetString()!;
        Assert.Equal("noreply", Participant(evt, attendee.Email).GetProperty("status").GetString());
        string cursor = await LatestCursorAsync(http);

        var answered = await OkAsync(await RsvpAsync(http, Answer(eventId, "yes", "Count me in; I will bring the Q2 numbers.")));
        Assert.Equal(eventId, answered.GetProperty("id").GetString());
        Assert.Equal("event", answered.GetProperty("object").GetString());
        Assert.Equal("yes", Participant(answered, attendee.Email).GetProperty("status").GetString());
        Assert.Equal("Count me in; I will bring the Q2 numbers.", Participant(answered, attendee.Email).GetProperty("comment").GetString());

        // Delivered by Postfix into the organizer's INBOX: a reply to the invitation, for people and for calendars.
        var reply = await WaitForMessageAsync(organizer, $"Accepted: {invitation.Title}");
        Assert.Equal(attendee.Email, reply.From.Mailboxes.Single().Address);
        Assert.Equal(organizer, reply.To.Mailboxes.Single().Address);
        Assert.Equal(invitation.MessageId, reply.InReplyTo);
        Assert.Contains("has accepted the invitation", reply.TextBody);
        Assert.Contains("Count me in", reply.TextBody);
        var (calendar, vevent, part) = CalendarOf(reply);
        Assert.Equal("REPLY", part.ContentType.Parameters["method"]);
        Assert.Equal("REPLY", calendar.Method);
        Assert.Equal(invitation.Uid, vevent.Uid);
        Assert.Equal(2, vevent.Sequence);
        Assert.Equal($"mailto:{organizer}", vevent.Organizer!.Value!.ToString(), ignoreCase: true);
        var me = Assert.Single(vevent.Attendees);
        Assert.Equal($"mailto:{attendee.Email}", me.Value!.ToString(), ignoreCase: true);
        Assert.Equal("ACCEPTED", me.ParticipationStatus);
        Assert.Equal("Count me in; I will bring the Q2 numbers.", Assert.Single(vevent.Comments));
        Assert.Equal(Start, vevent.DtStart!.AsUtc);

        // The event shows the answer; the change feed has it once, with the new status in its attributes.
        var stored = await http.GetFromJsonAsync<JsonElement>($"/events/{eventId}");
        Assert.Equal("yes", Participant(stored, attendee.Email).GetProperty("status").GetString());
        Assert.Equal(evt.GetProperty("message_id").GetString(), stored.GetProperty("message_id").GetString());
        var modified = (await DeltasSinceAsync(http, cursor))
            .Where(d => d.GetProperty("object").GetString() == "event" && d.GetProperty("id").GetString() == eventId).ToList();
        var delta = Assert.Single(modified);
        Assert.Equal("modify", delta.GetProperty("event").GetString());
        Assert.Equal("yes", Participant(delta.GetProperty("attributes"), attendee.Email).GetProperty("status").GetString());

        // The subscribed application hears of it: an event.updated webhook for the event.
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(host.EventUpdates(eventId).Count > 0), Timeout));

        // Sent like any message: one copy in the account's Sent folder.
        Assert.Single(await TestStack.ReadFolderAsync(attendee.Email, "Sent", $"Accepted: {invitation.Title}"));

        // Changing the answer: maybe is TENTATIVE, no is DECLINED; each reaches the organizer.
        foreach (var (status, partStat, subject) in new[] { ("maybe", "TENTATIVE", "Tentatively accepted: "), ("no", "DECLINED", "Declined: ") })
        {
            var changed = await OkAsync(await RsvpAsync(http, Answer(eventId, status)));
            Assert.Equal(status, Participant(changed, attendee.Email).GetProperty("status").GetString());
            Assert.Equal(JsonValueKind.Null, Participant(changed, attendee.Email).GetProperty("comment").ValueKind);
            var (_, answer, _) = CalendarOf(await WaitForMessageAsync(organizer, subject + invitation.Title));
            Assert.Equal(invitation.Uid, answer.Uid);
            Assert.Equal(partStat, Assert.Single(answer.Attendees).ParticipationStatus);
            Assert.Empty(answer.Comments);
        }

        // The answer already given, again: answered with the event, nothing sent (no second copy in Sent).
        var again = await OkAsync(await RsvpAsync(http, Answer(eventId, "no")));
        Assert.Equal("no", Participant(again, attendee.Email).GetProperty("status").GetString());
        Assert.Single(await TestStack.ReadFolderAsync(attendee.Email, "Sent", $"Declined: {invitation.Title}"));
    }

    [Fact]
    public async Task Bad_input_and_events_that_cannot_be_answered_are_4xx_naming_why_and_send_nothing()
    {
        var attendee = await host.ConnectWithSmtpAsync("rbad");
        string organizer = TestStack.NewMailbox("orgb");
        using var http = host.Client(attendee.Token);
        async Task<string> BadAsync(JsonObject body, HttpStatusCode status = HttpStatusCode.BadRequest)
            => (await ApiErrors.AssertAsync(await RsvpAsync(http, body), status)).GetProperty("message").GetString()!;

        var invitation = await DeliverInvitationAsync(attendee.Email, organizer);
        string eventId = (await WaitForEventAsync(http, invitation.Title)).GetProperty("id").GetString()!;

        Assert.Contains("event_id", await BadAsync(new JsonObject { ["status"] = "yes" }));
        Assert.Contains("event_id", await BadAsync(new JsonObject { ["event_id"] = "NOT AN ID", ["status"] = "yes" }));
        Assert.Contains("status", await BadAsync(new JsonObject { ["event_id"] = eventId }));
        Assert.Contains("\"perhaps\"", await BadAsync(Answer(eventId, "perhaps")));
        Assert.Contains("status", await BadAsync(new JsonObject { ["event_id"] = eventId, ["status"] = 1 }));
        Assert.Contains("comment", await BadAsync(new JsonObject { ["event_id"] = eventId, ["status"] = "yes", ["comment"] = 5 }));
        Assert.Contains("Couldn't find event", await BadAsync(Answer("0000000000000000000000000", "yes"), HttpStatusCode.NotFound));
        using (var raw = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"))
            await ApiErrors.AssertAsync(await http.PostAsync("/send-rsvp", raw), HttpStatusCode.BadRequest);

        // Another account's event is not found, never answered.
        var other = await host.ConnectWithSmtpAsync("roth");
        var foreign = await DeliverInvitationAsync(other.Email, organizer);
        using (var otherHttp = host.Client(other.Token))
        {
            string foreignId = (await WaitForEventAsync(otherHttp, foreign.Title)).GetProperty("id").GetString()!;
            Assert.Contains(foreignId, await BadAsync(Answer(foreignId, "yes"), HttpStatusCode.NotFound));
        }

        // An invitation addressed to someone else (the account was Bcc'd or it was forwarded).
        var notMine = await DeliverInvitationAsync(attendee.Email, organizer, attendee: "colleague@example.com");
        Assert.Contains("among the participants", await BadAsync(Answer((await WaitForEventAsync(http, notMine.Title)).GetProperty("id").GetString()!, "yes")));

        // An event without an organizer: there is no one to answer.
        string title = $"Open house {Guid.NewGuid():N}"[..22];
        var calendar = new TextPart("calendar")
        {
            Text = string.Join("\r\n", "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Nylas tests//EN", "METHOD:PUBLISH", "BEGIN:VEVENT",
                $"UID:{Guid.NewGuid():N}@example.com", "DTSTAMP:20270301T000000Z", "DTSTART:20270310T120000Z", "DTEND:20270310T130000Z",
                $"SUMMARY:{title}", $"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{attendee.Email}", "END:VEVENT", "END:VCALENDAR", ""),
        };
        var published = TestStack.SimpleMessage(attendee.Email, $"Invitation: {title}", from: $"Boss <{organizer}>");
        published.Body = new MultipartAlternative { new TextPart("plain") { Text = title }, calendar };
        await TestStack.AppendAsync(attendee.Email, published);
        Assert.Contains("no organizer", await BadAsync(Answer((await WaitForEventAsync(http, title)).GetProperty("id").GetString()!, "yes")));

        // A cancelled event, and the account's own event.
        var cancelled = await DeliverInvitationAsync(attendee.Email, organizer, method: "CANCEL");
        Assert.Contains("cancelled", await BadAsync(Answer((await WaitForEventAsync(http, cancelled.Title)).GetProperty("id").GetString()!, "no")));
        var own = await DeliverInvitationAsync(attendee.Email, attendee.Email);
        Assert.Contains("organized by this account", await BadAsync(Answer((await WaitForEventAsync(http, own.Title)).GetProperty("id").GetString()!, "yes")));

        // An account connected without SMTP settings cannot send the reply.
        var (noSmtpEmail, noSmtpToken, _) = await host.ConnectNewAccountAsync();
        var unsendable = await DeliverInvitationAsync(noSmtpEmail, organizer);
        using (var noSmtp = host.Client(noSmtpToken))
        {
            string unsendableId = (await WaitForEventAsync(noSmtp, unsendable.Title)).GetProperty("id").GetString()!;
            var error = await ApiErrors.AssertAsync(await RsvpAsync(noSmtp, Answer(unsendableId, "yes")), HttpStatusCode.BadRequest);
            Assert.Contains("SMTP", error.GetProperty("message").GetString());
        }

        // None of it reached the organizer or changed the event.
        Assert.Empty(await TestStack.ReadFolderAsync(organizer, "INBOX", "Accepted:"));
        Assert.Empty(await TestStack.ReadFolderAsync(organizer, "INBOX", "Declined:"));
        Assert.Empty(await TestStack.ReadFolderAsync(attendee.Email, "Sent", invitation.Title));
        Assert.Equal("noreply", Participant(await http.GetFromJsonAsync<JsonElement>($"/events/{eventId}"), attendee.Email).GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_organizer_the_SMTP_server_refuses_is_a_402_and_a_refused_login_a_403_and_the_answer_is_not_recorded()
    {
        var attendee = await host.ConnectWithSmtpAsync("rref");
        using var http = host.Client(attendee.Token);
        // The test Postfix delivers only to example.com and says so at RCPT TO.
        var far = await DeliverInvitationAsync(attendee.Email, "organizer@elsewhere.test");
        string farId = (await WaitForEventAsync(http, far.Title)).GetProperty("id").GetString()!;
        var refused = await ApiErrors.AssertAsync(await RsvpAsync(http, Answer(farId, "yes")), HttpStatusCode.PaymentRequired);
        Assert.Equal("message_rejected", refused.GetProperty("type").GetString());
        Assert.Contains("organizer@elsewhere.test", refused.GetProperty("message").GetString());
        Assert.StartsWith("550", refused.GetProperty("server_error").GetString());
        Assert.Equal("noreply", Participant(await http.GetFromJsonAsync<JsonElement>($"/events/{farId}"), attendee.Email).GetProperty("status").GetString());

        // The SMTP password changed at the provider: Postfix refuses the login.
        string organizer = TestStack.NewMailbox("orgr");
        var near = await DeliverInvitationAsync(attendee.Email, organizer);
        string nearId = (await WaitForEventAsync(http, near.Title)).GetProperty("id").GetString()!;
        var accounts = host.App.Services.GetRequiredService<AccountStore>();
        long accountRow = await host.Databases.AccountRowIdAsync(attendee.AccountId);
        var secrets = await accounts.GetSecretsAsync(accountRow);
        await accounts.UpdateSecretsAsync(accountRow, secrets with { SmtpPassword = "changed-elsewhere" });
        var login = await ApiErrors.AssertAsync(await RsvpAsync(http, Answer(nearId, "maybe")), HttpStatusCode.Forbidden);
        Assert.Equal("invalid_credentials", login.GetProperty("type").GetString());
        Assert.Equal("noreply", Participant(await http.GetFromJsonAsync<JsonElement>($"/events/{nearId}"), attendee.Email).GetProperty("status").GetString());
        Assert.Empty(await TestStack.ReadFolderAsync(organizer, "INBOX", near.Title));
        Assert.Empty(await TestStack.ReadFolderAsync(attendee.Email, "Sent", near.Title));
    }
}
