using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Nylas.Engine.Accounts;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>/a/{client_id}/accounts/{id} (get, downgrade, upgrade, revoke-all, delete) and /oauth/revoke, over HTTP.</summary>
public class AccountManagementTests(LocalHostFixture host) : IClassFixture<LocalHostFixture>
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "text/plain");

    private async Task<(string ClientId, HttpClient Client)> OtherApplicationAsync()
    {
        var (app, secret) = await host.App.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("someone else");
        var client = host.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(secret + ":")));
        return (app.ClientId, client);
    }

    private async Task<string?> SyncPhaseAsync(long accountDbId)
    {
        var durable = host.App.Services.GetRequiredService<DurableTaskClient>();
        var instance = await durable.GetInstanceAsync(DurableAccountSyncControl.InstanceId(accountDbId), getInputsAndOutputs: true);
        return instance?.ReadCustomStatusAs<AccountSyncStatus>()?.Phase;
    }

    private async Task<string> ShardOfAsync(long accountDbId) => "shard" + await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");

    private static MimeMessage WithFiles(string to, string subject, params (string Name, byte[] Content)[] files)
    {
        var message = TestStack.SimpleMessage(to, subject);
        var body = new BodyBuilder { TextBody = subject };
        foreach (var (name, content) in files) body.Attachments.Add(name, content, new ContentType("text", "plain"));
        message.Body = body.ToMessageBody();
        return message;
    }

    private async Task<OrchestrationRuntimeStatus?> SyncStatusAsync(long accountDbId)
    {
        var durable = host.App.Services.GetRequiredService<DurableTaskClient>();
        return (await durable.GetInstanceAsync(DurableAccountSyncControl.InstanceId(accountDbId), getInputsAndOutputs: false))?.RuntimeStatus;
    }

    [Fact]
    public async Task An_account_is_read_by_its_application_and_is_a_404_to_any_other()
    {
        var (email, _, id) = await host.ConnectNewAccountAsync();
        using var app = host.AppClient();
        var account = JsonDocument.Parse(await app.GetStringAsync($"/a/{host.ClientId}/accounts/{id}")).RootElement;
        Assert.Equal(id, account.GetProperty("id").GetString());
        Assert.Equal(email, account.GetProperty("email_address").GetString());
        Assert.Equal("running", account.GetProperty("sync_state").GetString());
        Assert.False(account.TryGetProperty("access_token", out _));
        await ApiErrors.AssertAsync(await app.GetAsync($"/a/{host.ClientId}/accounts/nosuchaccount"), HttpStatusCode.NotFound);

        var (otherId, other) = await OtherApplicationAsync();
        using (other)
        {
            // Its own client id and secret: the account is not its own, for every verb.
            await ApiErrors.AssertAsync(await other.GetAsync($"/a/{otherId}/accounts/{id}"), HttpStatusCode.NotFound);
            await ApiErrors.AssertAsync(await other.PostAsync($"/a/{otherId}/accounts/{id}/downgrade", Json("{}")), HttpStatusCode.NotFound);
            await ApiErrors.AssertAsync(await other.PostAsync($"/a/{otherId}/accounts/{id}/upgrade", Json("{}")), HttpStatusCode.NotFound);
            await ApiErrors.AssertAsync(await other.PostAsync($"/a/{otherId}/accounts/{id}/revoke-all", Json("{}")), HttpStatusCode.NotFound);
            await ApiErrors.AssertAsync(await other.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{otherId}/accounts/{id}") { Content = Json("{}") }), HttpStatusCode.NotFound);
            Assert.Empty(JsonDocument.Parse(await other.GetStringAsync($"/a/{otherId}/accounts")).RootElement.EnumerateArray());
            // Its secret with our client id: not authenticated.
            await ApiErrors.AssertAsync(await other.GetAsync($"/a/{host.ClientId}/accounts/{id}"), HttpStatusCode.Unauthorized);
            await ApiErrors.AssertAsync(await other.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/accounts/{id}") { Content = Json("{}") }), HttpStatusCode.Unauthorized);
        }
        // Still there and still syncing after all that.
        Assert.Equal("running", JsonDocument.Parse(await app.GetStringAsync($"/a/{host.ClientId}/accounts/{id}")).RootElement.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task Downgrade_stops_sync_and_the_account_api_and_upgrade_resumes_both()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "before downgrade"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));

        using var app = host.AppClient();
        using (var down = await app.PostAsync($"/a/{host.ClientId}/accounts/{id}/downgrade", Json("{}")))
        {
            Assert.Equal(HttpStatusCode.OK, down.StatusCode);
            Assert.True(JsonDocument.Parse(await down.Content.ReadAsStringAsync()).RootElement.GetProperty("success").GetBoolean());
        }
        Assert.NotEqual(OrchestrationRuntimeStatus.Running, await SyncStatusAsync(dbId));
        Assert.Equal("stopped", JsonDocument.Parse(await app.GetStringAsync($"/a/{host.ClientId}/accounts/{id}")).RootElement.GetProperty("sync_state").GetString());

        using var http = host.Client(token);
        // GET /account still answers, to show the state; the data endpoints answer 403 like the v2 API did.
        Assert.Equal("stopped", JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement.GetProperty("sync_state").GetString());
        var forbidden = await ApiErrors.AssertAsync(await http.GetAsync("/messages"), HttpStatusCode.Forbidden);
        Assert.Contains("stopped", forbidden.GetProperty("message").GetString());

        // New mail is not synced while stopped (a synced message shows within about a second otherwise).
        string shard = await ShardOfAsync(dbId);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "while stopped"));
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.Equal(1, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM messages WHERE account_id = {dbId}"));
        Assert.Equal("stopped", JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement.GetProperty("sync_state").GetString());

        using (var up = await app.PostAsync($"/a/{host.ClientId}/accounts/{id}/upgrade", Json("{}")))
            Assert.Equal(HttpStatusCode.OK, up.StatusCode);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(60)));
        Assert.Equal("running", JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task Revoke_all_keeps_only_the_named_token_and_oauth_revoke_revokes_the_calling_one()
    {
        var (email, first, id) = await host.ConnectNewAccountAsync();
        // Connecting the same address again issues more tokens for the same account.
        async Task<string> AnotherTokenAsync()
        {
            using var response = await host.PostAccountAsync(email);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
        }
        string second = await AnotherTokenAsync(), third = await AnotherTokenAsync();
        async Task<HttpStatusCode> StatusWith(string token)
        {
            using var http = host.Client(token);
            using var response = await http.GetAsync("/account");
            return response.StatusCode;
        }
        Assert.All(new[] { first, second, third }, t => Assert.Equal(HttpStatusCode.OK, StatusWith(t).Result));

        using var app = host.AppClient();
        using (var revoke = await app.PostAsync($"/a/{host.ClientId}/accounts/{id}/revoke-all", Json($"{{\"keep_access_token\":\"{second}\"}}")))
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWith(first));
        Assert.Equal(HttpStatusCode.OK, await StatusWith(second));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWith(third));

        string fourth = await AnotherTokenAsync();
        using (var http = host.Client(fourth))
        using (var revoke = await http.PostAsync("/oauth/revoke", Json("{}")))
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWith(fourth));
        Assert.Equal(HttpStatusCode.OK, await StatusWith(second));

        // No body at all: every token goes.
        using (var revoke = await app.PostAsync($"/a/{host.ClientId}/accounts/{id}/revoke-all", null))
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusWith(second));
        // The account itself stays.
        Assert.Equal("running", JsonDocument.Parse(await app.GetStringAsync($"/a/{host.ClientId}/accounts/{id}")).RootElement.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task Delete_stops_sync_and_removes_the_account_and_every_row_it_owns()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        var (_, neighbourToken, neighbourId) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        string shard = await ShardOfAsync(dbId);

        await TestStack.AppendAsync(email, WithFiles(email, "with a file", ("notes.txt", Encoding.UTF8.GetBytes("some notes"))));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        // Deleted between sync steps: a step still running at the deletion may write a few rows after it (the
        // deletion sweep removes those; see the test below), which is not what this test is about.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await SyncPhaseAsync(dbId) == "waiting", TimeSpan.FromSeconds(60)));
        Assert.True(await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM message_files mf JOIN messages m ON m.id = mf.message_id WHERE m.account_id = {dbId}") > 0);
        var tables = await ShardTablesWithAccountIdAsync(shard);
        Assert.Contains("messages", tables);
        Assert.Contains("folders", tables);
        Assert.True(await RowsOfAsync(shard, tables, dbId) > 0);

        using var app = host.AppClient();
        // The SDK's DELETE: a JSON body {} sent as text/plain.
        using (var delete = await app.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/accounts/{id}") { Content = Json("{}") }))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
            Assert.True(JsonDocument.Parse(await delete.Content.ReadAsStringAsync()).RootElement.GetProperty("success").GetBoolean());
        }

        using (var http = host.Client(token))
            await ApiErrors.AssertAsync(await http.GetAsync("/messages"), HttpStatusCode.Unauthorized);
        await ApiErrors.AssertAsync(await app.GetAsync($"/a/{host.ClientId}/accounts/{id}"), HttpStatusCode.NotFound);
        await ApiErrors.AssertAsync(await app.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/accounts/{id}") { Content = Json("{}") }), HttpStatusCode.NotFound);
        Assert.Equal(0, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM accounts WHERE id = {dbId}"));
        Assert.Equal(0, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM access_tokens WHERE account_id = {dbId}"));
        Assert.Equal(0, await RowsOfAsync(shard, tables, dbId));
        Assert.Equal(0, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM message_files mf LEFT JOIN messages m ON m.id = mf.message_id WHERE m.id IS NULL"));
        Assert.Null(await SyncStatusAsync(dbId));

        // New mail for the deleted mailbox creates nothing, and the neighbour is untouched.
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after delete"));
        await TestStack.AppendAsync(TestStack.NewMailbox(), TestStack.SimpleMessage(email, "unrelated"));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(0, await RowsOfAsync(shard, tables, dbId));
        using (var neighbour = host.Client(neighbourToken))
            Assert.Equal(neighbourId, JsonDocument.Parse(await neighbour.GetStringAsync("/account")).RootElement.GetProperty("id").GetString());
    }

    private async Task<List<string>> ShardTablesWithAccountIdAsync(string shard)
    {
        var names = new List<string>();
        foreach (string table in new[] { "folders", "messages", "imap_uids", "transactions", "change_cursors", "threads", "thread_message_ids", "thread_gmail_ids",
                     "contacts", "files", "calendars", "events", "gmail_uids", "imap_uid_labels" })
            if (await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' AND COLUMN_NAME = 'account_id'") == 1)
                names.Add(table);
        return names;
    }

    private async Task<long> RowsOfAsync(string shard, IEnumerable<string> tables, long accountDbId)
    {
        long rows = 0;
        foreach (string table in tables) rows += await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM `{table}` WHERE account_id = {accountDbId}");
        return rows;
    }

    [Fact]
    public async Task Deleted_accounts_blobs_are_swept_after_the_grace_period_unless_another_account_has_the_same_content()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        var (neighbourEmail, neighbourToken, _) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        string shard = await ShardOfAsync(dbId);

        // The same newsletter, byte for byte, in both mailboxes; an attachment both have in different messages; and one only the deleted account has.
        string newsletterSubject = "the same newsletter " + Guid.NewGuid();
        var newsletter = TestStack.SimpleMessage(email, newsletterSubject);
        byte[] sharedContent = Encoding.UTF8.GetBytes("shared attachment " + Guid.NewGuid());
        byte[] ownContent = Encoding.UTF8.GetBytes("own attachment " + Guid.NewGuid());
        byte[] refetchedContent = Encoding.UTF8.GetBytes("attachment stored again " + Guid.NewGuid());
        await TestStack.AppendAsync(email, newsletter);
        await TestStack.AppendAsync(email, WithFiles(email, "mine", ("shared.txt", sharedContent), ("own.txt", ownContent), ("again.txt", refetchedContent)));
        await TestStack.AppendAsync(neighbourEmail, newsletter);
        await TestStack.AppendAsync(neighbourEmail, WithFiles(neighbourEmail, "theirs", ("copy.txt", sharedContent)));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2 && await host.CountMessagesAsync(neighbourToken) == 2, TimeSpan.FromSeconds(60)));

        async Task<string> ShaAsync(string sql) => (string)(await host.Databases.QueryScalarAsync(shard, sql))!;
        string sharedRaw = await ShaAsync($"SELECT data_sha256 FROM messages WHERE account_id = {dbId} AND subject LIKE 'the same newsletter%'");
        string ownRaw = await ShaAsync($"SELECT data_sha256 FROM messages WHERE account_id = {dbId} AND subject = 'mine'");
        string sharedFile = await ShaAsync($"SELECT content_sha256 FROM files WHERE account_id = {dbId} AND filename = 'shared.txt'");
        string ownFile = await ShaAsync($"SELECT content_sha256 FROM files WHERE account_id = {dbId} AND filename = 'own.txt'");
        string againFile = await ShaAsync($"SELECT content_sha256 FROM files WHERE account_id = {dbId} AND filename = 'again.txt'");
        string inList = string.Join(", ", new[] { sharedRaw, ownRaw, sharedFile, ownFile, againFile }.Select(s => $"'{s}'"));
        var raw = host.App.Services.GetRequiredService<RawMailStore>();
        var files = host.App.Services.GetRequiredService<FileStore>();
        var sweeper = host.App.Services.GetRequiredService<BlobSweeper>();
        async Task<bool[]> StoredAsync()
            => [await raw.ExistsAsync(sharedRaw), await raw.ExistsAsync(ownRaw), await files.ExistsAsync(sharedFile), await files.ExistsAsync(ownFile), await files.ExistsAsync(againFile)];
        Assert.Equal(new[] { true, true, true, true, true }, await StoredAsync());

        using (var app = host.AppClient())
        using (var delete = await app.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/accounts/{id}") { Content = Json("{}") }))
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);

        // Scheduled for the default grace period (a day), so a sweep now deletes none of them.
        Assert.Equal(5, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM blob_sweep WHERE sha256 IN ({inList}) AND due_at > UTC_TIMESTAMP() + INTERVAL 23 HOUR"));
        await sweeper.SweepAsync(CancellationToken.None);
        Assert.Equal(new[] { true, true, true, true, true }, await StoredAsync());

        // Another account's sync stores one of the attachments again (its ingest not landed yet): the blob is there, so it is touched.
        await Task.Delay(TimeSpan.FromSeconds(1.1)); // Last-Modified has whole seconds
        await files.PutAsync(againFile, new MemoryStream(refetchedContent));

        // The grace period is over: only the content nobody has, and nobody stored again since, goes.
        await host.Databases.ScalarAsync("global", $"UPDATE blob_sweep SET due_at = UTC_TIMESTAMP() - INTERVAL 1 MINUTE WHERE sha256 IN ({inList})");
        await sweeper.SweepAsync(CancellationToken.None);
        Assert.Equal(new[] { true, false, true, false, true }, await StoredAsync());
        Assert.Equal(0, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM blob_sweep WHERE sha256 IN ({inList})"));

        // The neighbour still reads its copy of the newsletter and of the shared attachment.
        using var neighbour = host.Client(neighbourToken);
        var messages = JsonDocument.Parse(await neighbour.GetStringAsync("/messages?subject=" + Uri.EscapeDataString(newsletterSubject))).RootElement;
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{messages[0].GetProperty("id").GetString()}"))
        {
            request.Headers.Accept.ParseAdd("message/rfc822");
            using var response = await neighbour.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains(newsletterSubject, await response.Content.ReadAsStringAsync());
        }
        var copy = JsonDocument.Parse(await neighbour.GetStringAsync("/files")).RootElement.EnumerateArray().Single(f => f.GetProperty("filename").GetString() == "copy.txt");
        Assert.Equal(sharedContent, await neighbour.GetByteArrayAsync($"/files/{copy.GetProperty("id").GetString()}/download"));
    }

    [Fact]
    public async Task What_arrives_after_the_deletion_is_swept_too_mail_still_queued_and_rows_a_running_sync_step_wrote()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        string shard = await ShardOfAsync(dbId);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "before"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        long folderId = await host.Databases.ScalarAsync(shard, $"SELECT id FROM folders WHERE account_id = {dbId} AND name = 'INBOX'");

        using (var app = host.AppClient())
        using (var delete = await app.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/accounts/{id}") { Content = Json("{}") }))
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal(1, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM deleted_accounts WHERE account_id = {dbId}"));

        // A message the sync step fetched and queued just before the deletion, delivered to ingest after it.
        byte[] attachment = Encoding.UTF8.GetBytes("late attachment " + Guid.NewGuid());
        byte[] rawBytes;
        using (var mime = new MemoryStream())
        {
            await WithFiles(email, "queued before the deletion", ("late.txt", attachment)).WriteToAsync(mime);
            rawBytes = mime.ToArray();
        }
        string rawSha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(rawBytes)).ToLowerInvariant();
        string fileSha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(attachment)).ToLowerInvariant();
        string blobName = await host.App.Services.GetRequiredService<RawMailStore>().PutAsync(rawSha, new MemoryStream(rawBytes));
        await host.App.Services.GetRequiredService<IIngestQueue>().EnqueueAsync(
            [new IngestMessage(dbId, int.Parse(shard["shard".Length..]), folderId, 1, 99, blobName, rawSha, rawBytes.Length, [], DateTimeOffset.UtcNow.ToUnixTimeSeconds())], CancellationToken.None);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM blob_sweep WHERE (store = 'raw-mail' AND sha256 = '{rawSha}') OR (store = 'files' AND sha256 = '{fileSha}')") == 2,
            TimeSpan.FromSeconds(60)));
        Assert.Equal(0, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM messages WHERE account_id = {dbId}"));

        // A folder checkpoint a sync step still running at the deletion wrote after it.
        string latePublicId = "late" + Guid.NewGuid().ToString("N")[..20];
        await host.Databases.ScalarAsync(shard, $"INSERT INTO folders (account_id, public_id, name, display_name) VALUES ({dbId}, '{latePublicId}', 'Late', 'Late')");
        // A sync orchestration that outlived the deletion (seen on a loaded machine: its termination landed after the
        // deletion's wait, too late to purge it then).
        await host.App.Services.GetRequiredService<DurableTaskClient>().ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync,
            new AccountSyncInput(dbId), new StartOrchestrationOptions { InstanceId = DurableAccountSyncControl.InstanceId(dbId) });
        Assert.NotNull(await SyncStatusAsync(dbId));
        var (lateRows, _) = await host.App.Services.GetRequiredService<DeletionSweep>().RunAsync(CancellationToken.None);
        Assert.True(lateRows >= 1, $"{lateRows}");
        Assert.Equal(0, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM folders WHERE account_id = {dbId}"));
        Assert.Null(await SyncStatusAsync(dbId));

        // A day later the deletion is forgotten.
        await host.Databases.ScalarAsync("global", $"UPDATE deleted_accounts SET deleted_at = UTC_TIMESTAMP() - INTERVAL 25 HOUR WHERE account_id = {dbId}");
        await host.App.Services.GetRequiredService<DeletionSweep>().RunAsync(CancellationToken.None);
        Assert.Equal(0, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM deleted_accounts WHERE account_id = {dbId}"));
    }

    [Fact]
    public async Task Malformed_management_requests_are_4xx_json_errors()
    {
        var (_, token, id) = await host.ConnectNewAccountAsync();
        using var app = host.AppClient();
        string a = $"/a/{host.ClientId}/accounts";
        var requests = new List<HttpRequestMessage>
        {
            new(HttpMethod.Get, $"{a}/{new string('x', 3000)}"),
            new(HttpMethod.Get, $"{a}/..%2F..%2Fetc"),
            new(HttpMethod.Get, $"{a}/' OR '1'='1"),
            new(HttpMethod.Post, $"{a}/nosuch/downgrade") { Content = Json("{}") },
            new(HttpMethod.Post, $"{a}/nosuch/upgrade"),
            new(HttpMethod.Delete, $"{a}/nosuch") { Content = Json("{}") },
            new(HttpMethod.Post, $"{a}/{id}/revoke-all") { Content = Json("not json") },
            new(HttpMethod.Post, $"{a}/{id}/revoke-all") { Content = Json("[]") },
            new(HttpMethod.Post, $"{a}/{id}/revoke-all") { Content = Json("{\"keep_access_token\":42}") },
            new(HttpMethod.Post, $"{a}/{id}/revoke-all") { Content = Json("{\"keep_access_token\":") },
            new(HttpMethod.Post, $"{a}/{id}/frobnicate") { Content = Json("{}") },
            new(HttpMethod.Put, $"{a}/{id}") { Content = Json("{}") },
        };
        foreach (var request in requests)
        {
            string what = $"{request.Method} {request.RequestUri}";
            using var response = await app.SendAsync(request);
            int status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500, $"{what}: {status} {await response.Content.ReadAsStringAsync()}");
            await ApiErrors.AssertAsync(response, response.StatusCode);
        }

        // /oauth/revoke needs a token; an application secret is not one.
        using (var anonymous = host.Client())
            await ApiErrors.AssertAsync(await anonymous.PostAsync("/oauth/revoke", Json("{}")), HttpStatusCode.Unauthorized);
        await ApiErrors.AssertAsync(await app.PostAsync("/oauth/revoke", Json("{}")), HttpStatusCode.Unauthorized);
        // None of that touched the account.
        using var http = host.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/account")).StatusCode);
    }
}
