using Nylas.Engine.Queues;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Ingest;
using Nylas.Engine.Storage;
using Xunit;
using Xunit.Abstractions;
using Nylas.Testing;

namespace Nylas.Integration.Tests;

/// <summary>The walking skeleton end to end: Dovecot → sync orchestration → blob + queue → ingest → MySQL → GET /messages.</summary>
public class PipelineTests(LocalHostFixture host, ITestOutputHelper output) : IClassFixture<LocalHostFixture>
{
    private static readonly TimeSpan SyncTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_message_appended_with_an_imap_client_is_served_by_the_api()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        var message = TestStack.SimpleMessage(email, "Grüße aus München 🎻", "Hallo, wie geht's?", "Zoë Fernández <zoe@example.org>");
        await TestStack.AppendAsync(email, message);

        using var http = host.Client(token);
        JsonElement found = default;
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            var list = await http.GetFromJsonAsync<JsonElement>("/messages");
            found = list.EnumerateArray().FirstOrDefault(m => m.GetProperty("subject").GetString() == "Grüße aus München 🎻");
            return found.ValueKind == JsonValueKind.Object;
        }, SyncTimeout);
        Assert.True(elapsed.HasValue, "the appended message never appeared in GET /messages");
        output.WriteLine($"APPEND → visible in GET /messages after {elapsed.Value.TotalMilliseconds:F0} ms");

        Assert.Equal("message", found.GetProperty("object").GetString());
        Assert.Equal(accountId, found.GetProperty("account_id").GetString());
        var from = Assert.Single(found.GetProperty("from").EnumerateArray());
        Assert.Equal("Zoë Fernández", from.GetProperty("name").GetString());
        Assert.Equal("zoe@example.org", from.GetProperty("email").GetString());
        Assert.Equal(email, found.GetProperty("to")[0].GetProperty("email").GetString());
        Assert.Equal("Hallo, wie geht's?", found.GetProperty("snippet").GetString());
        Assert.True(found.GetProperty("unread").GetBoolean());
        Assert.Equal(message.Date.ToUnixTimeSeconds(), found.GetProperty("date").GetInt64());
        Assert.Equal("inbox", found.GetProperty("folder").GetProperty("name").GetString());
        Assert.False(found.TryGetProperty("labels", out _), "a folder account's message must not carry a labels key");

        // The same message by id, and expanded with its headers.
        string id = found.GetProperty("id").GetString()!;
        var one = await http.GetFromJsonAsync<JsonElement>($"/messages/{id}?view=expanded");
        Assert.Equal(id, one.GetProperty("id").GetString());
        Assert.Equal($"<{message.MessageId}>", one.GetProperty("headers").GetProperty("Message-Id").GetString());
    }

    [Fact]
    public async Task Mail_already_in_the_mailbox_is_synced_on_connect_and_listed_newest_first()
    {
        string email = TestStack.NewMailbox();
        var baseDate = DateTimeOffset.UtcNow.AddDays(-3);
        for (int i = 0; i < 7; i++)
        {
            var m = TestStack.SimpleMessage(email, $"old message {i}");
            m.Date = baseDate.AddHours(i);
            await TestStack.AppendAsync(email, m, i < 3 ? MailKit.MessageFlags.Seen : MailKit.MessageFlags.None);
        }
        using var response = await host.PostAccountAsync(email);
        var account = await response.Content.ReadFromJsonAsync<JsonElement>();
        string token = account.GetProperty("access_token").GetString()!;

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 7, SyncTimeout));
        using var http = host.Client(token);
        var list = (await http.GetFromJsonAsync<JsonElement>("/messages?limit=3&offset=1")).EnumerateArray().ToList();
        Assert.Equal(["old message 5", "old message 4", "old message 3"], list.Select(m => m.GetProperty("subject").GetString()));
        var ids = (await http.GetFromJsonAsync<JsonElement>("/messages?view=ids")).EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(7, ids.Distinct().Count());
        var all = (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray().ToList();
        Assert.Equal(3, all.Count(m => !m.GetProperty("unread").GetBoolean()));
    }

    [Fact]
    public async Task Raw_mime_is_served_byte_for_byte()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        var message = TestStack.SimpleMessage(email, "raw please", "body with ünïcödé");
        message.Headers.Add("X-Odd-Header", "  spaced   value ");
        await TestStack.AppendAsync(email, message);
        using var http = host.Client(token);
        string id = await WaitForSubjectAsync(http, "raw please");

        using var imap = await TestStack.ConnectImapAsync(email);
        await imap.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly);
        using var serverStream = await imap.Inbox.GetStreamAsync(0, "");
        using var serverCopy = new MemoryStream();
        await serverStream.CopyToAsync(serverCopy);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{id}");
        request.Headers.Accept.ParseAdd("message/rfc822");
        using var raw = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal("message/rfc822", raw.Content.Headers.ContentType?.MediaType);
        Assert.Equal(serverCopy.ToArray(), await raw.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_message_mimekit_cannot_parse_is_stored_raw_and_flagged()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        const string garbage = "garbage without any header\r\n\r\nbody\r\n";
        await TestStack.DoveadmAsync($"save -u {email} -m INBOX", garbage);

        using var http = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, SyncTimeout));
        var message = (await http.GetFromJsonAsync<JsonElement>("/messages"))[0];
        Assert.Contains("Failed to parse message headers", message.GetProperty("parse_error").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{message.GetProperty("id").GetString()}");
        request.Headers.Accept.ParseAdd("message/rfc822");
        using var raw = await http.SendAsync(request);
        Assert.Equal(garbage, Encoding.ASCII.GetString(await raw.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task A_message_with_a_hostile_header_is_served_and_flagged_with_what_was_cut()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        var message = TestStack.SimpleMessage(email, "huge header");
        message.Headers.Add("X-Padding", string.Join(" ", Enumerable.Repeat("word", 20_000))); // ~100 KB, folded
        await TestStack.AppendAsync(email, message);
        using var http = host.Client(token);
        await WaitForSubjectAsync(http, "huge header");

        long accountDbId = await host.Databases.AccountRowIdAsync(accountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        var notes = await host.Databases.QueryScalarAsync($"shard{shard}", $"SELECT parse_notes FROM messages WHERE account_id = {accountDbId}");
        Assert.IsType<string>(notes);
        Assert.Contains("X-Padding", (string)notes!, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_redelivered_ingest_message_changes_nothing()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "deliver me twice"));
        using var http = host.Client(token);
        await WaitForSubjectAsync(http, "deliver me twice");

        long accountDbId = await host.Databases.AccountRowIdAsync(accountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        string shardDb = $"shard{shard}";
        async Task<(long, long, long)> Counts() => (
            await host.Databases.ScalarAsync(shardDb, $"SELECT COUNT(*) FROM messages WHERE account_id = {accountDbId}"),
            await host.Databases.ScalarAsync(shardDb, $"SELECT COUNT(*) FROM imap_uids WHERE account_id = {accountDbId}"),
            await host.Databases.ScalarAsync(shardDb, $"SELECT COUNT(*) FROM transactions WHERE account_id = {accountDbId} AND object_type = 'message'"));
        var before = await Counts();
        Assert.Equal((1L, 1L, 1L), before);

        var handler = host.App.Services.GetRequiredService<IngestHandler>();
        long folderId = await host.Databases.ScalarAsync(shardDb, $"SELECT folder_id FROM imap_uids WHERE account_id = {accountDbId}");
        long uid = await host.Databases.ScalarAsync(shardDb, $"SELECT uid FROM imap_uids WHERE account_id = {accountDbId}");
        string sha = (string)(await host.Databases.QueryScalarAsync(shardDb, $"SELECT data_sha256 FROM messages WHERE account_id = {accountDbId}"))!;
        var redelivery = new IngestMessage(accountDbId, shard, folderId, 0, (uint)uid,
            RawMailStore.BlobName(sha), sha, 100, [@"\Seen"], DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await handler.HandleAsync(new IngestBatch([redelivery]), CancellationToken.None);
        await handler.HandleAsync(new IngestBatch([redelivery]), CancellationToken.None);

        Assert.Equal(before, await Counts());
    }

    private async Task<string> WaitForSubjectAsync(HttpClient http, string subject)
    {
        string? id = null;
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            var list = await http.GetFromJsonAsync<JsonElement>("/messages");
            id = list.EnumerateArray().Where(m => m.GetProperty("subject").GetString() == subject).Select(m => m.GetProperty("id").GetString()).FirstOrDefault();
            return id is not null;
        }, SyncTimeout);
        Assert.True(elapsed.HasValue, $"message '{subject}' never appeared");
        return id!;
    }
}
