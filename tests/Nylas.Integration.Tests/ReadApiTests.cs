using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailKit;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MimeKit.Utils;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// One mailbox, filled once: a two-message conversation, a message with an attachment and an invitation;
/// plus a second, empty account to check that nothing of the first leaks to it.
/// </summary>
public class ReadApiFixture : LocalHostFixture, IAsyncLifetime
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);
    public static readonly byte[] Pdf = Encoding.ASCII.GetBytes("%PDF-1.4\n% read api test\n%%EOF\n");
    public const string PdfName = "Résumé 2027.pdf";

    public (string Email, string Token, string AccountId) A { get; private set; }
    public (string Email, string Token, string AccountId) B { get; private set; }

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        A = await ConnectNewAccountAsync();
        B = await ConnectNewAccountAsync();

        var root = Message(A.Email, "Budget 2027", "Alice Adams <alice@example.org>", 0, "The numbers are in.");
        root.MessageId = $"{Guid.NewGuid():N}@example.org";
        root.Cc.Add(new MailboxAddress("Dave", "dave@example.org"));
        root.Bcc.Add(new MailboxAddress("", "Erin@Example.org"));
        var reply = Message(A.Email, "Re: Budget 2027", "Bob Smith <bob_smith@example.org>", 1, "Looks good to me.");
        reply.InReplyTo = root.MessageId;
        reply.References.Add(root.MessageId);
        var withFile = Message(A.Email, "Signed contract", "Carol <carol@example.org>", 2, "See attached");
        var builder = new BodyBuilder { TextBody = "See attached" };
        builder.Attachments.Add(PdfName, Pdf, new ContentType("application", "pdf"));
        withFile.Body = builder.ToMessageBody();
        var invitation = Invitation(A.Email, 3);

        await TestStack.AppendAsync(A.Email, root, MessageFlags.Seen);
        await TestStack.AppendAsync(A.Email, reply);
        await TestStack.AppendAsync(A.Email, withFile, MessageFlags.Seen | MessageFlags.Flagged);
        await TestStack.AppendAsync(A.Email, invitation, MessageFlags.Seen);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountMessagesAsync(A.Token) == 4, TimeSpan.FromSeconds(60)));
    }

    private static MimeMessage Message(string to, string subject, string from, int hour, string body)
    {
        var m = TestStack.SimpleMessage(to, subject, body, from);
        m.Date = T0.AddHours(hour);
        return m;
    }

    private static MimeMessage Invitation(string to, int hour)
    {
        var message = Message(to, "Invitation: Quarterly review", "Boss <boss@example.org>", hour, "");
        message.Body = TestStack.InvitationBody(to, "Quarterly review", "Room 4", new DateTime(2026, 12, 3, 15, 0, 0, DateTimeKind.Utc), "Quarterly review");
        message.MessageId = MimeUtils.GenerateMessageId("example.org");
        return message;
    }
}

/// <summary>GET /threads, /contacts, /calendars, /events, /files in their v2 shapes, filtered, paged and scoped to the token's account.</summary>
public partial class ReadApiTests(ReadApiFixture host) : IClassFixture<ReadApiFixture>
{
    private static long Unix(int hours) => ReadApiFixture.T0.AddHours(hours).ToUnixTimeSeconds();

    private async Task<JsonElement> GetAsync(string path, string? token = null)
    {
        using var http = host.Client(token ?? host.A.Token);
        using var response = await http.GetAsync(path);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task<List<JsonElement>> ListAsync(string path, string? token = null) => (await GetAsync(path, token)).EnumerateArray().ToList();

    private async Task<long> CountAsync(string path, string? token = null)
        => (await GetAsync(path + (path.Contains('?') ? "&" : "?") + "view=count", token)).GetProperty("count").GetInt64();

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();

    private async Task<JsonElement> ThreadAsync(string subject)
        => (await ListAsync("/threads")).Single(t => t.GetProperty("subject").GetString() == subject);

    [Fact]
    public async Task Threads_are_listed_newest_first_in_the_v2_shape()
    {
        var threads = await ListAsync("/threads");
        Assert.Equal(["Invitation: Quarterly review", "Signed contract", "Budget 2027"], threads.Select(t => t.GetProperty("subject").GetString()));

        var budget = threads[2];
        Assert.Equal("thread", budget.GetProperty("object").GetString());
        Assert.Equal(host.A.AccountId, budget.GetProperty("account_id").GetString());
        Assert.Equal(Unix(0), budget.GetProperty("first_message_timestamp").GetInt64());
        Assert.Equal(Unix(1), budget.GetProperty("last_message_timestamp").GetInt64());
        Assert.Equal(Unix(1), budget.GetProperty("last_message_received_timestamp").GetInt64());
        Assert.Contains("Looks good", budget.GetProperty("snippet").GetString());
        var participants = budget.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("email").GetString()).ToList();
        Assert.Contains("alice@example.org", participants);
        Assert.Contains("bob_smith@example.org", participants);
        Assert.True(budget.GetProperty("unread").GetBoolean()); // the reply is unseen
        Assert.False(budget.GetProperty("starred").GetBoolean());
        Assert.False(budget.GetProperty("has_attachments").GetBoolean());
        Assert.True(budget.GetProperty("version").GetInt32() >= 1);
        Assert.Equal(2, budget.GetProperty("message_ids").GetArrayLength());
        Assert.Equal(0, budget.GetProperty("draft_ids").GetArrayLength());
        // A folder account: folders, and no labels key (the SDK would send label_ids on save).
        Assert.False(budget.TryGetProperty("labels", out _));
        Assert.Equal("inbox", Assert.Single(budget.GetProperty("folders").EnumerateArray()).GetProperty("name").GetString());

        // message_ids are the thread's messages, oldest first.
        var messages = await ListAsync("/messages");
        var byId = messages.ToDictionary(m => m.GetProperty("id").GetString()!);
        var ids = Strings(budget.GetProperty("message_ids"));
        Assert.Equal(["Budget 2027", "Re: Budget 2027"], ids.Select(id => byId[id].GetProperty("subject").GetString()));
        Assert.All(ids, id => Assert.Equal(budget.GetProperty("id").GetString(), byId[id].GetProperty("thread_id").GetString()));

        var contract = threads[1];
        Assert.True(contract.GetProperty("has_attachments").GetBoolean());
        Assert.True(contract.GetProperty("starred").GetBoolean());
        Assert.False(contract.GetProperty("unread").GetBoolean());
    }

    [Fact]
    public async Task A_thread_is_read_by_id_and_expanded_with_its_messages_without_bodies()
    {
        var budget = await ThreadAsync("Budget 2027");
        string id = budget.GetProperty("id").GetString()!;
        var one = await GetAsync($"/threads/{id}");
        Assert.Equal(budget.ToString(), one.ToString());

        var expanded = await GetAsync($"/threads/{id}?view=expanded");
        Assert.False(expanded.TryGetProperty("message_ids", out _));
        var messages = expanded.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(Strings(budget.GetProperty("message_ids")), messages.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal("Bob Smith", messages[1].GetProperty("from")[0].GetProperty("name").GetString());
        Assert.All(messages, m => Assert.False(m.TryGetProperty("body", out _)));
        Assert.Equal(0, expanded.GetProperty("drafts").GetArrayLength());

        var listExpanded = await ListAsync("/threads?view=expanded&limit=1");
        Assert.Equal("Quarterly review", Assert.Single(Assert.Single(listExpanded).GetProperty("messages").EnumerateArray()).GetProperty("events")[0].GetProperty("title").GetString());
    }

    [Fact]
    public async Task Thread_filters_select_the_matching_conversations()
    {
        string inbox = (await ListAsync("/folders")).Single(f => f.GetProperty("name").GetString() == "inbox").GetProperty("id").GetString()!;
        async Task<List<string?>> Subjects(string query)
            => (await ListAsync("/threads?" + query)).Select(t => t.GetProperty("subject").GetString()).ToList();

        Assert.Equal(["Budget 2027"], await Subjects("subject=Budget%202027"));
        Assert.Empty(await Subjects("subject=Budget"));
        Assert.Equal(["Budget 2027"], await Subjects("from=ALICE@example.org"));
        Assert.Empty(await Subjects("from=carol@example.net"));
        Assert.Equal(3, (await Subjects($"to={Uri.EscapeDataString(host.A.Email)}")).Count);
        Assert.Equal(["Budget 2027"], await Subjects("any_email=bob_smith@example.org"));
        // _ is a wildcard to JSON_SEARCH: it must match only itself.
        Assert.Empty(await Subjects("any_email=bobXsmith@example.org"));
        Assert.Equal(["Signed contract", "Budget 2027"], await Subjects("any_email=nobody@example.org,carol@example.org&any_email=alice@example.org"));
        Assert.Equal(3, (await Subjects("in=inbox")).Count);
        Assert.Equal(3, (await Subjects("in=INBOX")).Count);
        Assert.Equal(3, (await Subjects($"in={inbox}")).Count);
        Assert.Empty(await Subjects("in=Archive"));
        Assert.Equal(["Budget 2027"], await Subjects("unread=true"));
        Assert.Equal(["Invitation: Quarterly review", "Signed contract"], await Subjects("unread=false"));
        Assert.Equal(["Signed contract"], await Subjects("starred=true"));
        Assert.Equal(["Invitation: Quarterly review", "Signed contract"], await Subjects($"last_message_after={Unix(1)}"));
        Assert.Equal(["Budget 2027"], await Subjects($"last_message_before={Unix(2)}"));
        Assert.Equal(["Budget 2027"], await Subjects($"started_before={Unix(1)}"));

        Assert.Equal(3, await CountAsync("/threads"));
        Assert.Equal(2, await CountAsync("/threads?unread=false"));
        var all = Strings(await GetAsync("/threads?view=ids"));
        Assert.Equal((await ListAsync("/threads")).Select(t => t.GetProperty("id").GetString()), all);
        Assert.Equal(all.Skip(1).Take(1), Strings(await GetAsync("/threads?view=ids&limit=1&offset=1")));
        Assert.Equal(all.Skip(2), (await ListAsync("/threads?offset=2")).Select(t => t.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Contacts_are_the_addresses_seen_in_mail()
    {
        var contacts = await ListAsync("/contacts");
        var bob = contacts.Single(c => c.GetProperty("email").GetString() == "bob_smith@example.org");
        Assert.Equal("contact", bob.GetProperty("object").GetString());
        Assert.Equal(host.A.AccountId, bob.GetProperty("account_id").GetString());
        Assert.Equal("Bob Smith", bob.GetProperty("name").GetString());
        Assert.Equal(0, bob.GetProperty("phone_numbers").GetArrayLength());
        Assert.Contains(contacts, c => c.GetProperty("email").GetString() == "alice@example.org");
        Assert.Contains(contacts, c => c.GetProperty("email").GetString() == "carol@example.org");

        Assert.Equal(bob.ToString(), (await GetAsync($"/contacts/{bob.GetProperty("id").GetString()}")).ToString());
        Assert.Equal(bob.ToString(), Assert.Single(await ListAsync("/contacts?email=Bob_Smith@example.org")).ToString());
        Assert.Empty(await ListAsync("/contacts?email=bob@example.org"));
        Assert.Equal(contacts.Count, await CountAsync("/contacts"));
        Assert.Equal(1, await CountAsync("/contacts?email=alice@example.org"));
        Assert.Equal(contacts.Select(c => c.GetProperty("id").GetString()), Strings(await GetAsync("/contacts?view=ids")));
        Assert.Equal(contacts.Skip(1).Take(2).Select(c => c.GetProperty("id").GetString()), (await ListAsync("/contacts?limit=2&offset=1")).Select(c => c.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Invitations_are_kept_in_a_read_only_calendar()
    {
        var calendar = Assert.Single(await ListAsync("/calendars"));
        Assert.Equal("calendar", calendar.GetProperty("object").GetString());
        Assert.Equal(host.A.AccountId, calendar.GetProperty("account_id").GetString());
        Assert.False(string.IsNullOrEmpty(calendar.GetProperty("name").GetString()));
        Assert.True(calendar.GetProperty("read_only").GetBoolean());
        Assert.Equal(calendar.ToString(), (await GetAsync($"/calendars/{calendar.GetProperty("id").GetString()}")).ToString());
        Assert.Equal(1, await CountAsync("/calendars"));
        Assert.Equal([calendar.GetProperty("id").GetString()!], Strings(await GetAsync("/calendars?view=ids")));
    }

    [Fact]
    public async Task Files_are_listed_filtered_and_downloaded_byte_for_byte()
    {
        var messages = await ListAsync("/messages");
        string contract = messages.Single(m => m.GetProperty("subject").GetString() == "Signed contract").GetProperty("id").GetString()!;
        string budget = messages.Single(m => m.GetProperty("subject").GetString() == "Budget 2027").GetProperty("id").GetString()!;

        var file = Assert.Single(await ListAsync("/files"));
        Assert.Equal("file", file.GetProperty("object").GetString());
        Assert.Equal(host.A.AccountId, file.GetProperty("account_id").GetString());
        Assert.Equal(ReadApiFixture.PdfName, file.GetProperty("filename").GetString());
        Assert.Equal("application/pdf", file.GetProperty("content_type").GetString());
        Assert.Equal(ReadApiFixture.Pdf.Length, file.GetProperty("size").GetInt64());
        Assert.Equal("attachment", file.GetProperty("content_disposition").GetString());
        Assert.Equal([contract], Strings(file.GetProperty("message_ids")));
        string id = file.GetProperty("id").GetString()!;
        Assert.Equal(file.ToString(), (await GetAsync($"/files/{id}")).ToString());

        Assert.Single(await ListAsync($"/files?filename={Uri.EscapeDataString(ReadApiFixture.PdfName)}"));
        Assert.Empty(await ListAsync("/files?filename=Resume.pdf"));
        Assert.Single(await ListAsync("/files?content_type=application/pdf"));
        Assert.Empty(await ListAsync("/files?content_type=image/png"));
        Assert.Single(await ListAsync($"/files?message_id={contract}"));
        Assert.Empty(await ListAsync($"/files?message_id={budget}"));
        Assert.Equal(1, await CountAsync("/files"));
        Assert.Equal(0, await CountAsync("/files?content_type=text/plain"));
        Assert.Equal([id], Strings(await GetAsync("/files?view=ids")));

        using var http = host.Client(host.A.Token);
        using var download = await http.GetAsync($"/files/{id}/download");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
        var disposition = download.Content.Headers.ContentDisposition!;
        Assert.Equal("attachment", disposition.DispositionType);
        Assert.Equal(ReadApiFixture.PdfName, disposition.FileNameStar); // RFC 5987: the non-ASCII name intact
        Assert.Equal(ReadApiFixture.Pdf, await download.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Events_are_listed_in_the_v2_shape_and_filtered()
    {
        string calendar = (await ListAsync("/calendars"))[0].GetProperty("id").GetString()!;
        string invitation = (await ListAsync("/messages")).Single(m => m.GetProperty("subject").GetString() == "Invitation: Quarterly review").GetProperty("id").GetString()!;
        long start = new DateTimeOffset(2026, 12, 3, 15, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

        var e = Assert.Single(await ListAsync("/events"));
        Assert.Equal("event", e.GetProperty("object").GetString());
        Assert.Equal(host.A.AccountId, e.GetProperty("account_id").GetString());
        Assert.Equal(calendar, e.GetProperty("calendar_id").GetString());
        Assert.Equal(invitation, e.GetProperty("message_id").GetString());
        Assert.Equal("Quarterly review", e.GetProperty("title").GetString());
        Assert.Equal("Room 4", e.GetProperty("location").GetString());
        Assert.Equal("Boss <boss@example.org>", e.GetProperty("owner").GetString());
        Assert.Equal("confirmed", e.GetProperty("status").GetString());
        Assert.True(e.GetProperty("read_only").GetBoolean());
        Assert.True(e.GetProperty("busy").GetBoolean());
        var me = e.GetProperty("participants").EnumerateArray().Single(p => p.GetProperty("email").GetString() == host.A.Email);
        Assert.Equal("noreply", me.GetProperty("status").GetString());
        var when = e.GetProperty("when");
        Assert.Equal("timespan", when.GetProperty("object").GetString());
        Assert.Equal(start, when.GetProperty("start_time").GetInt64());
        Assert.Equal(start + 3600, when.GetProperty("end_time").GetInt64());
        string id = e.GetProperty("id").GetString()!;
        Assert.Equal(e.ToString(), (await GetAsync($"/events/{id}")).ToString());

        Assert.Single(await ListAsync($"/events?calendar_id={calendar}"));
        Assert.Empty(await ListAsync("/events?calendar_id=0123456789abcdefghij"));
        Assert.Single(await ListAsync("/events?title=quarterly"));
        Assert.Empty(await ListAsync("/events?title=Offsite"));
        Assert.Single(await ListAsync($"/events?starts_after={start - 1}"));
        Assert.Empty(await ListAsync($"/events?starts_after={start}"));
        Assert.Single(await ListAsync($"/events?ends_before={start + 3601}"));
        Assert.Empty(await ListAsync($"/events?ends_before={start + 3600}"));
        Assert.Single(await ListAsync("/events?show_cancelled=true"));
        Assert.Equal(1, await CountAsync("/events"));
        Assert.Equal(0, await CountAsync($"/events?starts_after={start}"));
        Assert.Equal([id], Strings(await GetAsync("/events?view=ids")));
        Assert.Empty(await ListAsync("/events?offset=1"));
    }

    [Fact]
    public async Task Another_accounts_token_sees_none_of_it()
    {
        var lists = new Dictionary<string, List<JsonElement>>();
        foreach (string list in new[] { "/messages", "/threads", "/contacts", "/calendars", "/events", "/files", "/folders" })
            lists[list] = await ListAsync(list);
        string First(string list) => lists[list][0].GetProperty("id").GetString()!;
        // Every id of account A: none may appear in anything account B's token is answered.
        var ids = lists.Values.SelectMany(l => l).Select(o => o.GetProperty("id").GetString()!).ToList();
        ids.Add(host.A.AccountId);

        // One or more requests per account GET route; the route table is checked against this list below.
        var samples = new Dictionary<string, string[]>
        {
            ["/account"] = ["/account"],
            ["/messages"] = ["/messages", "/messages?view=ids", "/messages?view=count", "/messages?in=inbox", "/messages?subject=Budget%202027"],
            ["/messages/search"] = ["/messages/search?q=budget"],
            ["/messages/{id}"] = [$"/messages/{First("/messages")}", $"/messages/{First("/messages")},{lists["/messages"][1].GetProperty("id").GetString()}"],
            // A has no draft in this read-only fixture (DraftTests checks another account's draft by its id): A's message
            // ids are not drafts to B either.
            ["/drafts"] = ["/drafts", "/drafts?view=ids", "/drafts?view=count", "/drafts?to=alice@example.org"],
            ["/drafts/{id}"] = [$"/drafts/{First("/messages")}"],
            ["/threads"] = ["/threads", "/threads?view=expanded", "/threads?from=alice@example.org"],
            ["/threads/search"] = ["/threads/search?q=budget"],
            ["/threads/{id}"] = [$"/threads/{First("/threads")}"],
            ["/contacts"] = ["/contacts", "/contacts?email=alice@example.org"],
            ["/contacts/{id}"] = [$"/contacts/{First("/contacts")}"],
            ["/calendars"] = ["/calendars"],
            ["/calendars/{id}"] = [$"/calendars/{First("/calendars")}"],
            ["/events"] = ["/events", $"/events?calendar_id={First("/calendars")}"],
            ["/events/{id}"] = [$"/events/{First("/events")}"],
            ["/files"] = ["/files", $"/files?message_id={lists["/files"][0].GetProperty("message_ids")[0].GetString()}"],
            ["/files/{id}"] = [$"/files/{First("/files")}"],
            ["/files/{id}/download"] = [$"/files/{First("/files")}/download"],
            ["/folders"] = ["/folders"],
            ["/folders/{id}"] = [$"/folders/{First("/folders")}"],
            ["/labels"] = ["/labels"],
            ["/labels/{id}"] = [$"/labels/{First("/folders")}"],
            // B's change feed from its beginning: none of A's objects, even with their attributes.
            ["/delta"] = ["/delta?cursor=0", "/delta?cursor=0&view=expanded"],
            ["/delta/longpoll"] = ["/delta/longpoll?cursor=0&timeout=1"],
            ["/delta/streaming"] = ["/delta/streaming?cursor=0&timeout=1"],
            // This read-only fixture makes no writes, so A has no job status to look for: the routes answer B's own (none).
            ["/job-statuses"] = ["/job-statuses"],
            ["/job-statuses/{id}"] = ["/job-statuses/0000000000000000000000000"],
            // Likewise no outbox items (OutboxTests checks B against A's own scheduled message, with every method).
            ["/outbox"] = ["/outbox"],
            ["/outbox/{id}"] = ["/outbox/0000000000000000000000000"],
            ["/v2/outbox"] = ["/v2/outbox"],
            ["/v2/outbox/{id}"] = ["/v2/outbox/0000000000000000000000000"],
        };
        var accountGetRoutes = host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Where(p => !p.StartsWith("/a/") && !p.Contains("{*") && p is not ("/health" or "/openapi.json"));
        Assert.Empty(accountGetRoutes.Except(samples.Keys)); // a new account route: add it above

        using var b = host.Client(host.B.Token);
        foreach (var (route, paths) in samples)
            foreach (string path in paths)
            {
                using var response = await b.GetAsync(path);
                string text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode} {text}");
                // (A 404 names the id it was asked for, so the ids in the path don't count.)
                Assert.True(!ids.Where(id => !path.Contains(id)).Any(text.Contains), $"{path} showed account B one of A's ids: {text}");
                // An object of A's, by its id, is simply not found (findMultiple: an empty list).
                if (route.Contains("{id}") && !path.Contains(','))
                    Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
            }
        foreach (string list in new[] { "/messages", "/threads", "/contacts", "/calendars", "/events", "/files" })
        {
            Assert.Empty(await ListAsync(list, host.B.Token));
            Assert.Equal(0, await CountAsync(list, host.B.Token));
        }

        // Writes that name an object of A's by id in their body: not found for B (POST /send-rsvp answers A's invitation).
        using var rsvp = await b.PostAsync("/send-rsvp", new StringContent($"{{\"event_id\":\"{First("/events")}\",\"status\":\"yes\"}}"));
        string rsvpText = await rsvp.Content.ReadAsStringAsync();
        Assert.True(rsvp.StatusCode == HttpStatusCode.NotFound, $"POST /send-rsvp with A's event: {(int)rsvp.StatusCode} {rsvpText}");
        Assert.Equal("noreply", (await GetAsync($"/events/{First("/events")}")).GetProperty("participants")[0].GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/threads?no_such_filter=1", HttpStatusCode.BadRequest)]
    [InlineData("/threads?limit=100000", HttpStatusCode.BadRequest)]
    [InlineData("/threads?unread=maybe", HttpStatusCode.BadRequest)]
    [InlineData("/threads?last_message_after=yesterday", HttpStatusCode.BadRequest)]
    [InlineData("/threads?subject=", HttpStatusCode.BadRequest)]
    [InlineData("/threads?in=a&in=b", HttpStatusCode.BadRequest)]
    [InlineData("/threads/NOT-AN-ID", HttpStatusCode.BadRequest)]
    [InlineData("/threads/abc'%20OR%201=1", HttpStatusCode.BadRequest)]
    [InlineData("/threads/abc?subject=x", HttpStatusCode.BadRequest)]
    [InlineData("/threads/0123456789abcdefghij", HttpStatusCode.NotFound)]
    [InlineData("/contacts?filter=x", HttpStatusCode.BadRequest)]
    [InlineData("/contacts?limit=1001", HttpStatusCode.BadRequest)]
    [InlineData("/contacts/BAD_ID", HttpStatusCode.BadRequest)]
    [InlineData("/contacts/0123456789abcdefghij", HttpStatusCode.NotFound)]
    [InlineData("/calendars?name=x", HttpStatusCode.BadRequest)]
    [InlineData("/calendars?offset=-1", HttpStatusCode.BadRequest)]
    [InlineData("/calendars/BAD!", HttpStatusCode.BadRequest)]
    [InlineData("/calendars/0123456789abcdefghij", HttpStatusCode.NotFound)]
    [InlineData("/events?expand_recurring=true", HttpStatusCode.BadRequest)]
    [InlineData("/events?starts_after=tomorrow", HttpStatusCode.BadRequest)]
    [InlineData("/events?show_cancelled=sometimes", HttpStatusCode.BadRequest)]
    [InlineData("/events?calendar_id=BAD!", HttpStatusCode.BadRequest)]
    [InlineData("/events?limit=100000", HttpStatusCode.BadRequest)]
    [InlineData("/events/BAD-ID", HttpStatusCode.BadRequest)]
    [InlineData("/events/0123456789abcdefghij", HttpStatusCode.NotFound)]
    [InlineData("/files?message_id=NOT-AN-ID", HttpStatusCode.BadRequest)]
    [InlineData("/files?size=3", HttpStatusCode.BadRequest)]
    [InlineData("/files?limit=100000", HttpStatusCode.BadRequest)]
    [InlineData("/files/BAD-ID", HttpStatusCode.BadRequest)]
    [InlineData("/files/BAD-ID/download", HttpStatusCode.BadRequest)]
    [InlineData("/files/0123456789abcdefghij", HttpStatusCode.NotFound)]
    [InlineData("/files/0123456789abcdefghij/download", HttpStatusCode.NotFound)]
    [InlineData("/messages?no_such_filter=1", HttpStatusCode.BadRequest)]
    [InlineData("/messages?q=budget", HttpStatusCode.BadRequest)]
    [InlineData("/messages?unread=maybe", HttpStatusCode.BadRequest)]
    [InlineData("/messages?received_after=yesterday", HttpStatusCode.BadRequest)]
    [InlineData("/messages?received_after=200&received_before=100", HttpStatusCode.BadRequest)]
    [InlineData("/messages?received_after=100&received_before=100", HttpStatusCode.BadRequest)]
    [InlineData("/messages?last_message_after=100&last_message_before=101", HttpStatusCode.BadRequest)]
    [InlineData("/messages?started_after=5&started_before=1", HttpStatusCode.BadRequest)]
    [InlineData("/messages?thread_id=NOT-AN-ID", HttpStatusCode.BadRequest)]
    [InlineData("/messages?from=", HttpStatusCode.BadRequest)]
    [InlineData("/messages?filename=a&filename=b", HttpStatusCode.BadRequest)]
    [InlineData("/messages?any_email=,,", HttpStatusCode.BadRequest)]
    [InlineData("/messages?limit=1001", HttpStatusCode.BadRequest)]
    [InlineData("/messages?view=full", HttpStatusCode.BadRequest)]
    [InlineData("/messages/BAD-ID", HttpStatusCode.BadRequest)]
    [InlineData("/messages/0123456789abcdefghij", HttpStatusCode.NotFound)]
    [InlineData("/messages/0123456789abcdefghij,BAD-ID", HttpStatusCode.BadRequest)]
    [InlineData("/messages/0123456789abcdefghij,0123456789abcdefghik?view=count", HttpStatusCode.BadRequest)]
    [InlineData("/messages/search", HttpStatusCode.BadRequest)]
    [InlineData("/messages/search?q=", HttpStatusCode.BadRequest)]
    [InlineData("/messages/search?q=to%20be%20or", HttpStatusCode.BadRequest)]
    [InlineData("/messages/search?q=budget&q=numbers", HttpStatusCode.BadRequest)]
    [InlineData("/messages/search?q=budget&unread=true", HttpStatusCode.BadRequest)]
    [InlineData("/messages/search?q=budget&limit=-1", HttpStatusCode.BadRequest)]
    [InlineData("/threads/search", HttpStatusCode.BadRequest)]
    [InlineData("/threads/search?q=%22%22", HttpStatusCode.BadRequest)]
    [InlineData("/threads?received_after=1", HttpStatusCode.BadRequest)]
    [InlineData("/threads?last_message_after=10&last_message_before=5", HttpStatusCode.BadRequest)]
    public async Task Bad_input_gets_a_4xx_v2_error_never_a_500(string path, HttpStatusCode expected)
    {
        using var http = host.Client(host.A.Token);
        await ApiErrors.AssertAsync(await http.GetAsync(path), expected);
    }

    [Fact]
    public async Task Too_many_any_email_addresses_is_a_400()
    {
        string many = string.Join(',', Enumerable.Range(0, 26).Select(i => $"u{i}@example.org"));
        using var http = host.Client(host.A.Token);
        await ApiErrors.AssertAsync(await http.GetAsync($"/threads?any_email={many}"), HttpStatusCode.BadRequest);
    }

}
