using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MailKit.Search;
using MimeKit;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// /drafts against the real Dovecot and Postfix: each save is one copy in the server's Drafts folder that an independent
/// IMAP client reads, stale versions are refused, drafts made elsewhere are drafts here, replies thread, files attach,
/// and a saved draft is sent once and leaves Drafts on both sides.
/// </summary>
public class DraftTests(SendFixture host) : IClassFixture<SendFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>What the v2 SDK's draft.save() sends on create: every writable field, empty ones included, as text/plain JSON.</summary>
    private static JsonObject Draft(string subject, string html, params string[] to) => new()
    {
        ["subject"] = subject,
        ["body"] = html,
        ["to"] = new JsonArray(to.Select(t => (JsonNode)new JsonObject { ["name"] = "Receiver", ["email"] = t }).ToArray()),
        ["cc"] = new JsonArray(),
        ["bcc"] = new JsonArray(),
        ["from"] = new JsonArray(),
        ["reply_to"] = new JsonArray(),
        ["date"] = null,
        ["events"] = new JsonArray(),
        ["labels"] = new JsonArray(),
        ["reply_to_message_id"] = null,
        ["file_ids"] = new JsonArray(),
        ["metadata"] = new JsonObject(),
    };

    /// <summary>What draft.save() sends on update: the same, plus what the server answered echoed back (a folder without its id).</summary>
    private static JsonObject Echo(JsonElement saved, string subject, string html, string to)
    {
        var body = Draft(subject, html, to);
        body["version"] = saved.GetProperty("version").GetInt32();
        body["thread_id"] = saved.GetProperty("thread_id").GetString();
        body["snippet"] = saved.GetProperty("snippet").GetString();
        body["unread"] = false;
        body["starred"] = false;
        body["folder"] = new JsonObject { ["name"] = "drafts", ["display_name"] = "Drafts" };
        body["metadata"] = JsonNode.Parse(saved.GetProperty("metadata").GetRawText());
        return body;
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "text/plain");

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response, string what)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{what}: {(int)response.StatusCode} {text}");
        response.Dispose();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> CreateAsync(HttpClient http, JsonObject body) => await OkAsync(await http.PostAsync("/drafts", Json(body)), "POST /drafts");

    private static async Task<HttpResponseMessage> DeleteAsync(HttpClient http, string id, int version)
        => await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/drafts/{id}") { Content = Json(new JsonObject { ["version"] = version }) });

    /// <summary>The messages in the user's Drafts folder carrying this draft's X-INBOX-ID (any version), read by an IMAP client of its own.</summary>
    private static async Task<List<(MimeMessage Message, MessageFlags Flags)>> ServerCopiesAsync(string user, string draftId, string folderName = "Drafts")
    {
        using var client = await TestStack.ConnectImapAsync(user);
        var folder = await client.GetFolderAsync(folderName);
        await folder.OpenAsync(FolderAccess.ReadOnly);
        var found = new List<(MimeMessage, MessageFlags)>();
        var uids = await folder.SearchAsync(SearchQuery.HeaderContains("X-INBOX-ID", draftId + "-"));
        foreach (var summary in uids.Count == 0 ? [] : await folder.FetchAsync(uids, MessageSummaryItems.Flags | MessageSummaryItems.UniqueId))
        {
            try
            {
                found.Add((await folder.GetMessageAsync(summary.UniqueId), summary.Flags ?? MessageFlags.None));
            }
            catch (Exception ex) when (ex is FormatException or MessageNotFoundException)
            {
                // Expunged by syncback between the search and the fetch: that copy is going.
            }
        }
        await client.DisconnectAsync(true);
        return found;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
        => Assert.True(await TestStack.WaitUntilAsync(condition, Timeout) is not null, what);

    private static async Task<JsonElement[]> ListAsync(HttpClient http, string path) => (await http.GetFromJsonAsync<JsonElement[]>(path))!;

    private static string Id(JsonElement e) => e.GetProperty("id").GetString()!;

    [Fact]
    public async Task A_draft_saved_updated_and_deleted_is_one_copy_in_Drafts_that_another_client_sees()
    {
        var box = await host.ConnectWithSmtpAsync("drf");
        using var http = host.Client(box.Token);
        string subject = $"Draft plan {Guid.NewGuid():N}";
        // Once the folder list is mirrored a new draft shows in Drafts at once (before, it shows in no folder until it is there).
        await WaitAsync(async () => (await ListAsync(http, "/folders")).Any(f => f.GetProperty("name").GetString() == "drafts"), "no Drafts folder");

        var firstBody = Draft(subject, "<p>first words</p>", "anna@example.com");
        firstBody["metadata"] = new JsonObject { ["ticket"] = "T-7" };
        var created = await CreateAsync(http, firstBody);
        string id = Id(created);
        Assert.Equal("T-7", created.GetProperty("metadata").GetProperty("ticket").GetString());
        Assert.Equal(id, Id((await ListAsync(http, "/drafts?metadata_pair=ticket:T-7")).Single()));
        Assert.Equal("draft", created.GetProperty("object").GetString());
        Assert.Equal(0, created.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("reply_to_message_id").ValueKind);
        Assert.Equal(subject, created.GetProperty("subject").GetString());
        Assert.Equal(box.Email, created.GetProperty("from")[0].GetProperty("email").GetString());
        Assert.Equal("anna@example.com", created.GetProperty("to")[0].GetProperty("email").GetString());
        Assert.Contains("first words", created.GetProperty("body").GetString());
        Assert.False(string.IsNullOrEmpty(created.GetProperty("thread_id").GetString()));
        Assert.Equal("drafts", created.GetProperty("folder").GetProperty("name").GetString());
        Assert.Equal(id, Id((await ListAsync(http, $"/drafts?subject={Uri.EscapeDataString(subject)}")).Single()));
        Assert.Equal(1, (await http.GetFromJsonAsync<JsonElement>("/drafts?view=count")).GetProperty("count").GetInt32());
        Assert.Empty(await ListAsync(http, $"/messages?subject={Uri.EscapeDataString(subject)}"));
        await ApiErrors.AssertAsync(await http.GetAsync($"/messages/{id}"), HttpStatusCode.NotFound);

        await WaitAsync(async () => (await ServerCopiesAsync(box.Email, id)).Count == 1, "the draft did not reach the server's Drafts folder");
        var (first, flags) = Assert.Single(await ServerCopiesAsync(box.Email, id));
        Assert.Equal($"{id}-0", first.Headers["X-INBOX-ID"]);
        Assert.True(flags.HasFlag(MessageFlags.Draft) && flags.HasFlag(MessageFlags.Seen), $"flags {flags}");
        Assert.Contains("first words", first.HtmlBody);

        // Three updates in a row, each naming the version the previous one answered.
        var saved = created;
        for (int i = 1; i <= 3; i++)
        {
            saved = await OkAsync(await http.PutAsync($"/drafts/{id}", Json(Echo(saved, subject, $"<p>version {i}</p>", "anna@example.com"))), $"PUT {i}");
            Assert.Equal(id, Id(saved));
            Assert.Equal(i, saved.GetProperty("version").GetInt32());
            Assert.Contains($"version {i}", saved.GetProperty("body").GetString());
            Assert.Equal("T-7", saved.GetProperty("metadata").GetProperty("ticket").GetString());
        }

        // A stale version changes nothing: a 409 naming the current one.
        var stale = await ApiErrors.AssertAsync(await http.PutAsync($"/drafts/{id}", Json(Echo(created, subject, "<p>lost</p>", "anna@example.com"))), HttpStatusCode.Conflict);
        Assert.Equal("invalid_request_error", stale.GetProperty("type").GetString());
        Assert.Contains("version 3", stale.GetProperty("message").GetString());
        var noVersion = Draft(subject, "x", "anna@example.com");
        Assert.Contains("version", (await ApiErrors.AssertAsync(await http.PutAsync($"/drafts/{id}", Json(noVersion)), HttpStatusCode.BadRequest)).GetProperty("message").GetString());
        Assert.Contains("version 3", (await http.GetFromJsonAsync<JsonElement>($"/drafts/{id}")).GetProperty("body").GetString());

        // On the server: exactly one copy, the last version, with its own Message-ID.
        bool lastOnly = await TestStack.WaitUntilAsync(async () => await ServerCopiesAsync(box.Email, id) is [var only] && only.Message.Headers["X-INBOX-ID"] == $"{id}-3", Timeout) is not null;
        Assert.True(lastOnly, "the server's Drafts folder does not hold exactly the last version: "
            + string.Join(", ", (await ServerCopiesAsync(box.Email, id)).Select(c => c.Message.Headers["X-INBOX-ID"])) + "; jobs " + await http.GetStringAsync("/job-statuses"));
        var (last, _) = Assert.Single(await ServerCopiesAsync(box.Email, id));
        Assert.Contains("version 3", last.HtmlBody);
        Assert.NotEqual(first.MessageId, last.MessageId);

        // Another client's draft appended after ours: once /drafts shows it, the sync has been through Drafts past our copy,
        // and ours is still the one draft with its id and version (linked, not taken for a new one).
        var other = TestStack.SimpleMessage("bob@example.com", $"Elsewhere {subject}", "written in another client", box.Email);
        await TestStack.AppendAsync(box.Email, other, MessageFlags.Draft | MessageFlags.Seen, "Drafts");
        await WaitAsync(async () => (await ListAsync(http, "/drafts")).Length == 2, "the other client's draft did not show in /drafts");
        var drafts = await ListAsync(http, "/drafts");
        var ours = drafts.Single(d => Id(d) == id);
        Assert.Equal(3, ours.GetProperty("version").GetInt32());
        Assert.Equal("drafts", ours.GetProperty("folder").GetProperty("name").GetString());
        Assert.Empty(await ListAsync(http, $"/messages?subject={Uri.EscapeDataString(subject)}"));

        // The change feed names it a draft, never a message.
        var deltas = (await http.GetFromJsonAsync<JsonElement>("/delta?cursor=0")).GetProperty("deltas").EnumerateArray().ToList();
        Assert.Contains(deltas, d => d.GetProperty("id").GetString() == id && d.GetProperty("object").GetString() == "draft");
        Assert.DoesNotContain(deltas, d => d.GetProperty("id").GetString() == id && d.GetProperty("object").GetString() != "draft");

        // Delete: a stale version is refused, the right one removes it here and on the server.
        await ApiErrors.AssertAsync(await DeleteAsync(http, id, 2), HttpStatusCode.Conflict);
        await OkAsync(await DeleteAsync(http, id, 3), "DELETE /drafts");
        await ApiErrors.AssertAsync(await http.GetAsync($"/drafts/{id}"), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await DeleteAsync(http, id, 3), HttpStatusCode.NotFound);
        await WaitAsync(async () => (await ServerCopiesAsync(box.Email, id)).Count == 0, "the deleted draft is still in the server's Drafts folder");
        Assert.Single(await TestStack.ReadFolderAsync(box.Email, "Drafts", $"Elsewhere {subject}"));
        var after = (await http.GetFromJsonAsync<JsonElement>("/delta?cursor=0")).GetProperty("deltas").EnumerateArray().ToList();
        Assert.Contains(after, d => d.GetProperty("id").GetString() == id && d.GetProperty("object").GetString() == "draft" && d.GetProperty("event").GetString() == "delete");
        Assert.Single(await ListAsync(http, "/drafts"));
    }

    [Fact]
    public async Task An_older_version_met_in_Drafts_is_the_same_draft_and_an_edit_of_the_current_one_is_another()
    {
        var box = await host.ConnectWithSmtpAsync("ver");
        using var http = host.Client(box.Token);
        string subject = $"Versions {Guid.NewGuid():N}";
        var saved = await CreateAsync(http, Draft(subject, "<p>v0</p>", "anna@example.com"));
        string id = Id(saved);
        saved = await OkAsync(await http.PutAsync($"/drafts/{id}", Json(Echo(saved, subject, "<p>v1</p>", "anna@example.com"))), "PUT");
        await WaitAsync(async () => await ServerCopiesAsync(box.Email, id) is [var only] && only.Message.Headers["X-INBOX-ID"] == $"{id}-1", "version 1 did not reach Drafts");
        var (current, _) = Assert.Single(await ServerCopiesAsync(box.Email, id));

        // What the sync meets when it reads Drafts before syncback removed an earlier version: version 0's Message-ID.
        var stale = TestStack.SimpleMessage("anna@example.com", subject, "v0 as it was", box.Email);
        stale.MessageId = current.MessageId!.Replace($"{id}-1@", $"{id}-0@", StringComparison.Ordinal);
        stale.Headers.Add("X-INBOX-ID", $"{id}-0");
        await TestStack.AppendAsync(box.Email, stale, MessageFlags.Draft | MessageFlags.Seen, "Drafts");
        // Another client's edit of the current version that kept its Message-ID: other bytes, a draft of its own.
        var edited = TestStack.SimpleMessage("anna@example.com", $"Edited {subject}", "changed elsewhere", box.Email);
        edited.MessageId = current.MessageId;
        await TestStack.AppendAsync(box.Email, edited, MessageFlags.Draft | MessageFlags.Seen, "Drafts");

        await WaitAsync(async () => (await ListAsync(http, "/drafts")).Length == 2, "the edited copy did not show as a draft of its own");
        var drafts = await ListAsync(http, "/drafts");
        var ours = drafts.Single(d => Id(d) == id);
        Assert.Equal(1, ours.GetProperty("version").GetInt32());
        Assert.Contains("v1", ours.GetProperty("body").GetString());
        var other = drafts.Single(d => Id(d) != id);
        Assert.Equal($"Edited {subject}", other.GetProperty("subject").GetString());
        Assert.Equal(0, other.GetProperty("version").GetInt32());

        // The next save removes the stale copy with the rest: one copy of ours, the other client's edit left alone.
        await OkAsync(await http.PutAsync($"/drafts/{id}", Json(Echo(ours, subject, "<p>v2</p>", "anna@example.com"))), "PUT");
        await WaitAsync(async () => await ServerCopiesAsync(box.Email, id) is [var only] && only.Message.Headers["X-INBOX-ID"] == $"{id}-2",
            "the stale copy was not removed with the earlier version");
        Assert.Single(await TestStack.ReadFolderAsync(box.Email, "Drafts", $"Edited {subject}"));
        Assert.Equal(2, (await ListAsync(http, "/drafts")).Length);
    }

    [Fact]
    public async Task A_draft_made_in_another_client_is_a_draft_not_a_message_and_sits_in_its_thread()
    {
        var box = await host.ConnectWithSmtpAsync("oth");
        using var http = host.Client(box.Token);
        string subject = $"Offsite {Guid.NewGuid():N}";
        var original = TestStack.SimpleMessage(box.Email, subject, "Shall we meet?", "Carol <carol@example.org>");
        original.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("example.org");
        await TestStack.AppendAsync(box.Email, original);
        var reply = TestStack.SimpleMessage("carol@example.org", $"Re: {subject}", "Yes, Tuesday (not finished)", box.Email);
        reply.InReplyTo = original.MessageId;
        reply.References.Add(original.MessageId);
        await TestStack.AppendAsync(box.Email, reply, MessageFlags.Draft | MessageFlags.Seen, "Drafts");
        // Only the \Draft flag marks this one (a client that keeps drafts elsewhere).
        var flagged = TestStack.SimpleMessage("dave@example.org", $"Flagged {subject}", "draft by flag", box.Email);
        await TestStack.AppendAsync(box.Email, flagged, MessageFlags.Draft);

        await WaitAsync(async () => (await ListAsync(http, "/drafts")).Length == 2, "the other client's drafts did not show in /drafts");
        var drafts = await ListAsync(http, "/drafts");
        Assert.All(drafts, d => Assert.Equal("draft", d.GetProperty("object").GetString()));
        Assert.All(drafts, d => Assert.Equal(0, d.GetProperty("version").GetInt32()));
        var replyDraft = drafts.Single(d => d.GetProperty("subject").GetString() == $"Re: {subject}");
        Assert.Contains(drafts, d => d.GetProperty("subject").GetString() == $"Flagged {subject}");
        var messages = await ListAsync(http, "/messages");
        Assert.Equal([subject], messages.Select(m => m.GetProperty("subject").GetString()!).ToArray());
        Assert.Equal(1, (await http.GetFromJsonAsync<JsonElement>("/messages?view=count")).GetProperty("count").GetInt32());
        Assert.Equal(1, (await http.GetFromJsonAsync<JsonElement>("/drafts?view=count&to=carol@example.org")).GetProperty("count").GetInt32());
        await ApiErrors.AssertAsync(await http.GetAsync("/drafts?from=a@example.org"), HttpStatusCode.BadRequest);

        // Its thread lists it apart: draft_ids, and drafts with view=expanded.
        string threadId = messages[0].GetProperty("thread_id").GetString()!;
        Assert.Equal(threadId, replyDraft.GetProperty("thread_id").GetString());
        var thread = await http.GetFromJsonAsync<JsonElement>($"/threads/{threadId}");
        Assert.Equal([Id(messages[0])], thread.GetProperty("message_ids").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal([Id(replyDraft)], thread.GetProperty("draft_ids").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var expanded = await http.GetFromJsonAsync<JsonElement>($"/threads/{threadId}?view=expanded");
        Assert.Equal(Id(replyDraft), Id(expanded.GetProperty("drafts").EnumerateArray().Single()));
        Assert.Equal("draft", expanded.GetProperty("drafts")[0].GetProperty("object").GetString());
        Assert.Equal(Id(messages[0]), Id(expanded.GetProperty("messages").EnumerateArray().Single()));

        // A thread update changes its messages, not its drafts (their copy is replaced on each save).
        await OkAsync(await http.PutAsync($"/threads/{threadId}", Json(new JsonObject { ["starred"] = true })), "PUT /threads");
        Assert.True((await http.GetFromJsonAsync<JsonElement>($"/messages/{Id(messages[0])}")).GetProperty("starred").GetBoolean());
        Assert.False((await http.GetFromJsonAsync<JsonElement>($"/drafts/{Id(replyDraft)}")).GetProperty("starred").GetBoolean());
        // One job: the message's star; none for the draft.
        Assert.Equal(["mark_starred"], (await ListAsync(http, "/job-statuses")).Select(j => j.GetProperty("action").GetString()!).ToArray());
    }

    [Fact]
    public async Task A_reply_draft_with_files_joins_the_thread_and_carries_the_files_on_the_server()
    {
        var box = await host.ConnectWithSmtpAsync("rpl");
        var stranger = await host.ConnectWithSmtpAsync("str");
        using var http = host.Client(box.Token);
        using var strangerHttp = host.Client(stranger.Token);
        string subject = $"Invoice {Guid.NewGuid():N}";
        var original = TestStack.SimpleMessage(box.Email, subject, "Please find the invoice.", "Erin <erin@example.org>");
        original.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("example.org");
        await TestStack.AppendAsync(box.Email, original);
        await WaitAsync(async () => (await ListAsync(http, "/messages")).Length == 1, "the original did not sync");
        var message = (await ListAsync(http, "/messages")).Single();

        byte[] pdf = Encoding.ASCII.GetBytes("%PDF-1.4\n% signed copy\n%%EOF\n");
        var part = new ByteArrayContent(pdf);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse("application/pdf");
        var file = (await OkAsync(await http.PostAsync("/files", new MultipartFormDataContent { { part, "file", "signed.pdf" } }), "POST /files"))[0];
        string fileId = Id(file);

        var body = Draft($"Re: {subject}", "<p>Signed, attached.</p>", "erin@example.org");
        body["reply_to_message_id"] = Id(message);
        body["file_ids"] = new JsonArray(fileId);
        var draft = await CreateAsync(http, body);
        string id = Id(draft);
        Assert.Equal(Id(message), draft.GetProperty("reply_to_message_id").GetString());
        Assert.Equal(message.GetProperty("thread_id").GetString(), draft.GetProperty("thread_id").GetString());
        var attached = draft.GetProperty("files").EnumerateArray().Single();
        Assert.Equal(fileId, Id(attached));
        Assert.Equal("signed.pdf", attached.GetProperty("filename").GetString());
        var thread = await http.GetFromJsonAsync<JsonElement>($"/threads/{message.GetProperty("thread_id").GetString()}");
        Assert.Equal([id], thread.GetProperty("draft_ids").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal([Id(message)], thread.GetProperty("message_ids").EnumerateArray().Select(e => e.GetString()!).ToArray());

        // A file a draft uses is not deleted.
        await ApiErrors.AssertAsync(await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/files/{fileId}")), HttpStatusCode.Conflict);

        // On the server: In-Reply-To and References name the original, and the file is attached, byte for byte.
        await WaitAsync(async () => (await ServerCopiesAsync(box.Email, id)).Count == 1, "the reply draft did not reach Drafts");
        var (copy, _) = Assert.Single(await ServerCopiesAsync(box.Email, id));
        Assert.Equal(original.MessageId, copy.InReplyTo);
        Assert.Contains(original.MessageId, copy.References);
        var attachment = Assert.IsType<MimePart>(Assert.Single(copy.Attachments));
        Assert.Equal("signed.pdf", attachment.FileName);
        using (var bytes = new MemoryStream())
        {
            await attachment.Content!.DecodeToAsync(bytes);
            Assert.Equal(pdf, bytes.ToArray());
        }

        // Unknown and foreign ids: 404 naming them, nothing of the other account's shown or changed.
        var unknownFile = Draft("x", "x", "erin@example.org");
        unknownFile["file_ids"] = new JsonArray("0000000000000000000000000");
        Assert.Contains("0000000000000000000000000", (await ApiErrors.AssertAsync(await http.PostAsync("/drafts", Json(unknownFile)), HttpStatusCode.NotFound)).GetProperty("message").GetString());
        var foreignFile = Draft("x", "x", "erin@example.org");
        foreignFile["file_ids"] = new JsonArray(fileId);
        Assert.Contains(fileId, (await ApiErrors.AssertAsync(await strangerHttp.PostAsync("/drafts", Json(foreignFile)), HttpStatusCode.NotFound)).GetProperty("message").GetString());
        var foreignReply = Draft("x", "x", "erin@example.org");
        foreignReply["reply_to_message_id"] = Id(message);
        await ApiErrors.AssertAsync(await strangerHttp.PostAsync("/drafts", Json(foreignReply)), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await strangerHttp.GetAsync($"/drafts/{id}"), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await strangerHttp.PutAsync($"/drafts/{id}", Json(Echo(draft, "hijacked", "x", "erin@example.org"))), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await DeleteAsync(strangerHttp, id, 0), HttpStatusCode.NotFound);
        Assert.Empty(await ListAsync(strangerHttp, "/drafts"));
        var badAddress = Draft("x", "x", "not-an-address");
        Assert.Contains("'not-an-address'", (await ApiErrors.AssertAsync(await http.PostAsync("/drafts", Json(badAddress)), HttpStatusCode.BadRequest)).GetProperty("message").GetString());
        await ApiErrors.AssertAsync(await http.PostAsync("/drafts", new StringContent("{not json", Encoding.UTF8, "text/plain")), HttpStatusCode.BadRequest);
        var unchanged = await http.GetFromJsonAsync<JsonElement>($"/drafts/{id}");
        Assert.Equal($"Re: {subject}", unchanged.GetProperty("subject").GetString());
        Assert.Equal(0, unchanged.GetProperty("version").GetInt32());

        // Dropping the file from the draft lets it be deleted.
        var withoutFile = Echo(draft, $"Re: {subject}", "<p>Signed.</p>", "erin@example.org");
        withoutFile["reply_to_message_id"] = Id(message);
        var updated = await OkAsync(await http.PutAsync($"/drafts/{id}", Json(withoutFile)), "PUT without the file");
        Assert.Empty(updated.GetProperty("files").EnumerateArray());
        Assert.Equal(draft.GetProperty("thread_id").GetString(), updated.GetProperty("thread_id").GetString());
        await OkAsync(await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/files/{fileId}")), "DELETE /files");
    }

    [Fact]
    public async Task A_saved_draft_is_sent_once_and_leaves_Drafts_on_both_sides()
    {
        var sender = await host.ConnectWithSmtpAsync("dsn");
        var receiver = await host.ConnectWithSmtpAsync("drc");
        using var http = host.Client(sender.Token);
        string subject = $"Proposal {Guid.NewGuid():N}";
        byte[] notes = Encoding.UTF8.GetBytes("agenda: one, two, three\n");
        var part = new ByteArrayContent(notes);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse("text/plain");
        string fileId = Id((await OkAsync(await http.PostAsync("/files", new MultipartFormDataContent { { part, "file", "agenda.txt" } }), "POST /files"))[0]);
        var body = Draft(subject, "<p>Here is the <b>proposal</b>.</p>", receiver.Email);
        body["file_ids"] = new JsonArray(fileId);
        var draft = await CreateAsync(http, body);
        string id = Id(draft);
        var update = Echo(draft, subject, "<p>Here is the <b>final</b> proposal.</p>", receiver.Email);
        update["file_ids"] = new JsonArray(fileId);
        await OkAsync(await http.PutAsync($"/drafts/{id}", Json(update)), "PUT");
        await WaitAsync(async () => await ServerCopiesAsync(sender.Email, id) is [var only] && only.Message.Headers["X-INBOX-ID"] == $"{id}-1", "the draft did not reach Drafts");

        var stale = await ApiErrors.AssertAsync(await host.SendJsonAsync(sender.Token, new JsonObject { ["draft_id"] = id, ["version"] = 0 }), HttpStatusCode.Conflict);
        Assert.Contains("version 1", stale.GetProperty("message").GetString());
        // Two sends of it at once (a double click): one sends, the other is refused (being sent) or finds it gone.
        var attempts = await Task.WhenAll(
            host.SendJsonAsync(sender.Token, new JsonObject { ["draft_id"] = id, ["version"] = 1 }),
            host.SendJsonAsync(sender.Token, new JsonObject { ["draft_id"] = id, ["version"] = 1 }));
        var winner = attempts.Single(r => r.StatusCode == HttpStatusCode.OK);
        var loser = attempts.Single(r => r != winner);
        Assert.True(loser.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound, $"second send: {(int)loser.StatusCode} {await loser.Content.ReadAsStringAsync()}");
        var sent = await OkAsync(winner, "POST /send");
        Assert.Equal("message", sent.GetProperty("object").GetString());
        Assert.Equal(subject, sent.GetProperty("subject").GetString());
        Assert.Equal("sent", sent.GetProperty("folder").GetProperty("name").GetString());
        Assert.NotEqual(id, Id(sent));
        Assert.Equal("agenda.txt", sent.GetProperty("files").EnumerateArray().Single().GetProperty("filename").GetString());

        // Delivered, with the file; one copy in Sent; the draft gone from /drafts at once and from Drafts on the server.
        List<MimeMessage> delivered = [];
        await WaitAsync(async () => (delivered = await TestStack.ReadFolderAsync(receiver.Email, "INBOX", subject)).Count == 1, "the draft was not delivered");
        Assert.Contains("<b>final</b>", delivered[0].HtmlBody);
        var attachment = Assert.IsAssignableFrom<MimePart>(Assert.Single(delivered[0].Attachments));
        Assert.Equal("agenda.txt", attachment.FileName);
        Assert.Null(delivered[0].Headers[HeaderId.Bcc]);
        Assert.Single(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
        await ApiErrors.AssertAsync(await http.GetAsync($"/drafts/{id}"), HttpStatusCode.NotFound);
        Assert.Empty(await ListAsync(http, "/drafts"));
        await WaitAsync(async () => (await ServerCopiesAsync(sender.Email, id)).Count == 0, "the sent draft is still in the server's Drafts folder");
        Assert.Equal(Id(sent), Id((await ListAsync(http, $"/messages?subject={Uri.EscapeDataString(subject)}")).Single()));
        await ApiErrors.AssertAsync(await host.SendJsonAsync(sender.Token, new JsonObject { ["draft_id"] = id, ["version"] = 1 }), HttpStatusCode.NotFound);
        Assert.Single(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
        Assert.Single(await TestStack.ReadFolderAsync(receiver.Email, "INBOX", subject));
        // The draft let go of the file when it was sent.
        await OkAsync(await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/files/{fileId}")), "DELETE /files");
    }

    [Fact]
    public async Task A_draft_the_SMTP_server_refuses_is_still_the_same_draft()
    {
        var sender = await host.ConnectWithSmtpAsync("dref");
        using var http = host.Client(sender.Token);
        string subject = $"Refused draft {Guid.NewGuid():N}";
        var draft = await CreateAsync(http, Draft(subject, "<p>to nowhere</p>", "someone@elsewhere.test"));
        string id = Id(draft);

        var refused = await ApiErrors.AssertAsync(await host.SendJsonAsync(sender.Token, new JsonObject { ["draft_id"] = id, ["version"] = 0 }), HttpStatusCode.PaymentRequired);
        Assert.Equal("message_rejected", refused.GetProperty("type").GetString());

        var after = await http.GetFromJsonAsync<JsonElement>($"/drafts/{id}");
        Assert.Equal(0, after.GetProperty("version").GetInt32());
        Assert.Equal(subject, after.GetProperty("subject").GetString());
        Assert.Contains("to nowhere", after.GetProperty("body").GetString());
        await WaitAsync(async () => (await ServerCopiesAsync(sender.Email, id)).Count == 1, "the refused draft is not in the server's Drafts folder");
        Assert.Empty(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
        Assert.Single(await ListAsync(http, "/drafts"));
    }

    [Fact]
    public async Task An_inline_send_attaches_its_file_ids()
    {
        var sender = await host.ConnectWithSmtpAsync("inl");
        var receiver = await host.ConnectWithSmtpAsync("inr");
        using var http = host.Client(sender.Token);
        string subject = $"Photo {Guid.NewGuid():N}";
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4];
        var part = new ByteArrayContent(png);
        part.Headers.ContentType = MediaTypeHeaderValue.Parse("image/png");
        string fileId = Id((await OkAsync(await http.PostAsync("/files", new MultipartFormDataContent { { part, "file", "dot.png" } }), "POST /files"))[0]);
        var body = Draft(subject, "<p>see the picture</p>", receiver.Email);
        body["file_ids"] = new JsonArray(fileId);
        var sent = await OkAsync(await host.SendJsonAsync(sender.Token, body), "POST /send");
        Assert.Equal("dot.png", sent.GetProperty("files").EnumerateArray().Single().GetProperty("filename").GetString());

        List<MimeMessage> delivered = [];
        await WaitAsync(async () => (delivered = await TestStack.ReadFolderAsync(receiver.Email, "INBOX", subject)).Count == 1, "not delivered");
        var attachment = Assert.IsType<MimePart>(Assert.Single(delivered[0].Attachments));
        Assert.Equal("dot.png", attachment.FileName);
        Assert.Equal("image/png", attachment.ContentType.MimeType);
        using var bytes = new MemoryStream();
        await attachment.Content!.DecodeToAsync(bytes);
        Assert.Equal(png, bytes.ToArray());
        // An inline send holds no file: it can be deleted at once.
        await OkAsync(await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/files/{fileId}")), "DELETE /files");
    }
}
