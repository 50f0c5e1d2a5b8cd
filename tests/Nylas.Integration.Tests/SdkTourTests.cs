using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MimeKit;
using MimeKit.Utils;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>One message of the tour's mailbox, with what a filter can match it by.</summary>
public sealed record SdkTourSeed(string Key, MimeMessage Mime, MessageFlags Flags, string Folder, string ThreadKey)
{
    public string Subject => Mime.Subject ?? "";
    public string FromEmail => Mime.From.Mailboxes.Single().Address.ToLowerInvariant();
    public DateTimeOffset Date => Mime.Date;
    public bool Unread => !Flags.HasFlag(MessageFlags.Seen);
    public bool Starred => Flags.HasFlag(MessageFlags.Flagged);
    public IEnumerable<string> Addresses(InternetAddressList list) => list.Mailboxes.Select(m => m.Address.ToLowerInvariant());
    public IEnumerable<string> AllAddresses => Addresses(Mime.From).Concat(Addresses(Mime.To)).Concat(Addresses(Mime.Cc)).Concat(Addresses(Mime.Bcc));
    public IEnumerable<string> Filenames => Mime.Attachments.OfType<MimePart>().Select(p => p.FileName ?? "");
}

/// <summary>
/// A mailbox with known mail, connected by the SDK itself (<c>node tour.js connect</c>), then toured by
/// <c>node tests/sdk-tour/tour.js</c> (the Nylas Node SDK 6.11.1 that <c>./dev test</c> installs).
/// </summary>
public sealed class SdkTourFixture : LocalHostFixture, IAsyncLifetime
{
    public static readonly DateTimeOffset T0 = new(2026, 10, 5, 8, 0, 0, TimeSpan.Zero);
    public const string SearchWord = "zanzibarite";
    public const string AttachmentName = "contract-signed.pdf";
    public static readonly byte[] Attachment = Encoding.ASCII.GetBytes("%PDF-1.4\n% sdk tour attachment\n" + new string('x', 3000) + "\n%%EOF\n");

    public string Email { get; private set; } = "";
    public string Token { get; private set; } = "";
    public string AccountId { get; private set; } = "";
    /// <summary>Where the tour's sending steps send to: a mailbox of its own, read back over IMAP.</summary>
    public string SendTo { get; } = TestStack.NewMailbox("sdkto");
    public IReadOnlyList<SdkTourSeed> Seed { get; private set; } = [];
    public TourRun Run { get; private set; } = null!;

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Email = TestStack.NewMailbox("sdk");
        using (var imap = await TestStack.ConnectImapAsync(Email))
        {
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Receipts", true);
            await imap.DisconnectAsync(true);
        }
        Seed = BuildSeed(Email, SendTo);
        foreach (var seed in Seed) await TestStack.AppendAsync(Email, seed.Mime, seed.Flags, seed.Folder);

        // The v2 native-auth flow, through the SDK: Nylas.connect.authorize() then Nylas.connect.token().
        var connect = await RunTourAsync(["authorize"], new()
        {
            ["NYLAS_CONNECT_BODY"] = ConnectBody(Email).ToJsonString(),
        });
        Assert.True(connect.ExitCode == 0, $"node tour.js authorize failed ({connect.ExitCode}): {connect.Stderr}\n{connect.Stdout}");
        var account = JsonNode.Parse(connect.Stdout)!;
        Token = account["access_token"]!.GetValue<string>();
        AccountId = account["id"]!.GetValue<string>();

        // Synced: every message listed and every invitation turned into its event.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountMessagesAsync(Token) == Seed.Count, TimeSpan.FromSeconds(90)));

        Run = await RunTourAsync([], new()
        {
            ["NYLAS_ACCESS_TOKEN"] = Token,
            ["NYLAS_TOUR_SEARCH"] = SearchWord,
            ["NYLAS_TOUR_SEND_TO"] = SendTo,
        });
        // Kept for a human reading a failure: the whole document the SDK produced.
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "sdk-tour-last.json"), Run.Stdout);
    }

    public static JsonObject ConnectBody(string email) => new()
    {
        ["email_address"] = email,
        ["name"] = "SDK Tour",
        ["provider"] = "imap",
        ["settings"] = new JsonObject
        {
            ["imap_host"] = TestStack.ImapHost,
            ["imap_port"] = TestStack.ImapsPort,
            ["imap_security"] = "ssl",
            ["imap_username"] = email,
            ["imap_password"] = TestStack.ImapPassword,
            ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
            // Postfix's submission service (same certificate), for the tour's sending steps.
            ["smtp_host"] = TestStack.ImapHost,
            ["smtp_port"] = TestStack.SubmissionPort,
            ["smtp_security"] = "starttls",
        },
    };

    /// <summary>
    /// A three-message conversation, an attachment, an invitation, a mailing-list message that Bcc'd the
    /// account and carries the search word, and a receipt filed outside the inbox. The invitation's organizer is
    /// <paramref name="organizer"/>, a mailbox the test server delivers to, so event.rsvp() can reach it.
    /// </summary>
    private static List<SdkTourSeed> BuildSeed(string me, string organizer)
    {
        MimeMessage Message(string subject, string from, int hour, string body, string? to = null)
        {
            var m = TestStack.SimpleMessage(to ?? me, subject, body, from);
            m.Date = T0.AddHours(hour);
            return m;
        }

        var plan = Message("Quarterly plan", "Alice Adams <alice@example.org>", 0, "Here is the plan for Q4.");
        plan.Cc.Add(MailboxAddress.Parse("Dave Doe <dave@example.org>"));
        var reply = Message("Re: Quarterly plan", "Bob Brown <bob@example.org>", 1, "Looks fine; one question on hiring.");
        reply.To.Add(MailboxAddress.Parse("alice@example.org"));
        reply.InReplyTo = plan.MessageId;
        reply.References.Add(plan.MessageId!);
        var answer = Message("Re: Quarterly plan", "Alice Adams <alice@example.org>", 2, "Hiring is in the second part.");
        answer.InReplyTo = reply.MessageId;
        answer.References.AddRange([plan.MessageId!, reply.MessageId!]);

        var contract = Message("Signed contract", "Carol Clark <carol@example.org>", 3, "");
        var builder = new BodyBuilder { TextBody = "The signed contract is attached." };
        builder.Attachments.Add(AttachmentName, Attachment, new ContentType("application", "pdf"));
        contract.Body = builder.ToMessageBody();

        var invitation = Message("Invitation: Design review", "Boss <boss@example.org>", 4, "");
        invitation.Body = TestStack.InvitationBody(me, "Design review", "Room 7", new DateTime(2026, 10, 12, 14, 0, 0, DateTimeKind.Utc), "Design review on Monday",
            organizer: organizer);

        var lunch = Message("Lunch on Friday", "Erin Evans <erin@example.org>", 5,
            $"Shall we try the new {SearchWord} place on Friday?", to: "team@example.org");
        lunch.Bcc.Add(MailboxAddress.Parse(me));

        var receipt = Message("Receipt #1042", "Shop <shop@example.net>", 6, "Thank you for your order.");

        return
        [
            new("plan", plan, MessageFlags.Seen, "INBOX", "plan"),
            new("reply", reply, MessageFlags.None, "INBOX", "plan"),
            new("answer", answer, MessageFlags.None, "INBOX", "plan"),
            new("contract", contract, MessageFlags.Seen | MessageFlags.Flagged, "INBOX", "contract"),
            new("invitation", invitation, MessageFlags.Seen, "INBOX", "invitation"),
            new("lunch", lunch, MessageFlags.None, "INBOX", "lunch"),
            new("receipt", receipt, MessageFlags.None, "Receipts", "receipt"),
        ];
    }

    public sealed record TourRun(int ExitCode, string Stdout, string Stderr)
    {
        public JsonElement Document => JsonDocument.Parse(Stdout).RootElement;
    }

    /// <summary>tests/sdk-tour, found from the test assembly's folder up to the repository root.</summary>
    public static string TourDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "sdk-tour");
            if (File.Exists(Path.Combine(candidate, "tour.js"))) return candidate;
        }
        throw new InvalidOperationException($"tests/sdk-tour/tour.js not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs <c>node tour.js ARGS</c> against this host's API; the process is killed after two minutes.</summary>
    public Task<TourRun> RunTourAsync(string[] args, Dictionary<string, string> environment) => RunTourAsync(this, args, environment);

    /// <summary>Runs <c>node tour.js ARGS</c> against <paramref name="host"/>'s API (any fixture's); killed after two minutes.</summary>
    public static async Task<TourRun> RunTourAsync(LocalHostFixture host, string[] args, Dictionary<string, string> environment)
    {
        string dir = TourDirectory();
        if (!File.Exists(Path.Combine(dir, "node_modules", "nylas", "package.json")))
            throw new InvalidOperationException($"{dir}/node_modules has no nylas package: `./dev test` installs it (npm ci in tests/sdk-tour)");
        var psi = new ProcessStartInfo("node") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(dir, "tour.js"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["NYLAS_API_URL"] = host.BaseAddress.ToString().TrimEnd('/');
        psi.Environment["NYLAS_CLIENT_ID"] = host.ClientId;
        psi.Environment["NYLAS_CLIENT_SECRET"] = host.ClientSecret;
        foreach (var (name, value) in environment) psi.Environment[name] = value;

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node tour.js {string.Join(' ', args)} did not finish in 2 minutes: {await stderr}");
        }
        return new TourRun(process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>
/// What an app written for the hosted Nylas v2 API sees through its SDK (nylas 6.11.1), checked against
/// the mail the fixture put in the mailbox.
/// </summary>
public class SdkTourTests(SdkTourFixture host) : IClassFixture<SdkTourFixture>
{
    private JsonElement Steps => host.Run.Document.GetProperty("steps");

    /// <summary>The result of a step that must have succeeded.</summary>
    private JsonElement Result(string step)
    {
        Assert.True(Steps.TryGetProperty(step, out var s), $"the tour has no step '{step}'");
        if (!s.GetProperty("ok").GetBoolean()) Assert.Fail($"step '{step}' failed: {s.GetProperty("error")}");
        return s.GetProperty("result");
    }

    private static List<string> Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToList();

    private SdkTourSeed SeedByKey(string key) => host.Seed.Single(s => s.Key == key);

    /// <summary>Server id of every seeded message, by the seed's key (subject and sender are unique together).</summary>
    private Dictionary<string, string> IdsByKey()
    {
        var ids = new Dictionary<string, string>();
        foreach (var m in Result("messages.list").EnumerateArray())
        {
            var seed = host.Seed.Single(s => s.Subject == m.GetProperty("subject").GetString() && s.FromEmail == m.GetProperty("from")[0].GetString());
            ids[seed.Key] = m.GetProperty("id").GetString()!;
        }
        return ids;
    }

    private string KeyOf(string id) => IdsByKey().Single(p => p.Value == id).Key;

    private List<string> KeysOf(JsonElement ids) => Strings(ids).Select(KeyOf).OrderBy(k => k).ToList();

    [Fact]
    public void The_tour_runs_the_pinned_sdk_and_every_step_succeeds()
    {
        var sdk = host.Run.Document.GetProperty("sdk");
        Assert.Equal("nylas", sdk.GetProperty("name").GetString());
        Assert.Equal("6.11.1", sdk.GetProperty("version").GetString());
        var failed = Steps.EnumerateObject().Where(s => !s.Value.GetProperty("ok").GetBoolean()).Select(s => $"{s.Name}: {s.Value.GetProperty("error")}").ToList();
        Assert.True(failed.Count == 0, $"failed steps:\n{string.Join('\n', failed)}\nstderr: {host.Run.Stderr}");
        Assert.Equal(0, host.Run.ExitCode);
    }

    [Fact]
    public async Task The_SDK_also_connects_through_the_application_accounts_endpoint()
    {
        // POST /a/{client_id}/accounts through the SDK's request path: client-secret auth, JSON as text/plain.
        string email = TestStack.NewMailbox("sdk");
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var run = await host.RunTourAsync(["connect"], new() { ["NYLAS_CONNECT_BODY"] = SdkTourFixture.ConnectBody(email).ToJsonString() });
        Assert.True(run.ExitCode == 0, $"node tour.js connect failed ({run.ExitCode}): {run.Stderr}");
        var account = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(email, account.GetProperty("email_address").GetString());
        Assert.False(string.IsNullOrEmpty(account.GetProperty("access_token").GetString()));
        Assert.NotEqual(host.AccountId, account.GetProperty("id").GetString());
    }

    [Fact]
    public void The_account_is_the_connected_mailbox()
    {
        var account = Result("account.get");
        Assert.Equal(host.AccountId, account.GetProperty("id").GetString());
        Assert.Equal(host.AccountId, account.GetProperty("account_id").GetString());
        Assert.Equal(host.Email, account.GetProperty("email_address").GetString());
        Assert.Equal("SDK Tour", account.GetProperty("name").GetString());
        Assert.Equal("folder", account.GetProperty("organization_unit").GetString());
        Assert.Equal("running", account.GetProperty("sync_state").GetString());

        // The application's accounts, with the client secret (the SDK's management path).
        var listed = Result("accounts.list (application)").EnumerateArray().Single(a => a.GetProperty("id").GetString() == host.AccountId);
        Assert.Equal(host.Email, listed.GetProperty("email").GetString());
    }

    [Fact]
    public void Messages_list_count_ids_and_pages_agree()
    {
        var list = Result("messages.list").EnumerateArray().ToList();
        // Every seeded message, newest first, as the SDK's Message model reads them.
        Assert.Equal(host.Seed.OrderByDescending(s => s.Date).Select(s => s.Subject), list.Select(m => m.GetProperty("subject").GetString()));
        Assert.All(list, m =>
        {
            var seed = host.Seed.Single(s => s.Subject == m.GetProperty("subject").GetString() && s.FromEmail == m.GetProperty("from")[0].GetString());
            Assert.Equal("message", m.GetProperty("object").GetString());
            Assert.Equal(host.AccountId, m.GetProperty("account_id").GetString());
            Assert.Equal(seed.Date.ToUnixTimeSeconds(), m.GetProperty("date").GetInt64());
            Assert.Equal(seed.Unread, m.GetProperty("unread").GetBoolean());
            Assert.Equal(seed.Starred, m.GetProperty("starred").GetBoolean());
            Assert.Equal(seed.Folder == "INBOX" ? "inbox" : "", m.GetProperty("folder").GetProperty("name").GetString());
            Assert.Equal(0, m.GetProperty("labels").GetArrayLength()); // a folder account
        });
        var ids = list.Select(m => m.GetProperty("id").GetString()!).ToList();

        Assert.Equal(host.Seed.Count, Result("messages.count").GetInt32());
        Assert.Equal(ids, Strings(Result("messages.list ids")));
        Assert.Equal(ids.Skip(1).Take(2), Strings(Result("messages.list page")));
        Assert.Equal(ids[0], Result("messages.first").GetProperty("id").GetString());
    }

    [Fact]
    public void Find_findMultiple_and_findRaw_return_the_seeded_messages()
    {
        var list = Result("messages.list").EnumerateArray().ToList();
        var newest = host.Seed.MaxBy(s => s.Date)!;
        var second = host.Seed.OrderByDescending(s => s.Date).ElementAt(1);

        var found = Result("messages.find");
        Assert.Equal(list[0].GetProperty("id").GetString(), found.GetProperty("id").GetString());
        Assert.Equal(newest.Subject, found.GetProperty("subject").GetString());
        Assert.Equal([newest.FromEmail], Strings(found.GetProperty("from")));
        Assert.Equal("Shop", found.GetProperty("from_names")[0].GetString());
        Assert.True(found.GetProperty("body_length").GetInt32() > 0);

        var expanded = Result("messages.find expanded");
        var messageIdHeader = expanded.GetProperty("headers").EnumerateObject()
            .Single(h => h.Name.Equals("Message-Id", StringComparison.OrdinalIgnoreCase)).Value.GetString();
        Assert.Contains(newest.Mime.MessageId!, messageIdHeader);

        var raw = Result("messages.findRaw");
        Assert.Equal("string", raw.GetProperty("type").GetString());
        string text = raw.GetProperty("raw").GetString()!;
        Assert.Contains($"Message-Id: <{newest.Mime.MessageId}>", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Thank you for your order.", text);

        // The SDK turns the {type, message} error into a NylasApiError.
        var unknown = Result("messages.find unknown id");
        Assert.True(unknown.GetProperty("thrown").GetBoolean());
        Assert.Equal(404, unknown.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("invalid_request_error", unknown.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(unknown.GetProperty("error").GetProperty("message").GetString()));

        // GET /messages/{a},{b}: both, each with its own subject.
        var multiple = Result("messages.findMultiple").EnumerateArray().ToList();
        Assert.Equal(
            new[] { (list[0].GetProperty("id").GetString()!, newest.Subject), (list[1].GetProperty("id").GetString()!, second.Subject) }.OrderBy(p => p.Item1),
            multiple.Select(m => (m.GetProperty("id").GetString()!, m.GetProperty("subject").GetString()!)).OrderBy(p => p.Item1));
    }

    /// <summary>What the v2 filter semantics select from the seed, for the parameters the tour sent.</summary>
    private List<string> Expected(JsonElement parameters)
    {
        IEnumerable<SdkTourSeed> selected = host.Seed;
        foreach (var p in parameters.EnumerateObject())
        {
            var v = p.Value;
            string Text() => v.ToString().ToLowerInvariant();
            selected = p.Name switch
            {
                "subject" => selected.Where(s => s.Subject == v.GetString()),
                "from" => selected.Where(s => s.Addresses(s.Mime.From).Contains(Text())),
                "to" => selected.Where(s => s.Addresses(s.Mime.To).Contains(Text())),
                "cc" => selected.Where(s => s.Addresses(s.Mime.Cc).Contains(Text())),
                "bcc" => selected.Where(s => s.Addresses(s.Mime.Bcc).Contains(Text())),
                "any_email" => selected.Where(s => Strings(v).Any(e => s.AllAddresses.Contains(e.ToLowerInvariant()))),
                "thread_id" => selected.Where(s => s.ThreadKey == SeedByKey(KeyOf(IdsInThread(v.GetString()!).First())).ThreadKey),
                "in" => selected.Where(s => v.GetString() == "inbox" ? s.Folder == "INBOX" : s.Folder == v.GetString()),
                "unread" => selected.Where(s => s.Unread == v.GetBoolean()),
                "starred" => selected.Where(s => s.Starred == v.GetBoolean()),
                "filename" => selected.Where(s => s.Filenames.Contains(v.GetString())),
                "received_before" => selected.Where(s => s.Date.ToUnixTimeSeconds() <= v.GetInt64()),
                "received_after" => selected.Where(s => s.Date.ToUnixTimeSeconds() > v.GetInt64()),
                _ => throw new InvalidOperationException($"the test does not know the filter '{p.Name}'"),
            };
        }
        return selected.Select(s => s.Key).OrderBy(k => k).ToList();
    }

    private IEnumerable<string> IdsInThread(string threadId)
        => Result("messages.list").EnumerateArray().Where(m => m.GetProperty("thread_id").GetString() == threadId).Select(m => m.GetProperty("id").GetString()!);

    [Theory]
    [InlineData("subject", new[] { "answer", "reply" })]
    [InlineData("from", new[] { "answer", "plan" })]
    [InlineData("to", new[] { "lunch" })]
    [InlineData("cc", new[] { "plan" })]
    [InlineData("bcc", new[] { "lunch" })]
    [InlineData("any_email", new[] { "answer", "plan", "reply" })]
    [InlineData("thread_id", new[] { "answer", "plan", "reply" })]
    [InlineData("in_inbox", new[] { "answer", "contract", "invitation", "lunch", "plan", "reply" })]
    [InlineData("unread", new[] { "answer", "lunch", "receipt", "reply" })]
    [InlineData("starred", new[] { "contract" })]
    [InlineData("filename", new[] { "contract" })]
    [InlineData("received_before", new[] { "answer", "contract", "plan", "reply" })]
    [InlineData("received_after", new[] { "invitation", "lunch", "receipt" })]
    [InlineData("in_inbox_unread", new[] { "answer", "lunch", "reply" })]
    public void Message_filters_narrow_the_list_to_the_matching_messages(string filter, string[] expectedKeys)
    {
        var result = Result($"messages.list filter {filter}");
        var parameters = result.GetProperty("params");
        // The seed's own answer for what the tour sent, and the values the tour picked from this seed.
        Assert.Equal(expectedKeys.Order(), Expected(parameters));
        Assert.Equal(expectedKeys.Order(), KeysOf(result.GetProperty("ids")));
    }

    [Fact]
    public void A_filtered_count_counts_the_filtered_list()
    {
        var count = Result("messages.count filter unread");
        Assert.True(count.GetProperty("params").GetProperty("unread").GetBoolean());
        Assert.Equal(host.Seed.Count(s => s.Unread), count.GetProperty("count").GetInt32());
    }

    [Fact]
    public void Search_finds_the_message_with_the_word_and_no_other()
    {
        var messages = Result("messages.search");
        Assert.Equal(SdkTourFixture.SearchWord, messages.GetProperty("q").GetString());
        var found = Assert.Single(messages.GetProperty("messages").EnumerateArray());
        Assert.Equal("lunch", KeyOf(found.GetProperty("id").GetString()!));

        var threads = Result("threads.search");
        var thread = Assert.Single(threads.GetProperty("threads").EnumerateArray());
        Assert.Equal("Lunch on Friday", thread.GetProperty("subject").GetString());
        Assert.Equal([IdsByKey()["lunch"]], Strings(thread.GetProperty("message_ids")));
    }

    [Fact]
    public void Threads_are_listed_counted_and_expanded_with_their_messages()
    {
        var threads = Result("threads.list").EnumerateArray().ToList();
        Assert.Equal(host.Seed.Select(s => s.ThreadKey).Distinct().Count(), threads.Count);
        Assert.Equal(threads.Count, Result("threads.count").GetInt32());
        var ids = IdsByKey();
        var plan = threads.Single(t => t.GetProperty("subject").GetString() == "Quarterly plan");
        Assert.Equal([ids["plan"], ids["reply"], ids["answer"]], Strings(plan.GetProperty("message_ids")));
        Assert.Equal(["alice@example.org", "bob@example.org", "dave@example.org", host.Email], Strings(plan.GetProperty("participants")).Order());
        Assert.Equal(["inbox"], Strings(plan.GetProperty("folders")));
        Assert.True(plan.GetProperty("unread").GetBoolean());
        Assert.Equal(SeedByKey("plan").Date.ToUnixTimeSeconds(), plan.GetProperty("first_message_timestamp").GetInt64());
        Assert.Equal(SeedByKey("answer").Date.ToUnixTimeSeconds(), plan.GetProperty("last_message_timestamp").GetInt64());

        // threads.find(id, {expanded: true}) is GET /threads/{id}?view=expanded: the messages, without bodies.
        var expanded = Result("threads.find expanded");
        Assert.Equal(plan.GetProperty("id").GetString(), expanded.GetProperty("id").GetString());
        var messages = expanded.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal([ids["plan"], ids["reply"], ids["answer"]], messages.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(["Quarterly plan", "Re: Quarterly plan", "Re: Quarterly plan"], messages.Select(m => m.GetProperty("subject").GetString()));
        Assert.Equal(["alice@example.org", "bob@example.org", "alice@example.org"], messages.Select(m => m.GetProperty("from")[0].GetString()));
        Assert.All(messages, m => Assert.Equal(JsonValueKind.Null, m.GetProperty("body_length").ValueKind));
    }

    [Fact]
    public void Folders_contacts_and_events_reflect_the_mailbox()
    {
        var folders = Result("folders.list").EnumerateArray().ToList();
        var inbox = folders.Single(f => f.GetProperty("name").GetString() == "inbox");
        Assert.Equal("folder", inbox.GetProperty("object").GetString());
        // A folder without a role: the API's null name, which the SDK's String attribute reads as "".
        Assert.Contains(folders, f => f.GetProperty("display_name").GetString() == "Receipts" && f.GetProperty("name").GetString() == "");

        // The SDK's Contact model reads the hosted v2 emails[].
        var contactEmails = Result("contacts.list").EnumerateArray().SelectMany(c => Strings(c.GetProperty("emails"))).ToList();
        foreach (var seed in host.Seed) Assert.Contains(seed.FromEmail, contactEmails);
        Assert.Contains("dave@example.org", contactEmails);

        var calendar = Assert.Single(Result("calendars.list").EnumerateArray());
        Assert.True(calendar.GetProperty("read_only").GetBoolean());

        var evt = Assert.Single(Result("events.list").EnumerateArray());
        Assert.Equal("Design review", evt.GetProperty("title").GetString());
        Assert.Equal("Room 7", evt.GetProperty("location").GetString());
        Assert.Equal(calendar.GetProperty("id").GetString(), evt.GetProperty("calendar_id").GetString());
        Assert.Equal(IdsByKey()["invitation"], evt.GetProperty("message_id").GetString());
        Assert.Contains(host.Email, Strings(evt.GetProperty("participants")));
        var when = evt.GetProperty("when");
        Assert.Equal(new DateTimeOffset(2026, 10, 12, 14, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), when.GetProperty("start_time").GetInt64());
        Assert.Equal(new DateTimeOffset(2026, 10, 12, 15, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), when.GetProperty("end_time").GetInt64());
    }

    [Fact]
    public void The_change_feed_replays_every_message_through_since_longPoll_and_startStream()
    {
        var messageIds = Result("messages.list").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).Order().ToList();
        string latest = Result("deltas.latestCursor").GetString()!;
        Assert.False(string.IsNullOrEmpty(latest));

        // since('0', {includeTypes}) : every message's create, as the SDK's Message model, and nothing else.
        var since = Result("deltas.since");
        var deltas = since.GetProperty("deltas").EnumerateArray().ToList();
        Assert.All(deltas, d => Assert.Equal("message", d.GetProperty("object").GetString()));
        var created = deltas.Where(d => d.GetProperty("event").GetString() == "create").ToList();
        Assert.Equal(messageIds, created.Select(d => d.GetProperty("id").GetString()!).Order());
        Assert.All(created, d => Assert.Equal(d.GetProperty("id").GetString(), d.GetProperty("attributes_id").GetString()));
        Assert.Equal("0", since.GetProperty("cursor_start").GetString());

        // A long poll from the latest cursor on a quiet mailbox: an empty answer at its timeout, ending where it began.
        var poll = Result("deltas.longPoll");
        Assert.Empty(poll.GetProperty("deltas").EnumerateArray());
        Assert.Equal(latest, poll.GetProperty("cursor_start").GetString());
        Assert.Equal(latest, poll.GetProperty("cursor_end").GetString());

        // A stream from 0: the same creates, and the SDK kept the last cursor to resume from.
        var streamed = Result("deltas.startStream");
        Assert.Equal(messageIds, streamed.GetProperty("deltas").EnumerateArray()
            .Where(d => d.GetProperty("event").GetString() == "create").Select(d => d.GetProperty("id").GetString()!).Distinct().Order());
        Assert.False(string.IsNullOrEmpty(streamed.GetProperty("last_cursor").GetString()));
    }

    [Fact]
    public async Task Draft_send_and_raw_send_deliver_and_answer_the_message_kept_in_Sent()
    {
        foreach (var (sendStep, findStep) in new[] { ("drafts.build send", "messages.find sent"), ("drafts.build rawMime send", "messages.find raw sent") })
        {
            var sent = Result(sendStep);
            string subject = sent.GetProperty("subject").GetString()!;
            Assert.Equal(host.Email, sent.GetProperty("from")[0].GetString());
            Assert.Equal(host.SendTo, sent.GetProperty("to")[0].GetString());
            Assert.Equal("sent", sent.GetProperty("folder").GetProperty("name").GetString());
            // messages.find(id) finds the same message: the id is the one the mirror keeps.
            Assert.Equal(sent.GetProperty("id").GetString(), Result(findStep).GetProperty("id").GetString());
            Assert.Equal(subject, Result(findStep).GetProperty("subject").GetString());

            // Delivered by Postfix to the receiver, and one copy in the account's Sent folder (independent IMAP clients).
            Assert.NotNull(await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(host.SendTo, "INBOX", subject) == 1, TimeSpan.FromSeconds(60)));
            Assert.Equal(1, await TestStack.CountInFolderAsync(host.Email, "Sent", subject));
        }
        Assert.Contains("draft.send()", Result("messages.find sent").GetProperty("snippet").GetString());
    }

    [Fact]
    public async Task Outbox_send_delivers_once_at_send_at_and_update_then_delete_cancel_the_other()
    {
        var scheduled = Result("outbox.send");
        string subject = scheduled.GetProperty("subject").GetString()!;
        long sendAt = scheduled.GetProperty("send_at").GetInt64();
        Assert.Equal(scheduled.GetProperty("id").GetString(), scheduled.GetProperty("job_status_id").GetString());
        Assert.Equal("pending", scheduled.GetProperty("status").GetString());
        Assert.Equal("outbox", scheduled.GetProperty("action").GetString());
        Assert.Equal(sendAt, scheduled.GetProperty("original_send_at").GetInt64());
        Assert.Equal([host.SendTo], Strings(scheduled.GetProperty("to")));

        // Delivered once by Postfix, stamped no earlier than send_at; the item names the sent message.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(host.SendTo, "INBOX", subject) == 1, TimeSpan.FromSeconds(90)));
        using (var imap = await TestStack.ConnectImapAsync(host.SendTo))
        {
            await imap.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
            var uid = (await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains(subject))).Single();
            Assert.True((await imap.Inbox.GetMessageAsync(uid)).Date.ToUnixTimeSeconds() >= sendAt, "sent before send_at");
            await imap.DisconnectAsync(true);
        }
        using var http = host.Client(host.Token);
        JsonElement item = default;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (item = await http.GetFromJsonAsync<JsonElement>($"/outbox/{scheduled.GetProperty("id").GetString()}")).GetProperty("state").GetString() == "sent",
            TimeSpan.FromSeconds(30)));
        Assert.Equal(subject, (await http.GetFromJsonAsync<JsonElement>($"/messages/{item.GetProperty("message_id").GetString()}")).GetProperty("subject").GetString());
        Assert.Equal(1, await TestStack.CountInFolderAsync(host.Email, "Sent", subject));

        // The other: moved an hour later by outbox.update(), then cancelled by outbox.delete(); never delivered.
        var later = Result("outbox.send later");
        var updated = Result("outbox.update");
        Assert.Equal(later.GetProperty("id").GetString(), updated.GetProperty("id").GetString());
        Assert.True(updated.GetProperty("send_at").GetInt64() >= later.GetProperty("send_at").GetInt64() + 3000);
        Assert.Equal(later.GetProperty("send_at").GetInt64(), updated.GetProperty("original_send_at").GetInt64());
        Assert.Equal(later.GetProperty("job_status_id").GetString(), Result("outbox.delete").GetProperty("job_status_id").GetString());
        var cancelled = await http.GetFromJsonAsync<JsonElement>($"/v2/outbox/{later.GetProperty("id").GetString()}");
        Assert.Equal("cancelled", cancelled.GetProperty("state").GetString());
        Assert.Equal(0, cancelled.GetProperty("attempts").GetInt32());
        Assert.Equal(0, await TestStack.CountInFolderAsync(host.SendTo, "INBOX", later.GetProperty("subject").GetString()!));
    }

    [Fact]
    public async Task Drafts_saved_deleted_and_sent_through_the_SDK_reach_the_server()
    {
        var created = Result("draft.save create");
        string id = created.GetProperty("id").GetString()!;
        string subject = created.GetProperty("subject").GetString()!;
        Assert.Equal("draft", created.GetProperty("object").GetString());
        Assert.Equal(0, created.GetProperty("version").GetInt32());
        Assert.Equal(host.Email, created.GetProperty("from")[0].GetString());

        // save() again: the same draft, one version on, with the new body (the SDK echoed every field back).
        var updated = Result("draft.save update");
        Assert.Equal(id, updated.GetProperty("id").GetString());
        Assert.Equal(0, updated.GetProperty("created_version").GetInt32());
        Assert.Equal(1, updated.GetProperty("version").GetInt32());
        var found = Result("drafts.find");
        Assert.Equal(1, found.GetProperty("version").GetInt32());
        Assert.Equal(updated.GetProperty("body_length").GetInt32(), found.GetProperty("body_length").GetInt32());
        Assert.Contains(Result("drafts.list").EnumerateArray(), d => d.GetProperty("id").GetString() == id);

        var deleted = Result("drafts.delete");
        Assert.False(deleted.GetProperty("found_after_delete").GetBoolean());
        Assert.Equal(404, deleted.GetProperty("error").GetProperty("status").GetInt32());
        string deletedId = deleted.GetProperty("id").GetString()!;

        // send() of the saved draft: the sent message, delivered once, one copy in Sent, and the draft gone.
        var sent = Result("draft.send saved");
        Assert.Equal("message", sent.GetProperty("object").GetString());
        Assert.Equal(subject, sent.GetProperty("subject").GetString());
        Assert.Equal("sent", sent.GetProperty("folder").GetProperty("name").GetString());
        Assert.False(Result("drafts.find after send").GetProperty("found_after_send").GetBoolean());
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(host.SendTo, "INBOX", subject) == 1, TimeSpan.FromSeconds(60)));
        Assert.Equal(1, await TestStack.CountInFolderAsync(host.Email, "Sent", subject));

        // Neither draft is left in the server's Drafts folder (an independent IMAP client, by their X-INBOX-ID).
        async Task<int> InDraftsAsync(string draftId)
        {
            using var client = await TestStack.ConnectImapAsync(host.Email);
            var folder = await client.GetFolderAsync("Drafts");
            await folder.OpenAsync(MailKit.FolderAccess.ReadOnly);
            int count = (await folder.SearchAsync(MailKit.Search.SearchQuery.HeaderContains("X-INBOX-ID", draftId + "-"))).Count;
            await client.DisconnectAsync(true);
            return count;
        }
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await InDraftsAsync(id) + await InDraftsAsync(deletedId) == 0, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void The_attachment_downloads_byte_for_byte()
    {
        var file = Result("files.list").EnumerateArray().Single(f => f.GetProperty("filename").GetString() == SdkTourFixture.AttachmentName);
        Assert.Equal("application/pdf", file.GetProperty("content_type").GetString());
        Assert.Equal(SdkTourFixture.Attachment.Length, file.GetProperty("size").GetInt64());
        Assert.Equal([IdsByKey()["contract"]], Strings(file.GetProperty("message_ids")));

        var download = Result("files.download");
        Assert.Equal(file.GetProperty("id").GetString(), download.GetProperty("id").GetString());
        Assert.Equal(SdkTourFixture.Attachment, Convert.FromBase64String(download.GetProperty("base64").GetString()!));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(SdkTourFixture.Attachment)), download.GetProperty("sha256").GetString());
        Assert.Equal("application/octet-stream", download.GetProperty("content_type_header").GetString());
        Assert.Contains(SdkTourFixture.AttachmentName, download.GetProperty("content_disposition_header").GetString());
    }

    [Fact]
    public async Task Writes_through_the_SDK_are_answered_at_once_and_reach_the_server()
    {
        string receiptId = IdsByKey()["receipt"];
        var marked = Result("message.save read and star");
        Assert.Equal(receiptId, marked.GetProperty("id").GetString());
        Assert.False(marked.GetProperty("unread").GetBoolean());
        Assert.True(marked.GetProperty("starred").GetBoolean());

        var created = Result("folder.save create");
        Assert.Equal("Tour archive", created.GetProperty("display_name").GetString());
        string job = created.GetProperty("job_status_id").GetString()!;
        Assert.False(string.IsNullOrEmpty(job));
        var moved = Result("message.save move");
        Assert.Equal(receiptId, moved.GetProperty("id").GetString());
        Assert.Equal(created.GetProperty("id").GetString(), moved.GetProperty("folder").GetProperty("id").GetString());
        Assert.False(Result("thread.save read").GetProperty("unread").GetBoolean());
        // The SDK sends name "" back for the folder's null role (quirk 5): a rename, not a role change.
        var renamed = Result("folder.save rename");
        Assert.Equal("Tour archive renamed", renamed.GetProperty("display_name").GetString());
        Assert.NotEqual(job, renamed.GetProperty("job_status_id").GetString());

        var status = Result("jobStatuses.find");
        Assert.Equal(job, status.GetProperty("id").GetString());
        Assert.Equal(job, status.GetProperty("job_status_id").GetString());
        Assert.Equal("create_folder", status.GetProperty("action").GetString());
        Assert.Equal("folder", status.GetProperty("object").GetString());
        Assert.Contains(status.GetProperty("status").GetString(), new[] { "pending", "successful" });
        foreach (string settled in new[] { "writes: applied", "writes: moved back", "writes: deleted" })
            Assert.All(Result(settled).EnumerateArray(), j => Assert.Equal("successful", j.GetProperty("status").GetString()));
        var actions = Result("writes: deleted").EnumerateArray().Select(j => j.GetProperty("action").GetString()).ToList();
        foreach (string action in new[] { "mark_unread", "mark_starred", "create_folder", "move", "update_folder", "delete_folder" })
            Assert.Contains(action, actions);

        // Once applied, the API showed the message in the renamed folder, then back home; the folder is gone.
        var inNew = Result("writes: in the new folder");
        Assert.Equal(receiptId, inNew.GetProperty("id").GetString());
        Assert.Equal("Tour archive renamed", inNew.GetProperty("folder").GetProperty("display_name").GetString());
        Assert.Equal("Receipts", Result("message.save move back").GetProperty("folder").GetProperty("display_name").GetString());
        Assert.DoesNotContain(Result("folders.delete").EnumerateArray(), f => f.GetProperty("display_name").GetString()!.StartsWith("Tour archive", StringComparison.Ordinal));

        // And the server, seen by another IMAP client: flags, the message back in Receipts, no tour folder left.
        using var imap = await TestStack.ConnectImapAsync(host.Email);
        var names = (await imap.GetFoldersAsync(imap.PersonalNamespaces[0])).Select(f => f.FullName).ToList();
        Assert.DoesNotContain(names, n => n.StartsWith("Tour archive", StringComparison.Ordinal));
        var receipts = await imap.GetFolderAsync("Receipts");
        await receipts.OpenAsync(FolderAccess.ReadOnly);
        var summary = Assert.Single(await receipts.FetchAsync(0, -1, MessageSummaryItems.Flags | MessageSummaryItems.Envelope));
        Assert.Equal("Receipt #1042", summary.Envelope?.Subject);
        Assert.True(summary.Flags!.Value.HasFlag(MessageFlags.Seen) && summary.Flags.Value.HasFlag(MessageFlags.Flagged), summary.Flags.ToString());
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var lunch = await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("Lunch on Friday"));
        var lunchFlags = Assert.Single(await imap.Inbox.FetchAsync(lunch, MessageSummaryItems.Flags)).Flags!.Value;
        Assert.True(lunchFlags.HasFlag(MessageFlags.Seen), lunchFlags.ToString());
        await imap.DisconnectAsync(true);
    }

    // ---- Writes: metadata (message.save) and uploaded files (file.upload, files.delete); issue #10, Scope 3 and 4.

    [Fact]
    public async Task The_SDK_saves_message_metadata_and_the_server_keeps_it()
    {
        var saved = Result("message.save metadata");
        string id = saved.GetProperty("id").GetString()!;
        var expected = new Dictionary<string, string> { ["tour"] = "sdk-6.11.1", ["ticket"] = "T-42" };
        Dictionary<string, string> Pairs(JsonElement o) => o.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(expected, Pairs(saved.GetProperty("returned")));
        Assert.Equal(expected, Pairs(saved.GetProperty("found")));
        Assert.Equal([id], Strings(Result("messages.list metadata_pair")));
        // The SDK echoed unread and starred; they are what the mailbox has.
        var seed = host.Seed.Single(s => IdsByKey()[s.Key] == id);
        Assert.Equal(seed.Unread, saved.GetProperty("unread").GetBoolean());
        Assert.Equal(seed.Starred, saved.GetProperty("starred").GetBoolean());
        // Checked on the server, not through the SDK.
        using var http = host.Client(host.Token);
        var message = await http.GetFromJsonAsync<JsonElement>($"/messages/{id}");
        Assert.Equal(expected, Pairs(message.GetProperty("metadata")));
    }

    [Fact]
    public async Task The_SDK_uploads_downloads_and_deletes_a_file()
    {
        var uploaded = Result("file.upload");
        string id = uploaded.GetProperty("id").GetString()!;
        Assert.Equal("file", uploaded.GetProperty("object").GetString());
        Assert.Equal("tour upload.txt", uploaded.GetProperty("filename").GetString());
        Assert.Equal("text/plain", uploaded.GetProperty("content_type").GetString());
        Assert.Equal(uploaded.GetProperty("sent_size").GetInt64(), uploaded.GetProperty("size").GetInt64());
        Assert.Empty(uploaded.GetProperty("message_ids").EnumerateArray());

        var download = Result("file.upload download");
        Assert.Equal(uploaded.GetProperty("sent_sha256").GetString(), download.GetProperty("sha256").GetString());

        var deleted = Result("files.delete");
        Assert.False(deleted.GetProperty("found_after_delete").GetBoolean());
        Assert.Equal(404, deleted.GetProperty("error").GetProperty("status").GetInt32());
        using var http = host.Client(host.Token);
        using var response = await http.GetAsync($"/files/{id}");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    // ---- RSVP: event.rsvp(); issue #10, Scope 8.

    [Fact]
    public async Task Event_rsvp_answers_the_invitation_and_the_organizer_receives_the_REPLY()
    {
        var rsvp = Result("event.rsvp");
        string id = Result("rsvp: find the invitation").GetProperty("id").GetString()!;
        JsonElement Mine(JsonElement e) => e.GetProperty("participants").EnumerateArray().Single(p => p.GetProperty("email").GetString() == host.Email);
        // The SDK read the answer back into its event, and finds the same again.
        foreach (var seen in new[] { rsvp.GetProperty("returned"), rsvp.GetProperty("found") })
        {
            Assert.Equal(id, seen.GetProperty("id").GetString());
            Assert.Equal("yes", Mine(seen).GetProperty("status").GetString());
            Assert.Equal("See you on Monday", Mine(seen).GetProperty("comment").GetString());
        }

        // Checked on the server: the event, and the REPLY delivered to the organizer (read with an IMAP client of its own).
        using var http = host.Client(host.Token);
        Assert.Equal("yes", Mine(await http.GetFromJsonAsync<JsonElement>($"/events/{id}")).GetProperty("status").GetString());
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(host.SendTo, "INBOX", "Accepted: Design review") == 1, TimeSpan.FromSeconds(60)));
        using var imap = await TestStack.ConnectImapAsync(host.SendTo);
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var uid = Assert.Single(await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("Accepted: Design review")));
        var reply = await imap.Inbox.GetMessageAsync(uid);
        await imap.DisconnectAsync(true);
        var part = Assert.Single(reply.BodyParts.OfType<TextPart>(), p => p.ContentType.IsMimeType("text", "calendar"));
        var calendar = Ical.Net.Calendar.Load(part.Text)!;
        Assert.Equal("REPLY", calendar.Method);
        var vevent = Assert.Single(calendar.Events);
        Assert.Equal(Result("rsvp: find the invitation").GetProperty("ical_uid").GetString(), vevent.Uid);
        var attendee = Assert.Single(vevent.Attendees);
        Assert.Equal($"mailto:{host.Email}", attendee.Value!.ToString(), ignoreCase: true);
        Assert.Equal("ACCEPTED", attendee.ParticipationStatus);
        Assert.Equal("See you on Monday", Assert.Single(vevent.Comments));
    }
}
