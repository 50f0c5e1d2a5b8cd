using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Nylas.Engine.Accounts;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>A short IDLE (the Sent folder is synced soon after a send), a low recipient cap and a small message limit.</summary>
public class SendFixture : ConnectFixture
{
    public const int MaxRecipients = 5;
    public const int MaxMessageBytes = 64 * 1024;

    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:IdleSeconds"] = "2";
        settings["Nylas:Send:MaxRecipients"] = MaxRecipients.ToString();
        settings["Nylas:Send:MaxMessageBytes"] = MaxMessageBytes.ToString();
    }

    public sealed record Mailbox(string Email, string Token, string AccountId);

    /// <summary>A fresh mailbox connected through native auth with Postfix's submission service as its SMTP server.</summary>
    public async Task<Mailbox> ConnectWithSmtpAsync(string prefix)
    {
        string email = TestStack.NewMailbox(prefix);
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var settings = ImapSettings(email);
        AddSubmission(settings, email, TestStack.ImapPassword);
        var account = await ConnectAsync(email, settings);
        return new Mailbox(email, account.GetProperty("access_token").GetString()!, account.GetProperty("id").GetString()!);
    }

    public async Task<HttpResponseMessage> SendJsonAsync(string token, JsonObject message)
    {
        using var http = Client(token);
        return await PostJsonAsync("/send", message.ToJsonString(), http);
    }

    public async Task<HttpResponseMessage> SendRawAsync(string token, byte[] mime)
    {
        using var http = Client(token);
        var content = new ByteArrayContent(mime);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("message/rfc822");
        return await http.PostAsync("/send", content);
    }
}

/// <summary>
/// POST /send against the real Postfix submission service delivering into Dovecot: delivery, the one copy in Sent
/// with the id the answer gave, replies threaded on both sides, raw MIME, bad input and SMTP refusals.
/// </summary>
public class SendTests(SendFixture host) : IClassFixture<SendFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static JsonObject Message(string subject, string html, params string[] to) => new()
    {
        // What the v2 SDK's draft.send() adds to every body (labels, from and date empty).
        ["subject"] = subject,
        ["body"] = html,
        ["to"] = new JsonArray(to.Select(t => (JsonNode)new JsonObject { ["name"] = "Receiver", ["email"] = t }).ToArray()),
        ["cc"] = new JsonArray(),
        ["bcc"] = new JsonArray(),
        ["from"] = new JsonArray(),
        ["reply_to"] = new JsonArray(),
        ["labels"] = new JsonArray(),
        ["date"] = null,
        ["file_ids"] = new JsonArray(),
        ["events"] = new JsonArray(),
    };

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST /send: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<List<MimeMessage>> WaitForFolderAsync(string user, string folder, string subject, int count = 1)
    {
        List<MimeMessage> found = [];
        Assert.True(await TestStack.WaitUntilAsync(async () => (found = await TestStack.ReadFolderAsync(user, folder, subject)).Count >= count, Timeout) is not null,
            $"{subject} did not arrive in {user}'s {folder}");
        return found;
    }

    private static async Task<JsonElement[]> MessagesAsync(HttpClient http, string subject)
        => (await http.GetFromJsonAsync<JsonElement[]>($"/messages?subject={Uri.EscapeDataString(subject)}"))!;

    [Fact]
    public async Task A_sent_message_arrives_in_the_other_mailbox_and_the_sender_has_one_copy_in_Sent_with_the_id_it_was_answered()
    {
        var sender = await host.ConnectWithSmtpAsync("snd");
        var receiver = await host.ConnectWithSmtpAsync("rcv");
        string subject = $"Quarterly plan {Guid.NewGuid():N}";
        var body = Message(subject, "<p>Hello <b>there</b>,</p><p>the plan: <a href=\"https://example.org/plan\">here</a>.</p>", receiver.Email);
        body["bcc"] = new JsonArray(new JsonObject { ["email"] = "auditor@example.com" });

        var sent = await OkAsync(await host.SendJsonAsync(sender.Token, body));
        string id = sent.GetProperty("id").GetString()!;
        Assert.Equal("message", sent.GetProperty("object").GetString());
        Assert.Equal(subject, sent.GetProperty("subject").GetString());
        Assert.Equal(sender.Email, sent.GetProperty("from")[0].GetProperty("email").GetString());
        Assert.Equal(receiver.Email, sent.GetProperty("to")[0].GetProperty("email").GetString());
        Assert.Equal("auditor@example.com", sent.GetProperty("bcc")[0].GetProperty("email").GetString());
        Assert.Equal("sent", sent.GetProperty("folder").GetProperty("name").GetString());
        Assert.False(sent.GetProperty("unread").GetBoolean());
        Assert.False(string.IsNullOrEmpty(sent.GetProperty("thread_id").GetString()));
        Assert.Contains("<b>there</b>", sent.GetProperty("body").GetString());

        // Delivered by Postfix into the receiver's INBOX: HTML with a text alternative, no Bcc header.
        var delivered = Assert.Single(await WaitForFolderAsync(receiver.Email, "INBOX", subject));
        Assert.Contains("<b>there</b>", delivered.HtmlBody);
        Assert.Contains("the plan: here <https://example.org/plan>.", delivered.TextBody);
        Assert.Empty(delivered.Bcc);
        Assert.Equal(sender.Email, delivered.From.Mailboxes.Single().Address);
        // The Bcc recipient got it too.
        Assert.Single(await WaitForFolderAsync("auditor@example.com", "INBOX", subject));

        // One copy in the sender's Sent folder, seen, with its Bcc; and it is the message the answer named.
        using var imap = await TestStack.ConnectImapAsync(sender.Email);
        var sentFolder = await imap.GetFolderAsync("Sent");
        await sentFolder.OpenAsync(FolderAccess.ReadOnly);
        var uids = await sentFolder.SearchAsync(SearchQuery.SubjectContains(subject));
        var uid = Assert.Single(uids);
        var summary = (await sentFolder.FetchAsync([uid], MessageSummaryItems.Flags | MessageSummaryItems.Envelope)).Single();
        Assert.True(summary.Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.Equal("auditor@example.com", summary.Envelope!.Bcc.Mailboxes.Single().Address);
        await imap.DisconnectAsync(true);

        using var http = host.Client(sender.Token);
        var mine = Assert.Single(await MessagesAsync(http, subject));
        Assert.Equal(id, mine.GetProperty("id").GetString());
        // After the sync has gone past that UID of Sent, still one message, with the same id.
        long shard = await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE public_id = '{sender.AccountId}'");
        long accountRow = await host.Databases.AccountRowIdAsync(sender.AccountId);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.Databases.ScalarAsync($"shard{shard}",
            $"SELECT COALESCE(MAX(synced_high_uid), 0) FROM folders WHERE account_id = {accountRow} AND role = 'sent'") >= uid.Id, Timeout));
        mine = Assert.Single(await MessagesAsync(http, subject));
        Assert.Equal(id, mine.GetProperty("id").GetString());
        Assert.Equal(1, await host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(*) FROM imap_uids u JOIN messages m ON m.id = u.message_id WHERE m.public_id = '{id}'"));
    }

    [Fact]
    public async Task An_account_connected_through_the_management_api_with_smtp_settings_sends()
    {
        // What the README's "Writing and sending" does against ./dev up: POST /a/{client_id}/accounts with smtp_* settings.
        string email = TestStack.NewMailbox("mgs");
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var receiver = await host.ConnectWithSmtpAsync("mgr");
        var body = new JsonObject
        {
            ["email_address"] = email, ["name"] = "Managed", ["provider"] = "imap",
            ["settings"] = new JsonObject
            {
                ["imap_host"] = TestStack.ImapHost, ["imap_port"] = TestStack.ImapsPort, ["imap_security"] = "ssl",
                ["imap_username"] = email, ["imap_password"] = TestStack.ImapPassword, ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
                ["smtp_host"] = TestStack.ImapHost, ["smtp_port"] = TestStack.SubmissionPort, ["smtp_security"] = "starttls",
            },
        };
        using var app = host.AppClient();
        using var connected = await app.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
        string text = await connected.Content.ReadAsStringAsync();
        Assert.True(connected.IsSuccessStatusCode, text);
        string token = JsonDocument.Parse(text).RootElement.GetProperty("access_token").GetString()!;

        string subject = $"Managed send {Guid.NewGuid():N}";
        var sent = await OkAsync(await host.SendJsonAsync(token, Message(subject, "<p>via the management API</p>", receiver.Email)));
        Assert.Equal(subject, sent.GetProperty("subject").GetString());
        await WaitForFolderAsync(receiver.Email, "INBOX", subject);

        // A bad smtp_security is named, and nothing is connected.
        body["email_address"] = TestStack.NewMailbox("mgb");
        body["settings"]!["imap_username"] = body["email_address"]!.GetValue<string>();
        body["settings"]!["smtp_security"] = "tls13";
        using var refused = await app.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("smtp_security", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_reply_lands_in_the_original_thread_on_both_sides()
    {
        var alice = await host.ConnectWithSmtpAsync("ali");
        var bob = await host.ConnectWithSmtpAsync("bob");
        string subject = $"Lunch on Friday {Guid.NewGuid():N}";
        var original = await OkAsync(await host.SendJsonAsync(alice.Token, Message(subject, "<p>Lunch?</p>", bob.Email)));
        string aliceThread = original.GetProperty("thread_id").GetString()!;

        // Bob's mirror has it in his INBOX; he answers it by its id there.
        using var bobHttp = host.Client(bob.Token);
        JsonElement[] bobs = [];
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => (bobs = await MessagesAsync(bobHttp, subject)).Length == 1, Timeout));
        string bobOriginal = bobs[0].GetProperty("id").GetString()!;
        string bobThread = bobs[0].GetProperty("thread_id").GetString()!;

        var reply = Message("", "<p>Yes, at noon.</p>", alice.Email);
        reply["subject"] = $"Re: {subject}";
        reply["reply_to_message_id"] = bobOriginal;
        var answered = await OkAsync(await host.SendJsonAsync(bob.Token, reply));
        Assert.Equal(bobThread, answered.GetProperty("thread_id").GetString());
        var bobThreadJson = await bobHttp.GetFromJsonAsync<JsonElement>($"/threads/{bobThread}");
        Assert.Equal(2, bobThreadJson.GetProperty("message_ids").GetArrayLength());

        // The reply carries the references, so Alice's mirror files it with her sent original.
        var received = Assert.Single(await WaitForFolderAsync(alice.Email, "INBOX", $"Re: {subject}"));
        using var aliceHttp = host.Client(alice.Token);
        var expanded = await aliceHttp.GetFromJsonAsync<JsonElement>($"/messages/{original.GetProperty("id").GetString()}?view=expanded");
        Assert.Equal($"<{received.InReplyTo}>", expanded.GetProperty("headers").GetProperty("Message-Id").GetString());
        JsonElement[] alices = [];
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => (alices = await MessagesAsync(aliceHttp, $"Re: {subject}")).Length == 1, Timeout));
        Assert.Equal(aliceThread, alices[0].GetProperty("thread_id").GetString());
        var aliceThreadJson = await aliceHttp.GetFromJsonAsync<JsonElement>($"/threads/{aliceThread}");
        Assert.Equal(2, aliceThreadJson.GetProperty("message_ids").GetArrayLength());
    }

    [Fact]
    public async Task Raw_MIME_is_sent_as_given_and_filed_once_in_Sent()
    {
        var sender = await host.ConnectWithSmtpAsync("raw");
        string receiver = TestStack.NewMailbox("rr");
        string subject = $"Raw hello {Guid.NewGuid():N}";
        var mime = new MimeMessage();
        mime.From.Add(new MailboxAddress("Raw Sender", sender.Email));
        mime.To.Add(MailboxAddress.Parse(receiver));
        mime.Subject = subject;
        mime.Headers.Add("X-Custom", "kept");
        mime.Body = new TextPart("plain") { Text = "Sent as raw MIME, grüße." };
        using var bytes = new MemoryStream();
        await mime.WriteToAsync(bytes);

        var sent = await OkAsync(await host.SendRawAsync(sender.Token, bytes.ToArray()));
        Assert.Equal(subject, sent.GetProperty("subject").GetString());
        Assert.Contains("grüße", sent.GetProperty("snippet").GetString());
        Assert.Equal("sent", sent.GetProperty("folder").GetProperty("name").GetString());

        var delivered = Assert.Single(await WaitForFolderAsync(receiver, "INBOX", subject));
        Assert.Equal("kept", delivered.Headers["X-Custom"]);
        Assert.Equal("Sent as raw MIME, grüße.", delivered.TextBody?.Trim());
        Assert.Single(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
        using var http = host.Client(sender.Token);
        Assert.Equal(sent.GetProperty("id").GetString(), Assert.Single(await MessagesAsync(http, subject)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Bad_input_is_a_4xx_naming_the_problem_and_sends_nothing()
    {
        var sender = await host.ConnectWithSmtpAsync("bad");
        string receiver = TestStack.NewMailbox("br");
        string subject = $"Never sent {Guid.NewGuid():N}";
        async Task<string> BadAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.BadRequest)
            => (await ApiErrors.AssertAsync(response, status)).GetProperty("message").GetString()!;

        Assert.Contains("No recipients", await BadAsync(await host.SendJsonAsync(sender.Token, Message(subject, "x"))));
        Assert.Contains("'not-an-address' is not a valid email address", await BadAsync(await host.SendJsonAsync(sender.Token, Message(subject, "x", "not-an-address"))));
        Assert.Contains("'a@b@example.com'", await BadAsync(await host.SendJsonAsync(sender.Token, Message(subject, "x", "a@b@example.com"))));
        var many = Message(subject, "x", Enumerable.Range(0, SendFixture.MaxRecipients + 1).Select(i => $"r{i}@example.com").ToArray());
        Assert.Contains($"at most {SendFixture.MaxRecipients}", await BadAsync(await host.SendJsonAsync(sender.Token, many)));
        var foreignFrom = Message(subject, "x", receiver);
        foreignFrom["from"] = new JsonArray(new JsonObject { ["email"] = "boss@example.com" });
        Assert.Contains("not the account's address", await BadAsync(await host.SendJsonAsync(sender.Token, foreignFrom)));
        var draft = Message(subject, "x", receiver);
        draft["draft_id"] = "0000000000000000000000000";
        draft["version"] = 0;
        Assert.Contains("couldn't find draft 0000000000000000000000000", await BadAsync(await host.SendJsonAsync(sender.Token, draft), HttpStatusCode.NotFound));
        var files = Message(subject, "x", receiver);
        files["file_ids"] = new JsonArray("0000000000000000000000000");
        Assert.Contains("file_ids: couldn't find file(s) 0000000000000000000000000", await BadAsync(await host.SendJsonAsync(sender.Token, files), HttpStatusCode.NotFound));
        var unknownReply = Message(subject, "x", receiver);
        unknownReply["reply_to_message_id"] = "0000000000000000000000000";
        Assert.Contains("couldn't find message", await BadAsync(await host.SendJsonAsync(sender.Token, unknownReply), HttpStatusCode.NotFound));
        var wrongType = Message(subject, "x", receiver);
        wrongType["subject"] = 42;
        Assert.Contains("subject must be a string", await BadAsync(await host.SendJsonAsync(sender.Token, wrongType)));
        using (var http = host.Client(sender.Token))
            Assert.Contains("not JSON", await BadAsync(await http.PostAsync("/send", new StringContent("{not json", Encoding.UTF8, "application/json"))));

        // Raw MIME without From, with someone else's From, without recipients.
        byte[] Raw(string headers) => Encoding.ASCII.GetBytes(headers + $"Subject: {subject}\r\n\r\nbody\r\n");
        Assert.Contains("no From header", await BadAsync(await host.SendRawAsync(sender.Token, Raw($"To: {receiver}\r\n"))));
        Assert.Contains("must be the account's own address", await BadAsync(await host.SendRawAsync(sender.Token, Raw($"From: boss@example.com\r\nTo: {receiver}\r\n"))));
        Assert.Contains("no recipients", await BadAsync(await host.SendRawAsync(sender.Token, Raw($"From: {sender.Email}\r\n"))));

        // Over Nylas:Send:MaxMessageBytes: a 413 whether the length is declared or not.
        var huge = Message(subject, new string('x', SendFixture.MaxMessageBytes + 1), receiver);
        await BadAsync(await host.SendJsonAsync(sender.Token, huge), HttpStatusCode.RequestEntityTooLarge);
        using (var http = host.Client(sender.Token))
        {
            var chunked = new StreamContent(new MemoryStream(Raw($"From: {sender.Email}\r\nTo: {receiver}\r\nX-Pad: {new string('y', SendFixture.MaxMessageBytes)}\r\n")));
            chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("message/rfc822");
            var request = new HttpRequestMessage(HttpMethod.Post, "/send") { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            await BadAsync(await http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);
        }

        // An account connected without SMTP settings.
        var (_, noSmtpToken, _) = await host.ConnectNewAccountAsync();
        Assert.Contains("smtp_host", await BadAsync(await host.SendJsonAsync(noSmtpToken, Message(subject, "x", receiver))));

        // Nothing of it went anywhere.
        Assert.Empty(await TestStack.ReadFolderAsync(receiver, "INBOX", subject));
        Assert.Empty(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
    }

    [Fact]
    public async Task A_recipient_the_server_refuses_is_a_402_with_its_answer_and_a_refused_login_a_403()
    {
        var sender = await host.ConnectWithSmtpAsync("ref");
        string subject = $"Refused {Guid.NewGuid():N}";
        // The test Postfix delivers only to example.com and says so at RCPT TO.
        var refused = await ApiErrors.AssertAsync(await host.SendJsonAsync(sender.Token, Message(subject, "x", "someone@elsewhere.test")), HttpStatusCode.PaymentRequired);
        Assert.Equal("message_rejected", refused.GetProperty("type").GetString());
        Assert.Contains("someone@elsewhere.test", refused.GetProperty("message").GetString());
        Assert.Contains("this test server only delivers to example.com", refused.GetProperty("server_error").GetString());
        Assert.StartsWith("550", refused.GetProperty("server_error").GetString());

        // The SMTP password changed at the provider (the stored one is now wrong): Postfix refuses the login.
        var accounts = host.App.Services.GetRequiredService<AccountStore>();
        long accountRow = await host.Databases.AccountRowIdAsync(sender.AccountId);
        var secrets = await accounts.GetSecretsAsync(accountRow);
        await accounts.UpdateSecretsAsync(accountRow, secrets with { SmtpPassword = "changed-elsewhere" });
        var login = await ApiErrors.AssertAsync(await host.SendJsonAsync(sender.Token, Message(subject, "x", sender.Email)), HttpStatusCode.Forbidden);
        Assert.Equal("invalid_credentials", login.GetProperty("type").GetString());
        Assert.Contains("SMTP authentication failed", login.GetProperty("message").GetString());
        Assert.DoesNotContain("changed-elsewhere", login.GetProperty("message").GetString());
        Assert.Empty(await TestStack.ReadFolderAsync(sender.Email, "INBOX", subject));
        Assert.Empty(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
    }

    [Fact]
    public async Task A_send_whose_Sent_copy_cannot_be_made_still_succeeds()
    {
        var sender = await host.ConnectWithSmtpAsync("nocopy");
        string receiver = TestStack.NewMailbox("nc");
        string subject = $"No copy {Guid.NewGuid():N}";
        // The IMAP server is unreachable from now on (nothing listens on port 1); SMTP still works.
        await host.Databases.QueryScalarAsync("global", $"UPDATE accounts SET imap_port = 1 WHERE public_id = '{sender.AccountId}'");

        var sent = await OkAsync(await host.SendJsonAsync(sender.Token, Message(subject, "<p>still sent</p>", receiver)));
        Assert.Equal(subject, sent.GetProperty("subject").GetString());
        Assert.Equal(sender.Email, sent.GetProperty("from")[0].GetProperty("email").GetString());
        Assert.Single(await WaitForFolderAsync(receiver, "INBOX", subject));
        Assert.Empty(await TestStack.ReadFolderAsync(sender.Email, "Sent", subject));
    }
}
