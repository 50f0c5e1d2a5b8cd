using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MailKit;
using MimeKit;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Webhooks;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// The local host with loopback callbacks allowed (as <c>./dev up</c> allows them), short retries and timeouts so a
/// failing receiver is retried within seconds, and a receiver of its own.
/// </summary>
public class WebhookFixture : LocalHostFixture, IAsyncLifetime
{
    public WebhookReceiver Receiver { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Storage:WebhookQueue"] = "webhooks-" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Webhooks:AllowHttpLoopback"] = "true";
        settings["Nylas:Webhooks:AllowedPrivateNetworks"] = "127.0.0.0/8";
        settings["Nylas:Webhooks:ChallengeTimeoutSeconds"] = "2";
        settings["Nylas:Webhooks:ResponseTimeoutSeconds"] = "2";
        settings["Nylas:Webhooks:ConnectTimeoutSeconds"] = "2";
        settings["Nylas:Webhooks:RetryBaseSeconds"] = "1";
        settings["Nylas:Webhooks:RetryMaxSeconds"] = "2";
        settings["Nylas:Webhooks:FailingAfterAttempts"] = "3";
        settings["Nylas:Webhooks:PollMilliseconds"] = "100";
        settings["Nylas:Webhooks:MaxDeltasPerDelivery"] = "3";
    }

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Receiver.StartAsync();
    }

    public override async Task DisposeAsync()
    {
        await Receiver.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>POST /a/{client_id}/webhooks with the application's secret; the body as the SDK sends it (text/plain).</summary>
    public async Task<HttpResponseMessage> CreateAsync(JsonObject body, HttpClient? client = null)
    {
        using var own = client is null ? AppClient() : null;
        return await (client ?? own!).PostAsync($"/a/{ClientId}/webhooks", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
    }

    public async Task<JsonElement> CreateOkAsync(string url, params string[] triggers)
    {
        using var response = await CreateAsync(new JsonObject { ["callback_url"] = url, ["triggers"] = new JsonArray([.. triggers.Select(t => JsonValue.Create(t))]) });
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"create failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    public async Task<List<JsonElement>> ListAsync()
    {
        using var app = AppClient();
        return [.. (await app.GetFromJsonAsync<JsonElement>($"/a/{ClientId}/webhooks?limit=1000")).EnumerateArray()];
    }
}

/// <summary>Subscriptions through /a/{client_id}/webhooks: the v2 shape, the client secret, and every bad input refused with nothing stored.</summary>
public class WebhookSubscriptionTests(WebhookFixture host) : IClassFixture<WebhookFixture>
{
    [Fact]
    public async Task A_subscription_is_created_after_its_challenge_then_read_listed_switched_and_deleted()
    {
        var challengesBefore = host.Receiver.Requests.Count(r => r.Method == "GET");
        var created = await host.CreateOkAsync(host.Receiver.Url + "?tenant=7", "message.created", "thread.replied", "account.connected");
        Assert.Equal(["id", "application_id", "callback_url", "state", "triggers", "version"], created.EnumerateObject().Select(p => p.Name));
        Assert.Equal(host.ClientId, created.GetProperty("application_id").GetString());
        Assert.Equal(host.Receiver.Url + "?tenant=7", created.GetProperty("callback_url").GetString());
        Assert.Equal("active", created.GetProperty("state").GetString());
        Assert.Equal(["message.created", "thread.replied", "account.connected"], created.GetProperty("triggers").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(0, created.GetProperty("version").GetInt32());
        // The challenge went to the callback, keeping its own query.
        var challenge = host.Receiver.Requests.Where(r => r.Method == "GET").Skip(challengesBefore).Single();
        Assert.Matches("^\\?tenant=7&challenge=[0-9a-f]{32}$", challenge.Query);

        string id = created.GetProperty("id").GetString()!;
        using var app = host.AppClient();
        var got = await app.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/webhooks/{id}");
        Assert.Equal(created.ToString(), got.ToString());
        Assert.Contains(await host.ListAsync(), w => w.GetProperty("id").GetString() == id);

        using (var off = await app.PutAsync($"/a/{host.ClientId}/webhooks/{id}", new StringContent("""{"state":"inactive"}""", Encoding.UTF8, "text/plain")))
        {
            var body = await off.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.OK, off.StatusCode);
            Assert.Equal("inactive", body.GetProperty("state").GetString());
            Assert.Equal(1, body.GetProperty("version").GetInt32());
        }
        // v2 let only the state change.
        var refused = await ApiErrors.AssertAsync(await app.PutAsync($"/a/{host.ClientId}/webhooks/{id}",
            new StringContent($$"""{"state":"active","callback_url":"{{host.Receiver.Url}}"}""", Encoding.UTF8, "text/plain")), HttpStatusCode.BadRequest);
        Assert.Contains("callback_url", refused.GetProperty("message").GetString());
        var badState = await ApiErrors.AssertAsync(await app.PutAsync($"/a/{host.ClientId}/webhooks/{id}",
            new StringContent("""{"state":"paused"}""", Encoding.UTF8, "text/plain")), HttpStatusCode.BadRequest);
        Assert.Contains("state", badState.GetProperty("message").GetString());
        Assert.Equal("inactive", (await app.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/webhooks/{id}")).GetProperty("state").GetString());

        // DELETE with the SDK's {} body.
        using (var delete = new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/webhooks/{id}") { Content = new StringContent("{}", Encoding.UTF8, "text/plain") })
        using (var deleted = await app.SendAsync(delete))
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        await ApiErrors.AssertAsync(await app.GetAsync($"/a/{host.ClientId}/webhooks/{id}"), HttpStatusCode.NotFound);
        Assert.DoesNotContain(await host.ListAsync(), w => w.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task Only_the_owning_application_with_its_secret_sees_a_subscription()
    {
        var created = await host.CreateOkAsync(host.Receiver.Url, "message.created");
        string id = created.GetProperty("id").GetString()!;
        using var anonymous = host.Client();
        await ApiErrors.AssertAsync(await anonymous.GetAsync($"/a/{host.ClientId}/webhooks"), HttpStatusCode.Unauthorized);
        using var wrong = host.Client("not-the-secret");
        await ApiErrors.AssertAsync(await wrong.GetAsync($"/a/{host.ClientId}/webhooks/{id}"), HttpStatusCode.Unauthorized);

        var (other, otherSecret) = await host.App.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("another app");
        using var otherApp = host.Client(otherSecret);
        await ApiErrors.AssertAsync(await otherApp.GetAsync($"/a/{other.ClientId}/webhooks/{id}"), HttpStatusCode.NotFound);
        Assert.Empty((await otherApp.GetFromJsonAsync<JsonElement>($"/a/{other.ClientId}/webhooks")).EnumerateArray());
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { """{"callback_url":"http://93.184.215.14/hook","triggers":["message.created"]}""", "https" },
        { """{"callback_url":"https://10.1.2.3/hook","triggers":["message.created"]}""", "callback_url" },
        { """{"callback_url":"https://169.254.169.254/latest","triggers":["message.created"]}""", "callback_url" },
        { """{"callback_url":"not a url","triggers":["message.created"]}""", "callback_url" },
        { """{"triggers":["message.created"]}""", "callback_url" },
        { """{"callback_url":"RECEIVER","triggers":["message.created","message.exploded"]}""", "message.exploded" },
        { """{"callback_url":"RECEIVER","triggers":[]}""", "triggers" },
        { """{"callback_url":"RECEIVER"}""", "triggers" },
        { """{"callback_url":"RECEIVER","triggers":["message.created"],"state":"paused"}""", "state" },
        { """{"callback_url":"RECEIVER","triggers":["message.created"],"version":3}""", "version" },
        { """["message.created"]""", "JSON object" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_a_400_naming_the_field_and_nothing_is_stored(string body, string named)
    {
        int before = (await host.ListAsync()).Count;
        using var app = host.AppClient();
        using var response = await app.PostAsync($"/a/{host.ClientId}/webhooks",
            new StringContent(body.Replace("RECEIVER", host.Receiver.Url, StringComparison.Ordinal), Encoding.UTF8, "text/plain"));
        var error = await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(named, error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, (await host.ListAsync()).Count);
    }

    [Fact]
    public async Task A_callback_that_does_not_echo_the_challenge_or_is_down_is_refused_and_nothing_is_stored()
    {
        int before = (await host.ListAsync()).Count;
        await using var wrong = new WebhookReceiver { ChallengeAnswer = "something else" };
        await wrong.StartAsync();
        using (var response = await host.CreateAsync(new JsonObject { ["callback_url"] = wrong.Url, ["triggers"] = new JsonArray("message.created") }))
            Assert.Contains("callback_url", (await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest)).GetProperty("message").GetString());
        Assert.Single(wrong.Requests); // the challenge, nothing else

        await wrong.StopAsync();
        using (var response = await host.CreateAsync(new JsonObject { ["callback_url"] = wrong.Url, ["triggers"] = new JsonArray("message.created") }))
            Assert.Contains("callback_url", (await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest)).GetProperty("message").GetString());
        Assert.Equal(before, (await host.ListAsync()).Count);
    }

    [Fact]
    public async Task Without_the_settings_loopback_and_private_callbacks_are_refused()
    {
        // The defaults (and the Bicep deployment): https only, public addresses only.
        var targets = new CallbackTargets(Options.Create(new NylasOptions()));
        var (url, problem) = await targets.CheckAsync(host.Receiver.Url, CancellationToken.None);
        Assert.Null(url);
        Assert.Contains("https", problem);
        (url, problem) = await targets.CheckAsync($"https://127.0.0.1:{host.Receiver.Port}/hook", CancellationToken.None);
        Assert.Null(url);
        Assert.Contains("not a public address", problem);
        (url, problem) = await targets.CheckAsync("https://[::ffff:192.168.1.1]/hook", CancellationToken.None);
        Assert.Null(url);
        Assert.Contains("callback_url", problem);
        (url, _) = await targets.CheckAsync("https://93.184.215.14/hook", CancellationToken.None);
        Assert.NotNull(url);
    }

    [Fact]
    public async Task The_SDK_manages_subscriptions_through_Nylas_webhooks()
    {
        var run = await SdkTourFixture.RunTourAsync(host, ["webhooks"], new() { ["NYLAS_WEBHOOK_CALLBACK"] = host.Receiver.Url });
        Assert.True(run.ExitCode == 0, $"node tour.js webhooks failed ({run.ExitCode}): {run.Stderr}\n{run.Stdout}");
        var steps = JsonDocument.Parse(run.Stdout).RootElement.GetProperty("steps");
        JsonElement Result(string step)
        {
            var s = steps.GetProperty(step);
            Assert.True(s.GetProperty("ok").GetBoolean(), $"{step}: {s}");
            return s.GetProperty("result");
        }
        var created = Result("webhooks.build().save()");
        string id = created.GetProperty("id").GetString()!;
        Assert.Equal(host.ClientId, created.GetProperty("application_id").GetString());
        Assert.Equal(host.Receiver.Url, created.GetProperty("callback_url").GetString());
        Assert.Equal("active", created.GetProperty("state").GetString());
        Assert.Equal(["message.created", "thread.replied"], created.GetProperty("triggers").EnumerateArray().Select(t => t.GetString()));
        Assert.Contains(Result("webhooks.list").EnumerateArray(), w => w.GetProperty("id").GetString() == id);
        Assert.Equal(id, Result("webhooks.find").GetProperty("id").GetString());
        Assert.Equal("inactive", Result("webhook.save() state inactive").GetProperty("state").GetString());
        Assert.DoesNotContain(Result("webhooks.list after delete").EnumerateArray(), w => w.GetProperty("id").GetString() == id);
    }
}

/// <summary>Deliveries: what a change sends, signed; and what a failing receiver gets once it recovers.</summary>
public class WebhookDeliveryTests(WebhookFixture host) : IClassFixture<WebhookFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static JsonElement Json(WebhookReceiver.Received r) => JsonDocument.Parse(r.Body).RootElement;

    private static IEnumerable<JsonElement> Deltas(IEnumerable<WebhookReceiver.Received> posts) => posts.SelectMany(p => Json(p).GetProperty("deltas").EnumerateArray());

    private async Task<string> MessageIdAsync(string token, string subject)
    {
        using var http = host.Client(token);
        string? id = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var list = await http.GetFromJsonAsync<JsonElement>($"/messages?subject={Uri.EscapeDataString(subject)}");
            id = list.GetArrayLength() == 1 ? list[0].GetProperty("id").GetString() : null;
            return id is not null;
        }, Patience));
        return id!;
    }

    [Fact]
    public async Task A_new_message_and_a_reply_are_delivered_signed_in_the_v2_shape()
    {
        await using var receiver = new WebhookReceiver();
        await receiver.StartAsync();
        await host.CreateOkAsync(receiver.Url, "account.connected", "message.created", "thread.replied", "contact.created");
        var (email, token, accountId) = await host.ConnectNewAccountAsync();

        var first = TestStack.SimpleMessage(email, "Webhook plan", "First.", "Ann Archer <ann@example.org>");
        await TestStack.AppendAsync(email, first);
        string firstId = await MessageIdAsync(token, "Webhook plan");
        var reply = TestStack.SimpleMessage(email, "Re: Webhook plan", "Second.", "Ben Baker <ben@example.org>");
        reply.Date = first.Date.AddMinutes(5);
        reply.InReplyTo = first.MessageId;
        reply.References.Add(first.MessageId!);
        await TestStack.AppendAsync(email, reply);
        string replyId = await MessageIdAsync(token, "Re: Webhook plan");

        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(
            Deltas(receiver.Acknowledged).Any(d => d.GetProperty("type").GetString() == "thread.replied")), Patience));
        var posts = receiver.Acknowledged.ToList();
        var deltas = Deltas(posts).ToList();

        // Signed: lowercase hex HMAC-SHA256 of the exact body, keyed with the client secret.
        foreach (var post in posts)
        {
            string expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(host.ClientSecret), post.Body));
            Assert.Equal(expected, post.Header("X-Nylas-Signature"));
            Assert.Matches("^[0-9a-f]{32}$", post.Header("X-Nylas-Delivery-Id"));
            Assert.Equal(accountId, post.Header("X-Nylas-Account-Id"));
            Assert.StartsWith("application/json", post.Header("Content-Type"));
        }
        // One chain of cursors: each delivery starts where the one before ended.
        for (int i = 1; i < posts.Count; i++) Assert.Equal(posts[i - 1].Header("X-Nylas-Cursor-End"), posts[i].Header("X-Nylas-Cursor-Start"));

        Assert.Equal(accountId, deltas.Single(d => d.GetProperty("type").GetString() == "account.connected").GetProperty("object_data").GetProperty("id").GetString());
        using var api = host.Client(token);
        var message = await api.GetFromJsonAsync<JsonElement>($"/messages/{firstId}");
        var created = deltas.Single(d => d.GetProperty("type").GetString() == "message.created" && d.GetProperty("object_data").GetProperty("id").GetString() == firstId);
        Assert.Equal("message", created.GetProperty("object").GetString());
        var data = created.GetProperty("object_data");
        Assert.Equal(accountId, data.GetProperty("account_id").GetString());
        Assert.Equal(accountId, data.GetProperty("namespace_id").GetString());
        Assert.Equal("message", data.GetProperty("object").GetString());
        Assert.Equal(message.GetProperty("thread_id").GetString(), data.GetProperty("attributes").GetProperty("thread_id").GetString());
        Assert.True(data.GetProperty("attributes").GetProperty("received_date").GetInt64() > 0);
        Assert.True(Math.Abs(created.GetProperty("date").GetInt64() - DateTimeOffset.UtcNow.ToUnixTimeSeconds()) < 600);

        // The reply joined the thread of the first message; the first message replied to nothing.
        var replied = deltas.Where(d => d.GetProperty("type").GetString() == "thread.replied").ToList();
        var r = Assert.Single(replied);
        Assert.Equal(message.GetProperty("thread_id").GetString(), r.GetProperty("object_data").GetProperty("id").GetString());
        Assert.Equal(replyId, r.GetProperty("object_data").GetProperty("attributes").GetProperty("message_id").GetString());
        Assert.Contains(deltas, d => d.GetProperty("type").GetString() == "contact.created");
        Assert.DoesNotContain(deltas, d => d.GetProperty("type").GetString() is "message.updated" or "account.running");

        // The v2 SDK's own check accepts the signature (and refuses a changed body), and its model reads the delivery.
        var post0 = posts.First(p => Deltas([p]).Any(d => d.GetProperty("type").GetString() == "message.created"));
        string file = Path.Combine(Path.GetTempPath(), $"webhook-{Guid.NewGuid():N}.json");
        await File.WriteAllBytesAsync(file, post0.Body);
        try
        {
            var run = await SdkTourFixture.RunTourAsync(host, ["verify"], new()
            {
                ["NYLAS_WEBHOOK_BODY_FILE"] = file,
                ["NYLAS_WEBHOOK_SIGNATURE"] = post0.Header("X-Nylas-Signature"),
            });
            Assert.True(run.ExitCode == 0, $"node tour.js verify failed ({run.ExitCode}): {run.Stderr}");
            var verdict = JsonDocument.Parse(run.Stdout).RootElement;
            Assert.True(verdict.GetProperty("valid").GetBoolean());
            Assert.False(verdict.GetProperty("tampered_valid").GetBoolean());
            var sdkDelta = verdict.GetProperty("deltas").EnumerateArray().First(d => d.GetProperty("type").GetString() == "message.created");
            Assert.Equal(message.GetProperty("thread_id").GetString(), sdkDelta.GetProperty("thread_id").GetString());
            Assert.Equal(accountId, sdkDelta.GetProperty("account_id").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_receiver_that_fails_times_out_and_is_down_gets_every_change_in_order_once_it_recovers()
    {
        await using var receiver = new WebhookReceiver();
        await receiver.StartAsync();
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        var webhook = await host.CreateOkAsync(receiver.Url, "message.created");
        string webhookId = webhook.GetProperty("id").GetString()!;
        using var app = host.AppClient();
        async Task<string> StateAsync() => (await app.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/webhooks/{webhookId}")).GetProperty("state").GetString()!;
        var subjects = new List<string>();
        async Task AppendAsync(int n)
        {
            for (int i = 0; i < n; i++)
            {
                string subject = $"Recovery {subjects.Count + 1}";
                subjects.Add(subject);
                await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, subject, subject));
            }
        }

        // 500s: retried with backoff until the subscription shows as failing.
        receiver.Deliveries = WebhookReceiver.Behaviour.Fail500;
        await AppendAsync(2);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => receiver.Posts.Count() >= 3 && await StateAsync() == "failing", Patience));
        // No answer: the sender's response timeout.
        receiver.Deliveries = WebhookReceiver.Behaviour.Hang;
        int posted = receiver.Posts.Count();
        await AppendAsync(2);
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(receiver.Posts.Count() >= posted + 2), Patience));
        // Down: connections refused.
        await receiver.StopAsync();
        await AppendAsync(4);
        using var log = host.AppClient();
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await log.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/webhooks/{webhookId}/deliveries?limit=3")).EnumerateArray()
                .Any(a => a.GetProperty("status_code").ValueKind == JsonValueKind.Null && a.GetProperty("error").GetString()!.Contains("refused", StringComparison.OrdinalIgnoreCase)),
            Patience));
        // Back.
        receiver.Deliveries = WebhookReceiver.Behaviour.Ok;
        await receiver.StartAsync();
        await AppendAsync(1);

        var ids = new List<string>();
        foreach (string subject in subjects) ids.Add(await MessageIdAsync(token, subject));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(
            ids.All(id => Deltas(receiver.Acknowledged).Any(d => d.GetProperty("object_data").GetProperty("id").GetString() == id))), Patience));

        var acked = receiver.Acknowledged.ToList();
        // Every change once, nothing else; no acknowledged delivery id twice; an unbroken chain of cursors.
        var delivered = Deltas(acked).Select(d => d.GetProperty("object_data").GetProperty("id").GetString()!).ToList();
        Assert.Equal(ids.Order(), delivered.Order());
        Assert.Equal(acked.Count, acked.Select(a => a.Header("X-Nylas-Delivery-Id")).Distinct().Count());
        for (int i = 1; i < acked.Count; i++) Assert.Equal(acked[i - 1].Header("X-Nylas-Cursor-End"), acked[i].Header("X-Nylas-Cursor-Start"));
        Assert.All(acked, a => Assert.True(Deltas([a]).Count() <= 3)); // MaxDeltasPerDelivery
        // Within and across deliveries the deltas follow the account's change log.
        var cursors = Deltas(acked).Select(d => d.GetProperty("cursor").GetString()!).ToList();
        Assert.Equal(cursors.Count, cursors.Distinct().Count());
        // The first delivery that failed was retried under the same id until it was acknowledged.
        string firstId = receiver.Posts.First().Header("X-Nylas-Delivery-Id");
        Assert.Equal(firstId, acked[0].Header("X-Nylas-Delivery-Id"));
        Assert.True(receiver.Posts.Count(p => p.Header("X-Nylas-Delivery-Id") == firstId) >= 3);

        // The log shows the 500s, the timeouts and the refusals; the subscription is active again.
        var attempts = (await log.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/webhooks/{webhookId}/deliveries?limit=1000")).EnumerateArray().ToList();
        Assert.Contains(attempts, a => a.GetProperty("status_code").ValueKind == JsonValueKind.Number && a.GetProperty("status_code").GetInt32() == 500);
        Assert.Contains(attempts, a => a.GetProperty("status_code").ValueKind == JsonValueKind.Null && a.GetProperty("error").GetString()!.Contains("no answer"));
        Assert.Contains(attempts, a => a.GetProperty("status_code").ValueKind == JsonValueKind.Number && a.GetProperty("status_code").GetInt32() == 200);
        Assert.All(attempts, a => Assert.Equal(accountId, a.GetProperty("account_id").GetString()));
        Assert.Equal("active", await StateAsync());
    }

    [Fact]
    public async Task Mail_filed_outside_the_inbox_a_flag_change_and_a_move_by_another_client_are_delivered_in_order()
    {
        await using var receiver = new WebhookReceiver();
        await receiver.StartAsync();
        string email = TestStack.NewMailbox();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Filed", true);
            await imap.DisconnectAsync(true);
        }
        string token;
        using (var connected = await host.PostAccountAsync(email))
        {
            Assert.Equal(HttpStatusCode.OK, connected.StatusCode);
            token = (await connected.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
        }
        await host.CreateOkAsync(receiver.Url, "message.created", "message.updated");

        // As a server-side filter files mail: APPENDed straight into another folder.
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "Filed by a rule", "x"), folder: "Filed");
        string filed = await MessageIdAsync(token, "Filed by a rule");
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "Flag and move me", "y"));
        string moved = await MessageIdAsync(token, "Flag and move me");
        bool Has(string type, string id) => Deltas(receiver.Acknowledged).Any(d => d.GetProperty("type").GetString() == type && d.GetProperty("object_data").GetProperty("id").GetString() == id);
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(Has("message.created", filed) && Has("message.created", moved)), Patience));

        // Another client flags it, then moves it: each a message.updated of the same message (a move keeps the id).
        using (var other = await TestStack.ConnectImapAsync(email))
        {
            await other.Inbox.OpenAsync(MailKit.FolderAccess.ReadWrite);
            var uids = await other.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("Flag and move me"));
            await other.Inbox.AddFlagsAsync(uids, MailKit.MessageFlags.Flagged, true);
            await other.DisconnectAsync(true);
        }
        using var api = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => (await api.GetFromJsonAsync<JsonElement>($"/messages/{moved}")).GetProperty("starred").GetBoolean(), Patience));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(
            Deltas(receiver.Acknowledged).Count(d => d.GetProperty("type").GetString() == "message.updated" && d.GetProperty("object_data").GetProperty("id").GetString() == moved) >= 1), Patience));
        using (var other = await TestStack.ConnectImapAsync(email))
        {
            await other.Inbox.OpenAsync(MailKit.FolderAccess.ReadWrite);
            var uids = await other.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("Flag and move me"));
            await other.Inbox.MoveToAsync(uids, await other.GetFolderAsync("Filed"));
            await other.DisconnectAsync(true);
        }
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await api.GetFromJsonAsync<JsonElement>($"/messages/{moved}")).GetProperty("folder") is { ValueKind: JsonValueKind.Object } f && f.GetProperty("display_name").GetString() == "Filed", Patience));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(
            Deltas(receiver.Acknowledged).Count(d => d.GetProperty("type").GetString() == "message.updated" && d.GetProperty("object_data").GetProperty("id").GetString() == moved) >= 2), Patience));

        // In change-log order: the message's creation before its updates, one cursor chain throughout.
        var acked = receiver.Acknowledged.ToList();
        var ofMoved = Deltas(acked).Where(d => d.GetProperty("object_data").GetProperty("id").GetString() == moved).Select(d => d.GetProperty("type").GetString()).ToList();
        Assert.Equal("message.created", ofMoved[0]);
        Assert.All(ofMoved.Skip(1), t => Assert.Equal("message.updated", t));
        for (int i = 1; i < acked.Count; i++) Assert.Equal(acked[i - 1].Header("X-Nylas-Cursor-End"), acked[i].Header("X-Nylas-Cursor-Start"));
    }

    [Fact]
    public async Task An_inactive_subscription_keeps_its_place_and_delivers_what_it_missed_when_active_again()
    {
        await using var receiver = new WebhookReceiver();
        await receiver.StartAsync();
        var (email, token, _) = await host.ConnectNewAccountAsync();
        var webhook = await host.CreateOkAsync(receiver.Url, "message.created");
        string webhookId = webhook.GetProperty("id").GetString()!;
        using var app = host.AppClient();
        async Task SetStateAsync(string state)
        {
            using var response = await app.PutAsync($"/a/{host.ClientId}/webhooks/{webhookId}", new StringContent($$"""{"state":"{{state}}"}""", Encoding.UTF8, "text/plain"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "Before pause", "1"));
        string before = await MessageIdAsync(token, "Before pause");
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(Deltas(receiver.Acknowledged).Any(d => d.GetProperty("object_data").GetProperty("id").GetString() == before)), Patience));

        await SetStateAsync("inactive");
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "During pause A", "2"));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "During pause B", "3"));
        var missed = new[] { await MessageIdAsync(token, "During pause A"), await MessageIdAsync(token, "During pause B") };
        await Task.Delay(TimeSpan.FromSeconds(2)); // several polls: nothing may go out while inactive
        Assert.DoesNotContain(Deltas(receiver.Posts), d => missed.Contains(d.GetProperty("object_data").GetProperty("id").GetString()));

        await SetStateAsync("active");
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(
            missed.All(id => Deltas(receiver.Acknowledged).Any(d => d.GetProperty("object_data").GetProperty("id").GetString() == id))), Patience));
        var acked = receiver.Acknowledged.ToList();
        for (int i = 1; i < acked.Count; i++) Assert.Equal(acked[i - 1].Header("X-Nylas-Cursor-End"), acked[i].Header("X-Nylas-Cursor-Start"));
        Assert.Equal(3, Deltas(acked).Count());
    }
}

/// <summary>The webhook host with the shortest time to inactive (one minute of failures).</summary>
public sealed class ShortPatienceWebhookFixture : WebhookFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Webhooks:InactiveAfterMinutes"] = "1";
    }
}

/// <summary>A subscription whose deliveries keep failing is set inactive after the configured time, and loses nothing.</summary>
public class WebhookDeactivationTests(ShortPatienceWebhookFixture host) : IClassFixture<ShortPatienceWebhookFixture>
{
    [Fact]
    public async Task Failing_for_the_configured_time_makes_a_subscription_inactive_and_active_again_delivers_what_it_missed()
    {
        await using var receiver = new WebhookReceiver { Deliveries = WebhookReceiver.Behaviour.Fail500 };
        await receiver.StartAsync();
        var (email, token, _) = await host.ConnectNewAccountAsync();
        string id = (await host.CreateOkAsync(receiver.Url, "message.created")).GetProperty("id").GetString()!;
        using var app = host.AppClient();
        async Task<string> StateAsync() => (await app.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/webhooks/{id}")).GetProperty("state").GetString()!;

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "Never acknowledged", "x"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await StateAsync() == "failing", TimeSpan.FromSeconds(60)));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await StateAsync() == "inactive", TimeSpan.FromSeconds(150)));
        // Inactive: no more attempts.
        int attempts = receiver.Posts.Count();
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(attempts, receiver.Posts.Count());

        receiver.Deliveries = WebhookReceiver.Behaviour.Ok;
        using (var on = await app.PutAsync($"/a/{host.ClientId}/webhooks/{id}", new StringContent("""{"state":"active"}""", Encoding.UTF8, "text/plain")))
            Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        using var api = host.Client(token);
        string messageId = (await api.GetFromJsonAsync<JsonElement>("/messages?subject=Never%20acknowledged"))[0].GetProperty("id").GetString()!;
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(receiver.Acknowledged.Any()), TimeSpan.FromSeconds(30)));
        var delivered = receiver.Acknowledged.Single();
        // The very delivery that failed, under its id, now acknowledged.
        Assert.Equal(receiver.Posts.First().Header("X-Nylas-Delivery-Id"), delivered.Header("X-Nylas-Delivery-Id"));
        Assert.Equal(messageId, JsonDocument.Parse(delivered.Body).RootElement.GetProperty("deltas")[0].GetProperty("object_data").GetProperty("id").GetString());
        Assert.Equal("active", await StateAsync());
    }
}

/// <summary>The webhook host with <c>Nylas:Transport=ServiceBus</c>: its work travels through the in-process test broker.</summary>
public sealed class ServiceBusWebhookFixture : WebhookFixture
{
    public Nylas.Testing.ServiceBus.ServiceBusBroker Broker { get; } = new();

    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Transport"] = "ServiceBus";
        settings["ServiceBusConnection"] = Broker.ConnectionString;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Broker.Dispose();
    }
}

/// <summary>With Service Bus as the transport, webhook work goes through it (not the storage queue), and a failing receiver is retried the same way.</summary>
public class ServiceBusWebhookTests(ServiceBusWebhookFixture host) : IClassFixture<ServiceBusWebhookFixture>
{
    [Fact]
    public async Task Deliveries_travel_through_the_Service_Bus_webhook_queue_and_recover_from_failures()
    {
        await using var receiver = new WebhookReceiver { Deliveries = WebhookReceiver.Behaviour.Fail500 };
        await receiver.StartAsync();
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        await host.CreateOkAsync(receiver.Url, "message.created");
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "Over the bus", "x"));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(receiver.Posts.Count() >= 2), TimeSpan.FromSeconds(90)));
        receiver.Deliveries = WebhookReceiver.Behaviour.Ok;
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(receiver.Acknowledged.Any()), TimeSpan.FromSeconds(60)));

        using var api = host.Client(token);
        string id = (await api.GetFromJsonAsync<JsonElement>("/messages?subject=Over%20the%20bus"))[0].GetProperty("id").GetString()!;
        var delivered = receiver.Acknowledged.Single();
        Assert.Equal(id, JsonDocument.Parse(delivered.Body).RootElement.GetProperty("deltas")[0].GetProperty("object_data").GetProperty("id").GetString());
        Assert.Equal(receiver.Posts.First().Header("X-Nylas-Delivery-Id"), delivered.Header("X-Nylas-Delivery-Id"));
        Assert.Equal(accountId, delivered.Header("X-Nylas-Account-Id"));

        string queue = host.App.Services.GetRequiredService<IOptions<NylasOptions>>().Value.Storage.WebhookQueue;
        Assert.True(host.Broker.Published(queue) > 0, "no webhook work was sent to the Service Bus webhook queue");
        var storage = host.App.Services.GetRequiredService<StorageQueueWebhookQueue>();
        Assert.Empty((await storage.Queue.PeekMessagesAsync(32)).Value);
    }
}

/// <summary>The pure parts: which change fires which trigger, the signature, the backoff.</summary>
public class WebhookRulesTests
{
    [Theory]
    [InlineData("message", "insert", "message.created")]
    [InlineData("message", "update", "message.updated")]
    [InlineData("message", "delete", null)]
    [InlineData("contact", "insert", "contact.created")]
    [InlineData("calendar", "update", "calendar.updated")]
    [InlineData("event", "delete", "event.deleted")]
    [InlineData("account", "insert", "account.connected")]
    [InlineData("thread", "insert", null)]
    [InlineData("folder", "update", null)]
    [InlineData("label", "insert", null)]
    [InlineData("file", "insert", null)]
    public void A_change_fires_the_v2_trigger_of_its_object_and_command(string objectType, string command, string? trigger)
        => Assert.Equal(trigger, WebhookTriggers.ForChange(objectType, command));

    [Theory]
    [InlineData("running", "account.running")]
    [InlineData("stopped", "account.stopped")]
    [InlineData("invalid-credentials", "account.invalid")]
    [InlineData("sync-error", "account.sync_error")]
    [InlineData("deleting", null)]
    public void An_account_change_fires_the_trigger_of_its_state(string state, string? trigger)
        => Assert.Equal(trigger, WebhookTriggers.ForAccountState(state));

    [Fact]
    public void Every_trigger_the_v2_SDK_knows_is_accepted_and_the_never_fired_ones_are_among_them()
    {
        string[] sdk = ["account.connected", "account.running", "account.stopped", "account.invalid", "account.sync_error", "message.bounced",
            "message.created", "message.opened", "message.updated", "message.link_clicked", "thread.replied", "contact.created", "contact.updated",
            "contact.deleted", "calendar.created", "calendar.updated", "calendar.deleted", "event.created", "event.updated", "event.deleted",
            "job.successful", "job.failed"];
        Assert.Equal(sdk.Order(), WebhookTriggers.All.Order());
        Assert.All(WebhookTriggers.NeverFired, t => Assert.Contains(t, sdk));
        Assert.False(WebhookTriggers.IsKnown("message.deleted"));
    }

    [Fact]
    public void The_signature_is_lowercase_hex_HMAC_SHA256_of_the_body_keyed_with_the_secret()
        // Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(b'client-secret', b'{\"deltas\":[]}', hashlib.sha256).hexdigest())"
        => Assert.Equal("4881f53f1ecde7fef18030736114094fcc914177b073ac71084dbfcdc715a301", CallbackClient.Sign("""{"deltas":[]}"""u8, "client-secret"));

    [Fact]
    public void Backoff_doubles_from_the_base_up_to_the_maximum_with_at_most_a_fifth_of_jitter()
    {
        var settings = new WebhooksOptions { RetryBaseSeconds = 15, RetryMaxSeconds = 3600 };
        Assert.Equal(TimeSpan.FromSeconds(15), WebhookDispatcher.Backoff(settings, 1, 0));
        Assert.Equal(TimeSpan.FromSeconds(30), WebhookDispatcher.Backoff(settings, 2, 0));
        Assert.Equal(TimeSpan.FromSeconds(120), WebhookDispatcher.Backoff(settings, 4, 0));
        Assert.Equal(TimeSpan.FromSeconds(3600), WebhookDispatcher.Backoff(settings, 20, 0));
        Assert.Equal(TimeSpan.FromSeconds(3600 * 1.2), WebhookDispatcher.Backoff(settings, 20, 1));
        // With the defaults a failing subscription is retried well past 24 hours before it is set inactive (72 hours).
        var defaults = new WebhooksOptions();
        double total = Enumerable.Range(1, 200).Select(n => WebhookDispatcher.Backoff(defaults, n, 0).TotalHours).Sum();
        Assert.True(total > defaults.InactiveAfterMinutes / 60.0 && defaults.InactiveAfterMinutes >= 24 * 60);
    }
}
