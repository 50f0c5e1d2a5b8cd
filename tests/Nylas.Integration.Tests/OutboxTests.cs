using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MailKit.Search;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Accounts;
using Nylas.Engine.Outbox;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>Short retry waits (1 s doubling to 2 s).</summary>
public sealed class OutboxFixture : ConnectFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Outbox:RetrySeconds"] = "1";
        settings["Nylas:Outbox:MaxRetrySeconds"] = "2";
        // The job.* webhooks of outbox items go to a receiver on loopback.
        settings["Nylas:Storage:WebhookQueue"] = "webhooks-" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Webhooks:AllowHttpLoopback"] = "true";
        settings["Nylas:Webhooks:AllowedPrivateNetworks"] = "127.0.0.0/8";
        settings["Nylas:Webhooks:PollMilliseconds"] = "100";
    }

    public sealed record Mailbox(string Email, string Token, string AccountId);

    /// <summary>A fresh mailbox with Postfix's submission service as its SMTP server, or that port relayed through <paramref name="smtpPort"/>.</summary>
    public async Task<Mailbox> ConnectWithSmtpAsync(string prefix, int? smtpPort = null)
    {
        string email = TestStack.NewMailbox(prefix);
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var settings = ImapSettings(email);
        AddSubmission(settings, email, TestStack.ImapPassword);
        if (smtpPort is { } port) settings["smtp_port"] = port;
        var account = await ConnectAsync(email, settings);
        return new Mailbox(email, account.GetProperty("access_token").GetString()!, account.GetProperty("id").GetString()!);
    }

    /// <summary>A client with the access token as a Bearer token, as the v2 SDK's outbox sends it.</summary>
    public HttpClient BearerClient(string token)
    {
        var http = Client();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}

/// <summary>
/// A TCP relay to Postfix's submission port that can be taken down and brought back on the same port: what an SMTP
/// server that is down for a while looks like to the sender (connections refused), with the real server behind it.
/// </summary>
public sealed class SmtpRelay : IAsyncDisposable
{
    private readonly int _target;
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];

    public SmtpRelay(int target)
    {
        _target = target;
        var probe = new TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        Port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public int Port { get; }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        _listener = new TcpListener(System.Net.IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _ = AcceptAsync(_listener, _stop.Token);
    }

    /// <summary>Refuses new connections and cuts the open ones.</summary>
    public void Stop()
    {
        _stop.Cancel();
        _listener?.Stop();
        lock (_open)
        {
            foreach (var c in _open) c.Dispose();
            _open.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(ct); }
            catch (Exception) { return; }
            _ = RelayAsync(client, ct);
        }
    }

    private async Task RelayAsync(TcpClient client, CancellationToken ct)
    {
        var server = new TcpClient();
        lock (_open) { _open.Add(client); _open.Add(server); }
        try
        {
            await server.ConnectAsync(TestStack.ImapHost, _target, ct);
            var a = client.GetStream();
            var b = server.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, ct), b.CopyToAsync(a, ct));
        }
        catch (Exception)
        {
            // A connection cut by Stop, or closed by either side.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// POST /outbox (and the SDK's /v2/outbox) against the real Postfix delivering into Dovecot, with each item's delivery a
/// durable orchestration on Azurite: nothing goes out before send_at, it goes out once after it, a cancelled item never,
/// temporary failures are retried until the retry limit, and a host restart loses nothing.
/// </summary>
public class OutboxTests(OutboxFixture host) : IClassFixture<OutboxFixture>
{
    internal static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    internal static JsonObject Message(string subject, params string[] to) => new()
    {
        ["subject"] = subject,
        ["body"] = $"<p>{subject}</p>",
        ["to"] = new JsonArray(to.Select(t => (JsonNode)new JsonObject { ["name"] = "Receiver", ["email"] = t }).ToArray()),
        ["cc"] = new JsonArray(),
        ["bcc"] = new JsonArray(),
        ["from"] = new JsonArray(),
        ["reply_to"] = new JsonArray(),
        ["labels"] = new JsonArray(),
        ["file_ids"] = new JsonArray(),
    };

    internal static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    internal static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    internal static async Task<JsonElement> ScheduleAsync(OutboxFixture host, string token, JsonObject body, string path = "/outbox")
    {
        using var http = host.BearerClient(token);
        return await JsonAsync(await http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain")), HttpStatusCode.Accepted);
    }

    internal static async Task<JsonElement> GetItemAsync(OutboxFixture host, string token, string id)
    {
        using var http = host.Client(token);
        return await JsonAsync(await http.GetAsync($"/outbox/{id}"), HttpStatusCode.OK);
    }

    internal static async Task<JsonElement> WaitForStateAsync(OutboxFixture host, string token, string id, Func<JsonElement, bool> condition, string what)
    {
        JsonElement item = default;
        Assert.True(await TestStack.WaitUntilAsync(async () => condition(item = await GetItemAsync(host, token, id)), Deadline) is not null,
            $"outbox item {id}: {what} did not happen; last seen: {item}");
        return item;
    }

    internal static async Task WaitForDeliveryAsync(string user, string subject)
        => Assert.True(await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(user, "INBOX", subject) >= 1, Deadline) is not null,
            $"{subject} was not delivered to {user}");

    [Fact]
    public async Task A_message_scheduled_ahead_is_not_delivered_before_send_at_and_once_after_it()
    {
        var sender = await host.ConnectWithSmtpAsync("obs");
        var receiver = await host.ConnectWithSmtpAsync("obr");
        string subject = $"Scheduled {Guid.NewGuid():N}";
        long sendAt = Now + 15;
        var body = Message(subject, receiver.Email);
        body["send_at"] = sendAt;
        // The SDK's own path, with a Bearer token, as outbox.send() calls it.
        var created = await ScheduleAsync(host, sender.Token, body, "/v2/outbox");
        string id = created.GetProperty("job_status_id").GetString()!;
        Assert.Equal(id, created.GetProperty("id").GetString());
        Assert.Equal("pending", created.GetProperty("status").GetString());
        Assert.Equal("scheduled", created.GetProperty("state").GetString());
        Assert.Equal(sendAt, created.GetProperty("send_at").GetInt64());
        Assert.Equal(sendAt, created.GetProperty("original_send_at").GetInt64());
        Assert.Equal(sendAt + 3600, created.GetProperty("retry_limit_datetime").GetInt64());
        var data = created.GetProperty("original_data");
        Assert.Equal(subject, data.GetProperty("subject").GetString());
        Assert.Equal(receiver.Email, data.GetProperty("to")[0].GetProperty("email").GetString());
        Assert.Equal(sender.Email, data.GetProperty("from")[0].GetProperty("email").GetString());
        Assert.Equal(sendAt, data.GetProperty("send_at").GetInt64());

        // Listed, and readable under both paths.
        using (var http = host.Client(sender.Token))
        {
            var list = await http.GetFromJsonAsync<JsonElement[]>("/outbox");
            Assert.Equal(id, Assert.Single(list!).GetProperty("id").GetString());
            Assert.Equal("scheduled", (await JsonAsync(await http.GetAsync($"/v2/outbox/{id}"), HttpStatusCode.OK)).GetProperty("state").GetString());
        }

        // Before send_at: still scheduled, nothing in the receiver's INBOX. Only a read that ended before send_at counts: on
        // a loaded machine one can take seconds, and an item read after its time is rightly sending or sent.
        while (Now < sendAt - 3)
        {
            string? state = (await GetItemAsync(host, sender.Token, id)).GetProperty("state").GetString();
            if (Now < sendAt) Assert.Equal("scheduled", state);
            int delivered = await TestStack.CountInFolderAsync(receiver.Email, "INBOX", subject);
            if (Now < sendAt) Assert.Equal(0, delivered);
            await Task.Delay(2000);
        }

        var sent = await WaitForStateAsync(host, sender.Token, id, i => i.GetProperty("state").GetString() == "sent", "sent");
        Assert.True(Now >= sendAt, "sent before send_at");
        Assert.Equal("successful", sent.GetProperty("status").GetString());
        Assert.Equal(1, sent.GetProperty("attempts").GetInt32());
        string messageId = sent.GetProperty("message_id").GetString()!;
        await WaitForDeliveryAsync(receiver.Email, subject);

        // The sent message is the sender's one copy in Sent, in /messages under the id the item names, in a thread.
        using (var http = host.Client(sender.Token))
        {
            var message = await JsonAsync(await http.GetAsync($"/messages/{messageId}"), HttpStatusCode.OK);
            Assert.Equal(subject, message.GetProperty("subject").GetString());
            Assert.Equal("sent", message.GetProperty("folder").GetProperty("name").GetString());
            var item = await WaitForStateAsync(host, sender.Token, id, i => i.GetProperty("thread_id").ValueKind == JsonValueKind.String, "a thread id");
            Assert.Equal(message.GetProperty("thread_id").GetString(), item.GetProperty("thread_id").GetString());
        }
        // Exactly once: a little later still one delivery and one copy in Sent; a sent item cannot be cancelled.
        await Task.Delay(3000);
        Assert.Equal(1, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", subject));
        Assert.Equal(1, await TestStack.CountInFolderAsync(sender.Email, "Sent", subject));
        using (var http = host.Client(sender.Token))
            await ApiErrors.AssertAsync(await http.DeleteAsync($"/outbox/{id}"), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task A_cancelled_message_is_never_delivered_and_a_rescheduled_one_goes_at_its_new_time()
    {
        var sender = await host.ConnectWithSmtpAsync("obc");
        var receiver = await host.ConnectWithSmtpAsync("obd");
        string cancelledSubject = $"Cancelled {Guid.NewGuid():N}";
        string movedSubject = $"Moved {Guid.NewGuid():N}";
        long sendAt = Now + 8;
        var cancelBody = Message(cancelledSubject, receiver.Email);
        cancelBody["send_at"] = sendAt;
        string cancelled = (await ScheduleAsync(host, sender.Token, cancelBody)).GetProperty("id").GetString()!;
        var movedBody = Message(movedSubject, receiver.Email);
        movedBody["send_at"] = Now + 600;
        string moved = (await ScheduleAsync(host, sender.Token, movedBody)).GetProperty("id").GetString()!;

        using var http = host.BearerClient(sender.Token);
        var gone = await JsonAsync(await http.DeleteAsync($"/v2/outbox/{cancelled}"), HttpStatusCode.OK);
        Assert.Equal("cancelled", gone.GetProperty("status").GetString());
        Assert.Equal("cancelled", gone.GetProperty("state").GetString());
        // Cancelling again answers the same; changing it is refused.
        Assert.Equal("cancelled", (await JsonAsync(await http.DeleteAsync($"/outbox/{cancelled}"), HttpStatusCode.OK)).GetProperty("state").GetString());
        await ApiErrors.AssertAsync(await http.PatchAsync($"/outbox/{cancelled}", new StringContent($$"""{"send_at": {{Now + 30}}}""")), HttpStatusCode.Conflict);

        // The second one, due in ten minutes, is moved to a few seconds from now, with a new subject (the SDK's update body).
        long newSendAt = Now + 5;
        var update = Message(movedSubject + " (edited)", receiver.Email);
        update["send_at"] = newSendAt;
        update["retry_limit_datetime"] = newSendAt + 120;
        var changed = await JsonAsync(await http.PatchAsync($"/v2/outbox/{moved}", new StringContent(update.ToJsonString(), Encoding.UTF8, "text/plain")), HttpStatusCode.OK);
        Assert.Equal(newSendAt, changed.GetProperty("send_at").GetInt64());
        Assert.Equal(newSendAt + 120, changed.GetProperty("retry_limit_datetime").GetInt64());
        Assert.NotEqual(newSendAt, changed.GetProperty("original_send_at").GetInt64());
        Assert.Equal(movedSubject + " (edited)", changed.GetProperty("original_data").GetProperty("subject").GetString());

        await WaitForStateAsync(host, sender.Token, moved, i => i.GetProperty("state").GetString() == "sent", "sent at its new time");
        Assert.True(Now >= newSendAt);
        await WaitForDeliveryAsync(receiver.Email, movedSubject + " (edited)");
        // Well past the cancelled one's send_at: never delivered, never attempted.
        while (Now < sendAt + 5) await Task.Delay(1000);
        Assert.Equal(0, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", cancelledSubject));
        var after = await GetItemAsync(host, sender.Token, cancelled);
        Assert.Equal("cancelled", after.GetProperty("state").GetString());
        Assert.Equal(0, after.GetProperty("attempts").GetInt32());
        Assert.Equal(1, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", movedSubject));
    }

    [Fact]
    public async Task An_SMTP_server_that_is_down_is_retried_until_it_is_back_and_the_message_goes_once()
    {
        await using var relay = new SmtpRelay(TestStack.SubmissionPort);
        relay.Start();
        var sender = await host.ConnectWithSmtpAsync("obt", relay.Port);
        var receiver = await host.ConnectWithSmtpAsync("obu");
        relay.Stop();

        string subject = $"Retried {Guid.NewGuid():N}";
        var body = Message(subject, receiver.Email);
        body["retry_limit_datetime"] = Now + 300;
        string id = (await ScheduleAsync(host, sender.Token, body)).GetProperty("id").GetString()!;

        // Refused connections: a temporary failure, shown on the item while it waits for the next attempt.
        var waiting = await WaitForStateAsync(host, sender.Token, id, i => i.GetProperty("attempts").GetInt32() >= 2, "two attempts");
        Assert.Equal("pending", waiting.GetProperty("status").GetString());
        Assert.Contains("could not be reached", waiting.GetProperty("reason").GetString());
        Assert.Equal(0, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", subject));

        relay.Start();
        var sent = await WaitForStateAsync(host, sender.Token, id, i => i.GetProperty("state").GetString() == "sent", "sent once the server is back");
        Assert.Equal("successful", sent.GetProperty("status").GetString());
        Assert.False(sent.TryGetProperty("reason", out _), $"a sent item shows no error: {sent}");
        await WaitForDeliveryAsync(receiver.Email, subject);
        await Task.Delay(3000);
        Assert.Equal(1, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", subject));
        Assert.Equal(1, await TestStack.CountInFolderAsync(sender.Email, "Sent", subject));
    }

    [Fact]
    public async Task Past_the_retry_limit_the_item_fails_with_the_error_and_a_refused_recipient_fails_at_once()
    {
        await using var relay = new SmtpRelay(TestStack.SubmissionPort);
        relay.Start();
        var sender = await host.ConnectWithSmtpAsync("obf", relay.Port);
        relay.Stop();
        string subject = $"Given up {Guid.NewGuid():N}";
        var body = Message(subject, sender.Email);
        body["retry_limit_datetime"] = Now + 4;
        string id = (await ScheduleAsync(host, sender.Token, body)).GetProperty("id").GetString()!;
        var failed = await WaitForStateAsync(host, sender.Token, id, i => i.GetProperty("state").GetString() == "failed", "failed");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        string reason = failed.GetProperty("reason").GetString()!;
        Assert.Contains("could not be reached", reason);
        Assert.Contains("retry limit", reason);
        Assert.True(failed.GetProperty("attempts").GetInt32() >= 1);
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("message_id").ValueKind);

        // The server refuses the recipient for good: failed after one attempt, with its answer.
        relay.Start();
        var refused = await ScheduleAsync(host, sender.Token, Message($"Refused {Guid.NewGuid():N}", "someone@elsewhere.test"));
        string refusedId = refused.GetProperty("id").GetString()!;
        var refusedItem = await WaitForStateAsync(host, sender.Token, refusedId, i => i.GetProperty("state").GetString() == "failed", "failed");
        Assert.Equal(1, refusedItem.GetProperty("attempts").GetInt32());
        Assert.Contains("this test server only delivers to example.com", refusedItem.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_sent_item_fires_job_successful_once_about_the_sent_message_and_a_refused_one_job_failed()
    {
        await using var hooks = new WebhookReceiver();
        await hooks.StartAsync();
        using (var app = host.AppClient())
        {
            var body = new JsonObject { ["callback_url"] = hooks.Url, ["triggers"] = new JsonArray("job.successful", "job.failed") };
            await JsonAsync(await app.PostAsync($"/a/{host.ClientId}/webhooks", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain")), HttpStatusCode.OK);
        }
        var sender = await host.ConnectWithSmtpAsync("obj");
        var receiver = await host.ConnectWithSmtpAsync("obk");
        string sentId = (await ScheduleAsync(host, sender.Token, Message($"Job hook {Guid.NewGuid():N}", receiver.Email))).GetProperty("id").GetString()!;
        string refusedId = (await ScheduleAsync(host, sender.Token, Message($"Job hook refused {Guid.NewGuid():N}", "someone@elsewhere.test"))).GetProperty("id").GetString()!;
        var sent = await WaitForStateAsync(host, sender.Token, sentId, i => i.GetProperty("state").GetString() == "sent", "sent");
        await WaitForStateAsync(host, sender.Token, refusedId, i => i.GetProperty("state").GetString() == "failed", "failed");

        List<JsonElement> Jobs() => [.. hooks.Acknowledged.SelectMany(p => JsonDocument.Parse(p.Body).RootElement.GetProperty("deltas").EnumerateArray())
            .Where(d => d.GetProperty("object_data").GetProperty("account_id").GetString() == sender.AccountId)];
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(Jobs().Count >= 2), Deadline));
        await Task.Delay(TimeSpan.FromSeconds(2)); // room for a duplicate to show
        var jobs = Jobs();
        // Each item has several change-log entries (scheduled, sending, sent): one webhook each all the same.
        Assert.Equal(2, jobs.Count);
        var success = Assert.Single(jobs, d => d.GetProperty("type").GetString() == "job.successful");
        Assert.Equal("message", success.GetProperty("object").GetString());
        Assert.Equal(sent.GetProperty("message_id").GetString(), success.GetProperty("object_data").GetProperty("id").GetString());
        Assert.Equal(sentId, success.GetProperty("object_data").GetProperty("attributes").GetProperty("job_status_id").GetString());
        Assert.Equal("outbox", success.GetProperty("object_data").GetProperty("attributes").GetProperty("action").GetString());
        var failure = Assert.Single(jobs, d => d.GetProperty("type").GetString() == "job.failed");
        Assert.Equal(refusedId, failure.GetProperty("object_data").GetProperty("attributes").GetProperty("job_status_id").GetString());
        Assert.Contains("only delivers to example.com", failure.GetProperty("object_data").GetProperty("attributes").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Bad_input_is_a_400_naming_the_field_and_foreign_or_unknown_ids_are_404()
    {
        var a = await host.ConnectWithSmtpAsync("oba");
        var b = await host.ConnectWithSmtpAsync("obb");
        using var http = host.Client(a.Token);
        async Task<string> BadAsync(JsonObject body, string path = "/outbox")
            => (await ApiErrors.AssertAsync(await http.PostAsync(path, new StringContent(body.ToJsonString())), HttpStatusCode.BadRequest)).GetProperty("message").GetString()!;

        var past = Message("x", b.Email);
        past["send_at"] = Now - 3600;
        Assert.Contains("send_at", await BadAsync(past));
        var far = Message("x", b.Email);
        far["send_at"] = Now + 40L * 86400;
        Assert.Contains("MaxScheduleDays", await BadAsync(far));
        var text = Message("x", b.Email);
        text["send_at"] = "tomorrow";
        Assert.Contains("send_at must be a unix timestamp", await BadAsync(text));
        var limit = Message("x", b.Email);
        limit["send_at"] = Now + 60;
        limit["retry_limit_datetime"] = Now + 30;
        Assert.Contains("retry_limit_datetime", await BadAsync(limit));
        Assert.Contains("No recipients", await BadAsync(Message("x")));
        Assert.Contains("not a valid email address", await BadAsync(Message("x", "not an address")));
        var raw = new ByteArrayContent(Encoding.ASCII.GetBytes("From: x@example.com\r\n\r\nx"));
        raw.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        await ApiErrors.AssertAsync(await http.PostAsync("/outbox", raw), HttpStatusCode.BadRequest);
        await ApiErrors.AssertAsync(await http.PostAsync("/outbox", new StringContent("[1, 2]")), HttpStatusCode.BadRequest);
        await ApiErrors.AssertAsync(await http.GetAsync("/outbox/NOT-AN-ID"), HttpStatusCode.BadRequest);
        await ApiErrors.AssertAsync(await http.GetAsync("/outbox/0000000000000000000000000"), HttpStatusCode.NotFound);
        Assert.Empty((await http.GetFromJsonAsync<JsonElement[]>("/outbox"))!);

        // A's item, far ahead; B's token neither sees, changes nor cancels it.
        var body = Message($"Private {Guid.NewGuid():N}", b.Email);
        body["send_at"] = Now + 3600;
        string id = (await ScheduleAsync(host, a.Token, body)).GetProperty("id").GetString()!;
        using var other = host.Client(b.Token);
        await ApiErrors.AssertAsync(await other.GetAsync($"/outbox/{id}"), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await other.GetAsync($"/v2/outbox/{id}"), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await other.PatchAsync($"/outbox/{id}", new StringContent($$"""{"send_at": {{Now + 30}}}""")), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await other.DeleteAsync($"/v2/outbox/{id}"), HttpStatusCode.NotFound);
        Assert.Empty((await other.GetFromJsonAsync<JsonElement[]>("/outbox"))!);
        Assert.Equal("scheduled", (await GetItemAsync(host, a.Token, id)).GetProperty("state").GetString());
        // A bad update changes nothing.
        await ApiErrors.AssertAsync(await http.PatchAsync($"/outbox/{id}", new StringContent($$"""{"send_at": {{Now - 7200}}}""")), HttpStatusCode.BadRequest);
        Assert.Equal(body["send_at"]!.GetValue<long>(), (await GetItemAsync(host, a.Token, id)).GetProperty("send_at").GetInt64());
        await JsonAsync(await http.DeleteAsync($"/outbox/{id}"), HttpStatusCode.OK);
    }
}

/// <summary>
/// A host restart, in a class of its own: its fixture has only this test's accounts, whose syncs are waiting (no work
/// item in flight) when the host stops, so the stopped host hands its task hub back at once.
/// </summary>
public class OutboxRestartTests(OutboxFixture host) : IClassFixture<OutboxFixture>
{
    [Fact]
    public async Task A_scheduled_message_survives_a_restart_of_the_host_and_goes_once()
    {
        var sender = await host.ConnectWithSmtpAsync("obr");
        var receiver = await host.ConnectWithSmtpAsync("obs");
        // Both accounts' first sync done and waiting on its timer: no sync step in flight when the host stops.
        var syncs = host.App.Services.GetRequiredService<IAccountSyncControl>();
        foreach (var account in new[] { sender, receiver })
        {
            long row = await host.Databases.AccountRowIdAsync(account.AccountId);
            Assert.NotNull(await TestStack.WaitUntilAsync(async () => (await syncs.GetStatusAsync(row))?.Phase == "waiting", OutboxTests.Deadline));
        }
        string subject = $"Restart {Guid.NewGuid():N}";
        long sendAt = OutboxTests.Now + 10;
        var body = OutboxTests.Message(subject, receiver.Email);
        body["send_at"] = sendAt;
        string id = (await OutboxTests.ScheduleAsync(host, sender.Token, body)).GetProperty("id").GetString()!;
        // Its delivery has started and waits on its timer. (A start message fetched but not yet processed when the host
        // stops is only seen again once its queue visibility times out, minutes later: a crash's delay, not this test's.)
        var durable = host.App.Services.GetRequiredService<DurableTaskClient>();
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await durable.GetInstanceAsync(OutboxScheduler.InstanceId(id)))?.RuntimeStatus == OrchestrationRuntimeStatus.Running, OutboxTests.Deadline));
        await Task.Delay(1000);

        // The host is down across send_at: nothing can send it meanwhile.
        await host.RestartAsync(async () =>
        {
            while (OutboxTests.Now < sendAt + 3) await Task.Delay(1000);
            Assert.Equal(0, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", subject));
        });

        var sent = await OutboxTests.WaitForStateAsync(host, sender.Token, id, i => i.GetProperty("state").GetString() == "sent", "sent after the restart");
        Assert.Equal(1, sent.GetProperty("attempts").GetInt32());
        await OutboxTests.WaitForDeliveryAsync(receiver.Email, subject);
        await Task.Delay(3000);
        Assert.Equal(1, await TestStack.CountInFolderAsync(receiver.Email, "INBOX", subject));
        Assert.Equal(1, await TestStack.CountInFolderAsync(sender.Email, "Sent", subject));
    }
}
