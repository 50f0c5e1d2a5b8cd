using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailKit;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>A short grace, so a hole is refetched within a test's wait.</summary>
public sealed class ReconciliationHostFixture : SyncHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:HoleGraceSeconds"] = "3";
    }
}

/// <summary>A server like UW-IMAP: no MOVE, CONDSTORE, LIST-STATUS, ESEARCH, UIDPLUS, NOTIFY or SPECIAL-USE.</summary>
public sealed class BareImapHostFixture : SyncHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:HoleGraceSeconds"] = "3";
        settings["Nylas:Sync:IgnoreCapabilities"] = "Move,CondStore,QuickResync,ListStatus,ESearch,UidPlus,Notify,SpecialUse";
    }
}

public class BareImapReconciliationTests(BareImapHostFixture host, ITestOutputHelper output)
    : ReconciliationTests<BareImapHostFixture>(host, output), IClassFixture<BareImapHostFixture>;

public class DovecotReconciliationTests(ReconciliationHostFixture host, ITestOutputHelper output)
    : ReconciliationTests<ReconciliationHostFixture>(host, output), IClassFixture<ReconciliationHostFixture>;

/// <summary>
/// The mirror loses nothing the server holds (issue #11): holes are refetched, a folder that cannot be opened is
/// skipped without stalling the rest, and a move followed by a rename that changes UIDVALIDITY keeps the messages.
/// </summary>
public abstract class ReconciliationTests<TFixture>(TFixture host, ITestOutputHelper output) where TFixture : LocalHostFixture
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Messages_moved_without_MOVE_into_a_folder_then_renamed_with_a_new_uidvalidity_keep_their_ids()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var personal = imap.GetFolder(imap.PersonalNamespaces[0]);
            await personal.CreateAsync("A", isMessageFolder: true);
            await personal.CreateAsync("B", isMessageFolder: true);
        }
        await TestStack.AppendManyAsync(email, Enumerable.Range(0, 10).Select(i => TestStack.SimpleMessage(email, $"in A {i}")), "A");
        using var http = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 10, Timeout));
        var before = await MessagesAsync(http);

        // Both changes happen before the next sync step: the account is stopped meanwhile.
        await SetSyncAsync(accountId, "downgrade");
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var a = await imap.GetFolderAsync("A");
            await a.OpenAsync(FolderAccess.ReadWrite);
            var moved = (await a.SearchAsync(MailKit.Search.SearchQuery.All)).Take(5).ToList();
            // A server without MOVE: COPY, \Deleted, EXPUNGE.
            await a.CopyToAsync(moved, await imap.GetFolderAsync("B"));
            await a.AddFlagsAsync(moved, MessageFlags.Deleted, silent: true);
            await a.ExpungeAsync();
            await a.CloseAsync();
            await (await imap.GetFolderAsync("B")).RenameAsync(imap.GetFolder(imap.PersonalNamespaces[0]), "C");
        }
        // Dovecot keeps UIDVALIDITY on RENAME; the servers of the issue give the renamed folder a new one.
        await TestStack.DoveadmAsync($"mailbox update -u {email} --uid-validity {Random.Shared.Next(100_000, 900_000)} C");
        await SetSyncAsync(accountId, "upgrade");

        Dictionary<string, string?> after = [];
        var settled = await TestStack.WaitUntilAsync(async () =>
        {
            after = await MessagesAsync(http);
            return after.Count == 10 && after.Values.Count(f => f == "C") == 5 && after.Values.Count(f => f == "A") == 5;
        }, Timeout);
        if (!settled.HasValue)
        {
            // One loaded clean-clone run saw every message still in A after 40 s: the host's warnings say why next time.
            output.WriteLine($"account {accountId}: the host's last warnings and errors (UTC):");
            foreach (string line in host.RecentLog.Tail(80)) output.WriteLine("  " + line);
        }
        Assert.True(settled.HasValue, "last seen: " + string.Join(", ", after.Select(e => $"{e.Key}={e.Value}")));
        // The same messages, not new copies of them.
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
    }

    [Fact]
    public async Task A_message_whose_ingest_was_lost_is_fetched_again_after_the_grace()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        for (int i = 0; i < 3; i++) await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, $"kept {i}"));
        using var http = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 3, Timeout));

        // As if the ingest of "kept 1" had never happened (its queue message parked or lost): no row, no location.
        var (shard, accountRow) = await AccountRowAsync(email);
        long message = await host.Databases.ScalarAsync(shard, $"SELECT id FROM messages WHERE account_id = {accountRow} AND subject = 'kept 1'");
        await host.Databases.QueryScalarAsync(shard, $"DELETE FROM imap_uids WHERE message_id = {message}; DELETE FROM messages WHERE id = {message}");
        Assert.Equal(2, await host.CountMessagesAsync(token));

        // Nothing changes on the server: the next passes find the hole, wait out the grace, and fetch it again.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 3, Timeout));
        var subjects = (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray().Select(m => m.GetProperty("subject").GetString()).Order().ToList();
        Assert.Equal(["kept 0", "kept 1", "kept 2"], subjects);
        // Healed: nothing left recorded.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM folder_holes WHERE account_id = {accountRow}") == 0, Timeout));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // the test Dovecot's maildir is made unreadable
    public async Task A_folder_the_server_refuses_to_open_leaves_the_others_synced_and_the_account_partial_until_it_opens()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Locked", isMessageFolder: true);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "locked away"), folder: "Locked");
        using var http = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, Timeout));

        // Dovecot answers NO to SELECT of a folder it cannot read; its messages must not be taken as deleted meanwhile.
        string lockedDir = Path.Combine(Path.GetDirectoryName(TestStack.DovecotConf)!, "mail", email, "Maildir", ".Locked");
        Assert.True(Directory.Exists(lockedDir), lockedDir);
        var (shard, accountRow) = await AccountRowAsync(email);
        File.SetUnixFileMode(lockedDir, UnixFileMode.None);
        try
        {
            await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "in the inbox"));
            await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, Timeout);
            var account = await http.GetFromJsonAsync<JsonElement>("/account");
            var partial = await TestStack.WaitUntilAsync(async () =>
                (account = await http.GetFromJsonAsync<JsonElement>("/account")).GetProperty("sync_state").GetString() == "partial", Timeout);
            Assert.True(partial.HasValue, $"{account} {await host.Databases.QueryScalarAsync("global", $"SELECT sync_error FROM accounts WHERE id = {accountRow}")}");
            output.WriteLine($"partial: {await host.Databases.QueryScalarAsync("global", $"SELECT sync_error FROM accounts WHERE id = {accountRow}")}");
            Assert.Equal(2, await host.CountMessagesAsync(token));
            Assert.NotNull(await FindAsync(http, "locked away"));
            Assert.Equal(1, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM folders WHERE account_id = {accountRow} AND name = 'Locked' AND sync_error IS NOT NULL"));
        }
        finally
        {
            File.SetUnixFileMode(lockedDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after the unlock"), folder: "Locked");
        await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 3, Timeout);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await http.GetFromJsonAsync<JsonElement>("/account")).GetProperty("sync_state").GetString() == "running", Timeout));
        Assert.Equal(3, await host.CountMessagesAsync(token));
        Assert.Equal(0, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM folders WHERE account_id = {accountRow} AND sync_error IS NOT NULL"));
    }

    private static async Task<JsonElement?> FindAsync(HttpClient http, string subject)
    {
        foreach (var m in (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray())
            if (m.GetProperty("subject").GetString() == subject) return m;
        return null;
    }

    private async Task<(string Shard, long AccountRow)> AccountRowAsync(string email)
    {
        long accountRow = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        return ("shard" + await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountRow}"), accountRow);
    }

    /// <summary>Message id → folder display name (null between locations).</summary>
    private static async Task<Dictionary<string, string?>> MessagesAsync(HttpClient http)
        => (await http.GetFromJsonAsync<JsonElement>("/messages?limit=1000")).EnumerateArray().ToDictionary(
            m => m.GetProperty("id").GetString()!,
            m => m.GetProperty("folder") is { ValueKind: JsonValueKind.Object } f ? f.GetProperty("display_name").GetString() : null);

    private async Task SetSyncAsync(string accountId, string action)
    {
        using var app = host.AppClient();
        using var response = await app.PostAsync($"/a/{host.ClientId}/accounts/{accountId}/{action}", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{action}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        output.WriteLine($"{action}: {(int)response.StatusCode}");
    }
}

/// <summary>A recorded plain IMAP server (no watcher: a recording holds the sync step's commands) with a short grace.</summary>
public sealed class RecordedPlainImapHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "2";
        settings["Nylas:Watch:Enabled"] = "false";
        settings["Nylas:Sync:HoleGraceSeconds"] = "2";
    }
}

/// <summary>
/// A server that leaves UIDs out of FETCH answers although UID SEARCH lists them (Recorded/bare/*.txt): the message
/// it leaves out of a flag FETCH is not deleted, and the one it leaves out of every FETCH is fetched once it answers.
/// </summary>
public class WithheldUidTests(RecordedPlainImapHostFixture host, ITestOutputHelper output) : IClassFixture<RecordedPlainImapHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);

    private static string Recorded(string name) => Path.Combine(AppContext.BaseDirectory, "Recorded", "bare", name);

    [Fact]
    public async Task A_uid_left_out_of_a_fetch_answer_is_not_deleted_and_is_fetched_when_the_server_answers_again()
    {
        await using var server = RecordedImapServer.Start(Recorded("session1.txt"));
        string token = await ConnectAsync(server, "withheld@plain.example");
        using var http = host.Client(token);
        var first = await WaitForSubjectsAsync(server, http, s => s.Count == 3);
        string notesId = first["My notes on the plan"];

        // UID 2 is left out of the flag comparison, UID 4 (new) out of every FETCH, for several sync steps.
        server.Replay(Recorded("session2.txt"));
        int logins = Logins(server);
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(Logins(server) >= logins + 4), Timeout));
        server.ThrowIfUnexpected();
        var during = await SubjectsAsync(http);
        Assert.Equal(notesId, during.GetValueOrDefault("My notes on the plan"));
        Assert.Equal(3, during.Count);
        Assert.Contains(server.Commands, c => c == "UID FETCH 4 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");

        // The server answers for UID 4 again: it is fetched, although the checkpoint passed it long ago.
        server.Replay(Recorded("session3.txt"));
        var after = await WaitForSubjectsAsync(server, http, s => s.ContainsKey("Invoice 2291"));
        Assert.Equal(4, after.Count);
        Assert.Equal(notesId, after["My notes on the plan"]);
        output.WriteLine(string.Join("\n", server.Commands));
    }

    private static int Logins(RecordedImapServer server) => server.Commands.Count(c => c.StartsWith("AUTHENTICATE", StringComparison.Ordinal) || c.StartsWith("LOGIN", StringComparison.Ordinal));

    private static async Task<Dictionary<string, string>> SubjectsAsync(HttpClient http)
        => (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray()
            .ToDictionary(m => m.GetProperty("subject").GetString()!, m => m.GetProperty("id").GetString()!);

    private static async Task<Dictionary<string, string>> WaitForSubjectsAsync(RecordedImapServer server, HttpClient http, Func<Dictionary<string, string>, bool> done)
    {
        Dictionary<string, string> subjects = [];
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            server.ThrowIfUnexpected();
            return done(subjects = await SubjectsAsync(http));
        }, Timeout);
        server.ThrowIfUnexpected();
        Assert.True(elapsed.HasValue, "last seen: " + string.Join(", ", subjects.Keys));
        return subjects;
    }

    private async Task<string> ConnectAsync(RecordedImapServer server, string email)
    {
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["email_address"] = email,
            ["name"] = "Plain Replay",
            ["provider"] = "imap",
            ["settings"] = new System.Text.Json.Nodes.JsonObject
            {
                ["imap_host"] = "127.0.0.1",
                ["imap_port"] = server.Port,
                ["imap_username"] = email,
                ["imap_password"] = "password",
                ["imap_security"] = "none",
            },
        };
        using var app = host.AppClient();
        using var response = await app.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        server.ThrowIfUnexpected();
        Assert.True(response.IsSuccessStatusCode, $"connect failed: {(int)response.StatusCode} {text}");
        return System.Text.Json.Nodes.JsonNode.Parse(text)!["access_token"]!.GetValue<string>();
    }
}
