using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using MailKit.Search;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>A webhook host whose syncback gives up after two refusals a second apart, so a write the server never takes fails within seconds.</summary>
public sealed class SyncbackOutcomeFixture : WebhookFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Syncback:MaxAttempts"] = "2";
        settings["Nylas:Syncback:RetrySeconds"] = "1";
    }
}

/// <summary>
/// How a write ends, as the application learns it: the PUT's <c>job_status_id</c>, <c>/job-statuses</c>, and the
/// <c>job.successful</c> / <c>job.failed</c> webhooks; a write the real Dovecot refuses is undone in the mirror.
/// </summary>
public sealed class SyncbackOutcomeTests(SyncbackOutcomeFixture host, ITestOutputHelper output) : IClassFixture<SyncbackOutcomeFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "text/plain");

    private static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static IEnumerable<JsonElement> Deltas(WebhookReceiver receiver, string accountId) => receiver.Acknowledged
        .SelectMany(p => JsonDocument.Parse(p.Body).RootElement.GetProperty("deltas").EnumerateArray())
        .Where(d => d.GetProperty("object_data").GetProperty("account_id").GetString() == accountId);

    [Fact]
    public async Task A_write_answers_its_job_id_and_its_outcome_arrives_as_a_job_webhook_and_a_refused_one_is_undone()
    {
        await using var receiver = new WebhookReceiver();
        await receiver.StartAsync();
        await host.CreateOkAsync(receiver.Url, "job.successful", "job.failed");

        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "job outcome"));
        using var http = host.Client(token);
        string? messageId = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var list = await http.GetFromJsonAsync<JsonElement>("/messages?limit=10");
            messageId = list.EnumerateArray().FirstOrDefault(m => m.GetProperty("subject").GetString() == "job outcome") is { ValueKind: JsonValueKind.Object } m
                ? m.GetProperty("id").GetString() : null;
            return messageId is not null;
        }, Patience));

        // A write the server takes: its job id in the answer, then job.successful about the message, naming that job.
        var starred = await OkAsync(await http.PutAsync($"/messages/{messageId}", Json(new JsonObject { ["starred"] = true })));
        string starJob = starred.GetProperty("job_status_id").GetString()!;
        // Nothing to write: no job.
        var unchanged = await OkAsync(await http.PutAsync($"/messages/{messageId}", Json(new JsonObject { ["starred"] = true })));
        Assert.False(unchanged.TryGetProperty("job_status_id", out _), unchanged.ToString());

        // Dovecot refuses a mailbox name that begins with '~' ("[CANNOT] Invalid mailbox name"): the create fails after two
        // refusals, and the move queued behind it into that folder fails too, since its target never existed on the server.
        // Both are queued while the sync is suspended: the create fails a second after its first refusal, and on a loaded
        // machine the move, sent right after the create, once arrived after that, when there was no folder to move to.
        var (durable, instanceId) = await host.SuspendSyncAsync(await host.Databases.AccountRowIdAsync(accountId),
            "test: two writes queued before either is applied", Patience);
        var doomed = await OkAsync(await http.PostAsync("/folders", Json(new JsonObject { ["display_name"] = "~Doomed" })));
        string doomedId = doomed.GetProperty("id").GetString()!, createJob = doomed.GetProperty("job_status_id").GetString()!;
        var moved = await OkAsync(await http.PutAsync($"/messages/{messageId}", Json(new JsonObject { ["folder_id"] = doomedId })));
        string moveJob = moved.GetProperty("job_status_id").GetString()!;
        Assert.Equal(doomedId, moved.GetProperty("folder").GetProperty("id").GetString());
        await durable.ResumeInstanceAsync(instanceId, "test: writes queued");

        JsonElement Job(string type, string job) => Deltas(receiver, accountId).FirstOrDefault(d =>
            d.GetProperty("type").GetString() == type && d.GetProperty("object_data").GetProperty("attributes").GetProperty("job_status_id").GetString() == job);
        var elapsed = await TestStack.WaitUntilAsync(() => Task.FromResult(
            Job("job.successful", starJob).ValueKind == JsonValueKind.Object && Job("job.failed", createJob).ValueKind == JsonValueKind.Object
            && Job("job.failed", moveJob).ValueKind == JsonValueKind.Object), Patience);
        Assert.True(elapsed.HasValue, "job webhooks missing; received: " + string.Join("\n", Deltas(receiver, accountId)));
        output.WriteLine($"all three job webhooks within {elapsed.Value.TotalSeconds:F1} s");

        var star = Job("job.successful", starJob);
        Assert.Equal("message", star.GetProperty("object").GetString());
        Assert.Equal(messageId, star.GetProperty("object_data").GetProperty("id").GetString());
        Assert.Equal("mark_starred", star.GetProperty("object_data").GetProperty("attributes").GetProperty("action").GetString());
        var create = Job("job.failed", createJob);
        Assert.Equal("folder", create.GetProperty("object").GetString());
        Assert.Equal(doomedId, create.GetProperty("object_data").GetProperty("id").GetString());
        Assert.Contains("Invalid mailbox name", create.GetProperty("object_data").GetProperty("attributes").GetProperty("reason").GetString());
        Assert.Equal("move", Job("job.failed", moveJob).GetProperty("object_data").GetProperty("attributes").GetProperty("action").GetString());
        // Each outcome once, and no job webhook for the write that queued nothing.
        Assert.Single(Deltas(receiver, accountId), d => d.GetProperty("type").GetString()!.StartsWith("job.", StringComparison.Ordinal)
            && d.GetProperty("object_data").GetProperty("attributes").GetProperty("job_status_id").GetString() == starJob);
        Assert.Equal(3, Deltas(receiver, accountId).Count(d => d.GetProperty("type").GetString()!.StartsWith("job.", StringComparison.Ordinal)));

        // The job statuses say the same, with the server's reason.
        var createStatus = await http.GetFromJsonAsync<JsonElement>($"/job-statuses/{createJob}");
        Assert.Equal("failed", createStatus.GetProperty("status").GetString());
        Assert.Contains("Invalid mailbox name", createStatus.GetProperty("reason").GetString());
        Assert.Equal("successful", (await http.GetFromJsonAsync<JsonElement>($"/job-statuses/{starJob}")).GetProperty("status").GetString());

        // Undone in the mirror: no such folder, the message back in the inbox with the same id, still starred.
        var folders = await http.GetFromJsonAsync<JsonElement>("/folders");
        Assert.DoesNotContain(folders.EnumerateArray(), f => f.GetProperty("id").GetString() == doomedId);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/folders/{doomedId}")).StatusCode);
        var back = await http.GetFromJsonAsync<JsonElement>($"/messages/{messageId}");
        Assert.Equal("inbox", back.GetProperty("folder").GetProperty("name").GetString());
        Assert.True(back.GetProperty("starred").GetBoolean());

        // And the server agrees: no such folder, the message in INBOX, flagged.
        using var imap = await TestStack.ConnectImapAsync(email);
        Assert.DoesNotContain(await imap.GetFoldersAsync(imap.PersonalNamespaces[0]), f => f.Name.Contains("Doomed", StringComparison.Ordinal));
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        var uid = Assert.Single(await imap.Inbox.SearchAsync(SearchQuery.SubjectContains("job outcome")));
        Assert.True((await imap.Inbox.FetchAsync([uid], MessageSummaryItems.Flags))[0].Flags!.Value.HasFlag(MessageFlags.Flagged));
        await imap.DisconnectAsync(true);
    }
}

/// <summary>The sync host acting as if the server lacked MOVE: a move is COPY, \Deleted and UID EXPUNGE.</summary>
public sealed class NoMoveHostFixture : SyncHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:IgnoreCapabilities"] = "MOVE";
    }
}

/// <summary>The sync host acting as if the server lacked MOVE and UIDPLUS: a move is COPY, \Deleted and, only when safe, EXPUNGE.</summary>
public sealed class NoMoveNoUidPlusHostFixture : SyncHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:IgnoreCapabilities"] = "MOVE,UIDPLUS";
    }
}

/// <summary>What an independent client sees after API moves on a server without MOVE, and without MOVE and UIDPLUS.</summary>
public abstract class MoveFallbackTests<TFixture>(TFixture host) where TFixture : LocalHostFixture
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    protected TFixture Host => host;

    protected async Task<(string Email, HttpClient Http, string MessageId, string FolderId)> MessageAndFolderAsync(string subject)
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Elsewhere", true);
            await imap.DisconnectAsync(true);
        }
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, subject));
        var http = host.Client(token);
        string? messageId = null, folderId = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var list = await http.GetFromJsonAsync<JsonElement>("/messages?limit=10");
            messageId = list.EnumerateArray().FirstOrDefault(m => m.GetProperty("subject").GetString() == subject) is { ValueKind: JsonValueKind.Object } m
                ? m.GetProperty("id").GetString() : null;
            folderId = (await http.GetFromJsonAsync<JsonElement>("/folders")).EnumerateArray()
                .FirstOrDefault(f => f.GetProperty("display_name").GetString() == "Elsewhere") is { ValueKind: JsonValueKind.Object } f ? f.GetProperty("id").GetString() : null;
            return messageId is not null && folderId is not null;
        }, Patience));
        return (email, http, messageId!, folderId!);
    }

    protected static async Task MoveAndWaitAsync(HttpClient http, string messageId, string folderId)
    {
        var moved = await http.PutAsync($"/messages/{messageId}", new StringContent(new JsonObject { ["folder_id"] = folderId }.ToJsonString(), Encoding.UTF8, "text/plain"));
        string text = await moved.Content.ReadAsStringAsync();
        Assert.True(moved.StatusCode == HttpStatusCode.OK, text);
        string job = JsonDocument.Parse(text).RootElement.GetProperty("job_status_id").GetString()!;
        string? status = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (status = (await http.GetFromJsonAsync<JsonElement>($"/job-statuses/{job}")).GetProperty("status").GetString()) != "pending", Patience));
        Assert.Equal("successful", status);
    }

    /// <summary>Per folder, the subjects and flags an independent client sees (messages marked deleted included).</summary>
    protected static async Task<Dictionary<string, List<(string Subject, MessageFlags Flags)>>> ServerAsync(string email)
    {
        using var imap = await TestStack.ConnectImapAsync(email);
        var seen = new Dictionary<string, List<(string, MessageFlags)>>();
        foreach (string name in new[] { "INBOX", "Elsewhere" })
        {
            var folder = await imap.GetFolderAsync(name);
            await folder.OpenAsync(FolderAccess.ReadOnly);
            seen[name] = folder.Count == 0 ? [] : [.. (await folder.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.Flags))
                .Select(s => (s.Envelope!.Subject!, s.Flags ?? MessageFlags.None))];
            await folder.CloseAsync();
        }
        await imap.DisconnectAsync(true);
        return seen;
    }
}

public sealed class NoMoveTests(NoMoveHostFixture host) : MoveFallbackTests<NoMoveHostFixture>(host), IClassFixture<NoMoveHostFixture>
{
    [Fact]
    public async Task A_move_without_MOVE_leaves_exactly_one_copy_in_the_target_and_keeps_the_id()
    {
        var (email, http, messageId, folderId) = await MessageAndFolderAsync("copied across");
        await MoveAndWaitAsync(http, messageId, folderId);

        var server = await ServerAsync(email);
        Assert.Empty(server["INBOX"]); // UID EXPUNGE removed the source copy
        Assert.Equal("copied across", Assert.Single(server["Elsewhere"]).Subject);

        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var inTarget = await http.GetFromJsonAsync<JsonElement>($"/messages?in={folderId}");
            var all = await http.GetFromJsonAsync<JsonElement>("/messages");
            return inTarget.GetArrayLength() == 1 && inTarget[0].GetProperty("id").GetString() == messageId && all.GetArrayLength() == 1;
        }, Patience));
        http.Dispose();
    }
}

public sealed class NoMoveNoUidPlusTests(NoMoveNoUidPlusHostFixture host) : MoveFallbackTests<NoMoveNoUidPlusHostFixture>(host), IClassFixture<NoMoveNoUidPlusHostFixture>
{
    [Fact]
    public async Task Without_UIDPLUS_a_move_expunges_only_when_no_other_message_is_marked_deleted()
    {
        var (email, http, messageId, folderId) = await MessageAndFolderAsync("first mover");
        await MoveAndWaitAsync(http, messageId, folderId);
        var server = await ServerAsync(email);
        Assert.Empty(server["INBOX"]); // nothing else was \Deleted: the plain EXPUNGE was safe
        Assert.Equal("first mover", Assert.Single(server["Elsewhere"]).Subject);

        // Another client marks a message deleted and has not expunged it yet (it may still undo that): a plain EXPUNGE
        // would destroy it. The move copies, marks its own copy deleted, and leaves the folder's expunge to that client.
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "second mover"));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "marked by someone else"), MessageFlags.Deleted);
        string? secondId = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var list = await http.GetFromJsonAsync<JsonElement>("/messages?limit=10");
            secondId = list.EnumerateArray().FirstOrDefault(m => m.GetProperty("subject").GetString() == "second mover") is { ValueKind: JsonValueKind.Object } m
                ? m.GetProperty("id").GetString() : null;
            return secondId is not null;
        }, Patience));
        await MoveAndWaitAsync(http, secondId!, folderId);

        server = await ServerAsync(email);
        Assert.Contains(server["INBOX"], m => m.Subject == "marked by someone else" && m.Flags.HasFlag(MessageFlags.Deleted));
        Assert.Contains(server["INBOX"], m => m.Subject == "second mover" && m.Flags.HasFlag(MessageFlags.Deleted));
        Assert.Equal(["first mover", "second mover"], server["Elsewhere"].Select(m => m.Subject).Order());
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await http.GetFromJsonAsync<JsonElement>($"/messages?in={folderId}")).EnumerateArray().Any(m => m.GetProperty("id").GetString() == secondId), Patience));
        http.Dispose();
    }
}
