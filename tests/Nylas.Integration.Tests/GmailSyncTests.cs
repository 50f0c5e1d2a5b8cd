using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>
/// Short safety cycles, so a second recorded session is picked up within a few seconds. No mailbox watcher: a
/// recording holds the sync step's commands, not a watcher's (its probes and IDLE are tested against Dovecot).
/// </summary>
public sealed class GmailHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "2";
        settings["Nylas:Watch:Enabled"] = "false";
    }
}

/// <summary>
/// Gmail (X-GM-EXT-1) end to end: the real sync engine and API against Gmail's IMAP responses, recorded in
/// Recorded/gmail/*.txt and replayed by <see cref="RecordedImapServer"/> (Gmail cannot run here; Dovecot has no
/// Gmail extension). session1: labels INBOX, Work, Receipts and the [Gmail] folders; All Mail holds five messages,
/// two in one Gmail thread, and one of them is also in Trash. session2: Lunch archived and labelled Work,
/// the invoice moved to Trash, the digest's copy in Trash deleted forever (it is still in All Mail).
/// </summary>
public class GmailSyncTests(GmailHostFixture host, ITestOutputHelper output) : IClassFixture<GmailHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private static readonly string[] SyncedMailboxes = ["[Gmail]/All Mail", "[Gmail]/Trash", "[Gmail]/Spam"];

    private static string Recorded(string name) => Path.Combine(AppContext.BaseDirectory, "Recorded", "gmail", name);

    [Fact]
    public async Task A_gmail_account_has_labels_gmail_threads_and_syncs_only_all_mail_trash_and_spam()
    {
        await using var gmail = RecordedImapServer.Start(Recorded("session1.txt"));
        var (token, _) = await ConnectAsync(gmail, "labels.first@gmail.com");
        using var http = host.Client(token);
        // The digest's Trash copy is linked by X-GM-MSGID, or (when the All Mail copy is not ingested yet) ingested as the same bytes.
        var messages = await WaitForMessagesAsync(gmail, http, list => list.Count == 5 && LabelNames(Subject(list, "Your weekly digest")).Contains("trash"));

        var account = await http.GetFromJsonAsync<JsonElement>("/account");
        Assert.Equal("label", account.GetProperty("organization_unit").GetString());

        var labels = await http.GetFromJsonAsync<JsonElement>("/labels");
        var byName = labels.EnumerateArray().ToDictionary(l => l.GetProperty("display_name").GetString()!, l => l.GetProperty("name").GetString());
        Assert.All(labels.EnumerateArray(), l => Assert.Equal("label", l.GetProperty("object").GetString()));
        Assert.Equal("inbox", byName["INBOX"]);
        Assert.Equal("all", byName["[Gmail]/All Mail"]);
        Assert.Equal("trash", byName["[Gmail]/Trash"]);
        Assert.Equal("spam", byName["[Gmail]/Spam"]);
        Assert.Equal("sent", byName["[Gmail]/Sent Mail"]);
        Assert.Equal("drafts", byName["[Gmail]/Drafts"]);
        Assert.Equal("important", byName["[Gmail]/Important"]);
        Assert.Equal("starred", byName["[Gmail]/Starred"]);
        Assert.Null(byName["Work"]);
        Assert.Null(byName["Receipts"]);
        Assert.DoesNotContain("[Gmail]", byName.Keys);

        var folders = await http.GetAsync("/folders");
        Assert.Equal(HttpStatusCode.NotFound, folders.StatusCode);
        Assert.Equal("invalid_request_error", (await folders.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());

        // Labels: the synced folder the message is in (All Mail, Trash) plus its X-GM-LABELS; no folder key.
        Assert.All(messages, m => Assert.False(m.TryGetProperty("folder", out _), $"a label account's message has a folder key: {m}"));
        Assert.Equal(["Work", "all", "important", "inbox"], LabelNames(Subject(messages, "Quarterly plan")));
        Assert.Equal(["Work", "all", "sent"], LabelNames(Subject(messages, "My notes on the plan")));
        Assert.Equal(["all", "inbox"], LabelNames(Subject(messages, "Lunch on Friday?")));
        Assert.Equal(["Receipts", "all", "inbox"], LabelNames(Subject(messages, "Invoice 2291")));

        // The same X-GM-MSGID in All Mail and in Trash is one message with both labels.
        Assert.Equal(["all", "inbox", "trash"], LabelNames(Subject(messages, "Your weekly digest")));

        // X-GM-THRID groups a reply that shares no header with its thread, and nothing else.
        string planThread = Subject(messages, "Quarterly plan").GetProperty("thread_id").GetString()!;
        Assert.Equal(planThread, Subject(messages, "My notes on the plan").GetProperty("thread_id").GetString());
        Assert.Equal(4, messages.Select(m => m.GetProperty("thread_id").GetString()).Distinct().Count());

        // In the mirror: six locations (the digest twice) of five messages, four Gmail threads.
        long accountRow = await host.Databases.ScalarAsync("global", "SELECT id FROM accounts WHERE email_address = 'labels.first@gmail.com'");
        string shard = "shard" + await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountRow}");
        Assert.Equal(5, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM messages WHERE account_id = {accountRow}"));
        Assert.Equal(6, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM imap_uids WHERE account_id = {accountRow}"));
        Assert.Equal(4, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM thread_gmail_ids WHERE account_id = {accountRow}"));
        // Gmail has no Sent folder to sync: the \Sent label makes a message sent mail (the thread's last_message_sent_timestamp).
        Assert.Equal(1, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM messages WHERE account_id = {accountRow} AND is_sent = 1"));
        Assert.Equal(1, await host.Databases.ScalarAsync(shard, $"SELECT is_sent FROM messages WHERE account_id = {accountRow} AND subject = 'My notes on the plan'"));
        Assert.Equal(await host.Databases.ScalarAsync(shard, $"SELECT date_unix FROM messages WHERE account_id = {accountRow} AND subject = 'My notes on the plan'"),
            await host.Databases.ScalarAsync(shard, $"SELECT t.last_sent_unix FROM threads t JOIN messages m ON m.thread_id = t.id WHERE m.account_id = {accountRow} AND m.subject = 'My notes on the plan'"));

        Assert.NotEmpty(gmail.Selected);
        Assert.All(gmail.Selected, mailbox => Assert.Contains(mailbox, SyncedMailboxes));
        Assert.Contains("[Gmail]/Trash", gmail.Selected);
        Assert.Contains("[Gmail]/Spam", gmail.Selected);
        gmail.ThrowIfUnexpected();
    }

    [Fact]
    public async Task Label_changes_a_move_to_trash_and_a_deletion_from_trash_in_a_later_session_reach_the_api()
    {
        await using var gmail = RecordedImapServer.Start(Recorded("session1.txt"));
        var (token, _) = await ConnectAsync(gmail, "labels.second@gmail.com");
        using var http = host.Client(token);
        var before = await WaitForMessagesAsync(gmail, http, list => list.Count == 5 && LabelNames(Subject(list, "Your weekly digest")).Contains("trash"));
        string invoiceId = Subject(before, "Invoice 2291").GetProperty("id").GetString()!;
        string lunchId = Subject(before, "Lunch on Friday?").GetProperty("id").GetString()!;
        string digestId = Subject(before, "Your weekly digest").GetProperty("id").GetString()!;

        // Gmail a little later: HIGHESTMODSEQ moved, Lunch archived and labelled Work, the invoice in Trash,
        // the digest gone from Trash but still in All Mail.
        gmail.Replay(Recorded("session2.txt"));
        var after = await WaitForMessagesAsync(gmail, http, list =>
            LabelNames(Subject(list, "Lunch on Friday?")).SequenceEqual(["Work", "all"])
            && LabelNames(Subject(list, "Invoice 2291")).SequenceEqual(["Receipts", "trash"])
            && LabelNames(Subject(list, "Your weekly digest")).SequenceEqual(["all", "inbox"]));

        Assert.Equal(5, after.Count);

        Assert.Equal(invoiceId, Subject(after, "Invoice 2291").GetProperty("id").GetString());
        Assert.Equal(lunchId, Subject(after, "Lunch on Friday?").GetProperty("id").GetString());
        Assert.Equal(digestId, Subject(after, "Your weekly digest").GetProperty("id").GetString());
        Assert.Equal(["Work", "all", "important", "inbox"], LabelNames(Subject(after, "Quarterly plan")));
        Assert.All(gmail.Selected, mailbox => Assert.Contains(mailbox, SyncedMailboxes));
        gmail.ThrowIfUnexpected();
    }

    [Fact]
    public async Task Label_writes_reach_gmail_as_x_gm_labels_and_moves_and_labels_are_created_renamed_and_deleted()
    {
        // session1's mailbox, answering the writes too.
        await using var gmail = RecordedImapServer.Start(Recorded("writes.txt"));
        var (token, _) = await ConnectAsync(gmail, "labels.writer@gmail.com");
        using var http = host.Client(token);
        var before = await WaitForMessagesAsync(gmail, http, list => list.Count == 5 && LabelNames(Subject(list, "Your weekly digest")).Contains("trash"));
        var labels = (await http.GetFromJsonAsync<JsonElement>("/labels")).EnumerateArray()
            .ToDictionary(l => l.GetProperty("name").GetString() ?? l.GetProperty("display_name").GetString()!, l => l.GetProperty("id").GetString()!);
        var lunch = Subject(before, "Lunch on Friday?");
        var invoice = Subject(before, "Invoice 2291");

        // Archive Lunch and label it Work: -\Inbox, +Work, one job. The answer shows the new labels at once.
        var archived = await PutOkAsync(http, $"/messages/{lunch.GetProperty("id").GetString()}", new JsonObject
        {
            ["label_ids"] = new JsonArray(labels["all"], labels["Work"]),
        });
        Assert.Equal(["Work", "all"], LabelNames(archived));
        string archiveJob = archived.GetProperty("job_status_id").GetString()!;

        // The invoice to Trash: a move from All Mail (the labels it keeps stay on it there, as Gmail keeps them).
        var trashed = await PutOkAsync(http, $"/messages/{invoice.GetProperty("id").GetString()}", new JsonObject
        {
            ["label_ids"] = new JsonArray(labels["trash"], labels["Receipts"], labels["inbox"]),
        });
        Assert.Contains("trash", LabelNames(trashed));
        string trashJob = trashed.GetProperty("job_status_id").GetString()!;

        await WaitForJobsAsync(gmail, http, archiveJob, trashJob);
        Assert.Contains(gmail.Commands, c => c == @"UID STORE 103 -X-GM-LABELS.SILENT (\Inbox)");
        Assert.Contains(gmail.Commands, c => c == "UID STORE 103 +X-GM-LABELS.SILENT (Work)");
        Assert.Contains(gmail.Commands, c => c == "UID MOVE 104 \"[Gmail]/Trash\"");

        // Applied: the labels stay as written when later syncs find nothing changed (HIGHESTMODSEQ did not move in the
        // replay; the invoice's new place is not replayed, so only the labels are checked after it).
        await AwaitFreshSessionAsync(gmail);
        var after = await WaitForMessagesAsync(gmail, http, list => LabelNames(Subject(list, "Lunch on Friday?")).SequenceEqual(["Work", "all"]));
        Assert.Equal(lunch.GetProperty("id").GetString(), Subject(after, "Lunch on Friday?").GetProperty("id").GetString());

        // Changing Gmail's own labels is refused with the reason; unknown labels are named.
        var sent = await http.PutAsync($"/messages/{lunch.GetProperty("id").GetString()}", Body(new JsonObject { ["label_ids"] = new JsonArray(labels["all"], labels["Work"], labels["sent"]) }));
        Assert.Equal(HttpStatusCode.BadRequest, sent.StatusCode);
        Assert.Contains("sent label", (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        var unknown = await http.PutAsync($"/messages/{lunch.GetProperty("id").GetString()}", Body(new JsonObject { ["label_ids"] = new JsonArray("nosuchlabel") }));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("nosuchlabel", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());

        // A label is a mailbox on Gmail: CREATE, RENAME, DELETE. The server lists the new label while it exists.
        // Each state is replayed from the next session on; the write waits for a session that began after the switch.
        gmail.Replay(WithLabel("Travel"));
        await AwaitFreshSessionAsync(gmail);
        var created = await PostOkAsync(http, "/labels", new JsonObject { ["display_name"] = "Travel" });
        Assert.Equal("label", created.GetProperty("object").GetString());
        string labelId = created.GetProperty("id").GetString()!;
        await WaitForJobsAsync(gmail, http, created.GetProperty("job_status_id").GetString()!);
        Assert.Contains(gmail.Commands, c => c == "CREATE Travel");

        gmail.Replay(WithLabel("Trips"));
        await AwaitFreshSessionAsync(gmail);
        var renamed = await PutOkAsync(http, $"/labels/{labelId}", new JsonObject { ["display_name"] = "Trips" });
        await WaitForJobsAsync(gmail, http, renamed.GetProperty("job_status_id").GetString()!);
        Assert.Contains(gmail.Commands, c => c == "RENAME Travel Trips");

        gmail.Replay(Recorded("writes.txt"));
        await AwaitFreshSessionAsync(gmail);
        using var deleted = await http.DeleteAsync($"/labels/{labelId}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        await WaitForJobsAsync(gmail, http, (await deleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("job_status_id").GetString()!);
        Assert.Contains(gmail.Commands, c => c == "DELETE Trips");
        Assert.DoesNotContain((await http.GetFromJsonAsync<JsonElement>("/labels")).EnumerateArray(), l => l.GetProperty("id").GetString() == labelId);
        gmail.ThrowIfUnexpected();
    }

    /// <summary>writes.txt with the user label <paramref name="name"/> in its folder list, written next to it (its message files are relative).</summary>
    private static string WithLabel(string name)
    {
        string text = File.ReadAllText(Recorded("writes.txt")).Replace(
            "S: * STATUS \"Work\" (UIDVALIDITY 12)\n",
            $"S: * STATUS \"Work\" (UIDVALIDITY 12)\nS: * LIST (\\HasNoChildren \\Subscribed) \"/\" \"{name}\"\nS: * STATUS \"{name}\" (UIDVALIDITY 21)\n",
            StringComparison.Ordinal);
        string path = Recorded($"writes-{name}.txt");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Waits for the sync to log in again: steps run one at a time, so every later step replays the current transcript.</summary>
    private static async Task AwaitFreshSessionAsync(RecordedImapServer gmail)
    {
        int logins = gmail.Commands.Count(c => c.StartsWith("AUTHENTICATE", StringComparison.Ordinal));
        Assert.NotNull(await TestStack.WaitUntilAsync(
            () => Task.FromResult(gmail.Commands.Count(c => c.StartsWith("AUTHENTICATE", StringComparison.Ordinal)) > logins), Timeout));
    }

    private static StringContent Body(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "text/plain");

    private static async Task<JsonElement> PutOkAsync(HttpClient http, string path, JsonObject body)
    {
        using var response = await http.PutAsync(path, Body(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> PostOkAsync(HttpClient http, string path, JsonObject body)
    {
        using var response = await http.PostAsync(path, Body(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task WaitForJobsAsync(RecordedImapServer gmail, HttpClient http, params string[] jobs)
    {
        List<string> states = [];
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            gmail.ThrowIfUnexpected();
            states = [];
            foreach (string job in jobs) states.Add((await http.GetFromJsonAsync<JsonElement>($"/job-statuses/{job}")).GetProperty("status").GetString()!);
            return states.All(s => s != "pending");
        }, Timeout);
        gmail.ThrowIfUnexpected();
        Assert.True(elapsed.HasValue && states.All(s => s == "successful"), $"jobs: {string.Join(", ", states)}; commands:\n" + string.Join("\n", gmail.Commands));
    }

    [Fact]
    public async Task A_folder_account_has_folders_and_no_labels()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "on dovecot"));
        using var http = host.Client(token);
        var messages = await WaitForMessagesAsync(null, http, list => list.Count == 1);

        Assert.Equal("folder", (await http.GetFromJsonAsync<JsonElement>("/account")).GetProperty("organization_unit").GetString());
        Assert.Equal("INBOX", messages[0].GetProperty("folder").GetProperty("display_name").GetString());
        Assert.False(messages[0].TryGetProperty("labels", out _));
        var labels = await http.GetAsync("/labels");
        Assert.Equal(HttpStatusCode.NotFound, labels.StatusCode);
        Assert.Equal("invalid_request_error", (await labels.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/folders")).StatusCode);
    }

    /// <summary>Connects an account on the replay server: plain IMAP, password login, as a Gmail app password would.</summary>
    private async Task<(string Token, string AccountId)> ConnectAsync(RecordedImapServer gmail, string email)
    {
        var body = new JsonObject
        {
            ["email_address"] = email,
            ["name"] = "Nylas Replay",
            ["provider"] = "imap",
            ["settings"] = new JsonObject
            {
                ["imap_host"] = "127.0.0.1",
                ["imap_port"] = gmail.Port,
                ["imap_username"] = email,
                ["imap_password"] = "app-password",
                ["imap_security"] = "none",
            },
        };
        using var app = host.AppClient();
        using var response = await app.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        gmail.ThrowIfUnexpected();
        Assert.True(response.IsSuccessStatusCode, $"connect failed: {(int)response.StatusCode} {text}");
        var json = JsonNode.Parse(text)!;
        return (json["access_token"]!.GetValue<string>(), json["id"]!.GetValue<string>());
    }

    private async Task<List<JsonElement>> WaitForMessagesAsync(RecordedImapServer? gmail, HttpClient http, Func<List<JsonElement>, bool> done)
    {
        List<JsonElement> messages = [];
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            gmail?.ThrowIfUnexpected();
            messages = (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray().ToList();
            try { return done(messages); }
            catch (InvalidOperationException) { return false; } // a message not there yet
        }, Timeout);
        gmail?.ThrowIfUnexpected();
        Assert.True(elapsed.HasValue, "the messages did not reach the expected state; last seen:\n" + string.Join("\n", messages.Select(m => m.ToString())));
        output.WriteLine($"reached the expected state after {elapsed.Value.TotalMilliseconds:F0} ms");
        return messages;
    }

    private static JsonElement Subject(List<JsonElement> messages, string subject)
        => messages.Single(m => m.GetProperty("subject").GetString() == subject);

    /// <summary>Role names for system labels, display names for the user's own; sorted.</summary>
    private static List<string> LabelNames(JsonElement message)
        => message.GetProperty("labels").EnumerateArray()
            .Select(l => l.GetProperty("name").GetString() ?? l.GetProperty("display_name").GetString()!)
            .Order(StringComparer.Ordinal).ToList();
}
