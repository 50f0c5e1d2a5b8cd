using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MailKit;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>Short waits: changes outside INBOX (which IDLE does not watch) are picked up on the next cycle.</summary>
public class SyncHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "2";
        settings["Nylas:Sync:IdleRefreshSeconds"] = "5";
    }
}

/// <summary>The same host as a client of a server without CONDSTORE: changes are found by comparing every UID's flags.</summary>
public sealed class NoCondStoreHostFixture : SyncHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:DisableCondStore"] = "true";
    }
}

/// <summary>The mirror follows the server: folders, moves, deletions, flag changes, UIDVALIDITY resets.</summary>
public abstract class MirrorTests<TFixture>(TFixture host, ITestOutputHelper output) where TFixture : LocalHostFixture
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    protected async Task<JsonElement?> FindBySubjectAsync(HttpClient http, string subject)
    {
        var list = await http.GetFromJsonAsync<JsonElement>("/messages");
        foreach (var m in list.EnumerateArray())
            if (m.GetProperty("subject").GetString() == subject) return m;
        return null;
    }

    protected async Task<JsonElement> WaitForAsync(HttpClient http, string subject, Func<JsonElement, bool>? condition = null)
    {
        JsonElement? found = null;
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            found = await FindBySubjectAsync(http, subject);
            return found is { } m && (condition?.Invoke(m) ?? true);
        }, Timeout);
        Assert.True(elapsed.HasValue, $"'{subject}' did not reach the expected state; last seen: {found}");
        output.WriteLine($"'{subject}' reached the expected state after {elapsed.Value.TotalMilliseconds:F0} ms");
        return found!.Value;
    }

    /// <summary>The folder's display name; null while a moved message is between its old and new location.</summary>
    protected static string? FolderName(JsonElement message)
        => message.GetProperty("folder") is { ValueKind: JsonValueKind.Object } folder ? folder.GetProperty("display_name").GetString() : null;

    [Fact]
    public async Task A_flag_change_on_an_old_message_reaches_the_api()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        // Old mail: many messages so the changed one is not the newest.
        for (int i = 0; i < 30; i++)
            await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, $"filler {i}"));
        var old = TestStack.SimpleMessage(email, "the oldest one");
        old.Date = DateTimeOffset.UtcNow.AddYears(-2);
        var uid = await TestStack.AppendAsync(email, old);
        using var http = host.Client(token);
        var before = await WaitForAsync(http, "the oldest one");
        Assert.True(before.GetProperty("unread").GetBoolean());
        Assert.False(before.GetProperty("starred").GetBoolean());

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.AddFlagsAsync(uid!.Value, MessageFlags.Seen | MessageFlags.Flagged, silent: true);
        }
        var after = await WaitForAsync(http, "the oldest one", m => !m.GetProperty("unread").GetBoolean() && m.GetProperty("starred").GetBoolean());
        Assert.Equal(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.RemoveFlagsAsync(uid!.Value, MessageFlags.Flagged, silent: true);
        }
        await WaitForAsync(http, "the oldest one", m => !m.GetProperty("starred").GetBoolean());
    }

    [Fact]
    public async Task A_moved_message_keeps_its_id_and_changes_folder()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        var uid = await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "move me"));
        using var http = host.Client(token);
        var before = await WaitForAsync(http, "move me");
        Assert.Equal("INBOX", FolderName(before));

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.MoveToAsync(uid!.Value, (await imap.GetFolderAsync("Archive"))!);
        }
        var after = await WaitForAsync(http, "move me", m => FolderName(m) == "Archive");
        Assert.Equal(before.GetProperty("id").GetString(), after.GetProperty("id").GetString());
        Assert.Equal("archive", after.GetProperty("folder").GetProperty("name").GetString());
        Assert.Equal(1, await host.CountMessagesAsync(token));
    }

    [Fact]
    public async Task A_message_deleted_on_the_server_is_deleted_from_the_api()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "keep me"));
        var uid = await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "delete me"));
        using var http = host.Client(token);
        string id = (await WaitForAsync(http, "delete me")).GetProperty("id").GetString()!;
        await WaitForAsync(http, "keep me");

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.AddFlagsAsync(uid!.Value, MessageFlags.Deleted, silent: true);
            await imap.Inbox.ExpungeAsync();
        }
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => (await http.GetAsync($"/messages/{id}")).StatusCode == HttpStatusCode.NotFound, Timeout));
        Assert.Equal(1, await host.CountMessagesAsync(token));
        Assert.NotNull(await FindBySubjectAsync(http, "keep me"));
    }
}

public class CondStoreSyncTests(SyncHostFixture host, ITestOutputHelper output) : MirrorTests<SyncHostFixture>(host, output), IClassFixture<SyncHostFixture>
{
    private readonly SyncHostFixture _host = host;

    [Fact]
    public async Task Folders_are_mirrored_with_roles_and_a_rename_keeps_the_id()
    {
        var (email, token, _) = await _host.ConnectNewAccountAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var personal = imap.GetFolder(imap.PersonalNamespaces[0]);
            var projects = (await personal.CreateAsync("Projects", isMessageFolder: true))!;
            await projects.AppendAsync(new AppendRequest(TestStack.SimpleMessage(email, "in a project"), MessageFlags.None));
        }
        using var http = _host.Client(token);
        JsonElement folders = default;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            folders = await http.GetFromJsonAsync<JsonElement>("/folders");
            var names = folders.EnumerateArray().Select(f => f.GetProperty("display_name").GetString()).ToHashSet();
            return new[] { "INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Projects" }.All(names.Contains);
        }, Timeout));
        var roles = folders.EnumerateArray().ToDictionary(f => f.GetProperty("display_name").GetString()!, f => f.GetProperty("name").GetString());
        Assert.Equal("inbox", roles["INBOX"]);
        Assert.Equal("sent", roles["Sent"]);
        Assert.Equal("drafts", roles["Drafts"]);
        Assert.Equal("trash", roles["Trash"]);
        Assert.Equal("spam", roles["Junk"]);
        Assert.Equal("archive", roles["Archive"]);
        Assert.Null(roles["Projects"]);
        string projectsId = folders.EnumerateArray().First(f => f.GetProperty("display_name").GetString() == "Projects").GetProperty("id").GetString()!;
        string messageId = (await WaitForAsync(http, "in a project", m => FolderName(m) == "Projects")).GetProperty("id").GetString()!;

        using (var imap = await TestStack.ConnectImapAsync(email))
            await (await imap.GetFolderAsync("Projects")).RenameAsync(imap.GetFolder(imap.PersonalNamespaces[0]), "Clients");

        var renamed = await WaitForAsync(http, "in a project", m => FolderName(m) == "Clients");
        Assert.Equal(messageId, renamed.GetProperty("id").GetString());
        var folder = await http.GetFromJsonAsync<JsonElement>($"/folders/{projectsId}");
        Assert.Equal("Clients", folder.GetProperty("display_name").GetString());
    }

    [Fact]
    public async Task Folders_nested_three_levels_deep_are_synced()
    {
        var (email, token, _) = await _host.ConnectNewAccountAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var personal = imap.GetFolder(imap.PersonalNamespaces[0]);
            var year = (await (await (await personal.CreateAsync("Clients", isMessageFolder: true))!
                .CreateAsync("Acme", isMessageFolder: true))!.CreateAsync("2024", isMessageFolder: true))!;
            await year.AppendAsync(new AppendRequest(TestStack.SimpleMessage(email, "deep down"), MessageFlags.None));
        }
        using var http = _host.Client(token);
        await WaitForAsync(http, "deep down", m => FolderName(m) == "Clients/Acme/2024");
    }

    [Fact]
    public async Task A_uidvalidity_reset_resyncs_without_duplicates_or_new_ids()
    {
        var (email, token, _) = await _host.ConnectNewAccountAsync();
        for (int i = 0; i < 5; i++) await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, $"stable {i}"));
        using var http = _host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await _host.CountMessagesAsync(token) == 5, Timeout));
        var idsBefore = (await http.GetFromJsonAsync<JsonElement>("/messages?view=ids")).EnumerateArray().Select(e => e.GetString()).Order().ToList();

        await TestStack.DoveadmAsync($"mailbox update -u {email} --uid-validity {Random.Shared.Next(100_000, 900_000)} INBOX");
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after the reset"));
        await WaitForAsync(http, "after the reset");

        var idsAfter = (await http.GetFromJsonAsync<JsonElement>("/messages?view=ids")).EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(6, idsAfter.Count);
        Assert.Subset(idsAfter.ToHashSet(), idsBefore.ToHashSet());
        Assert.Equal(6, await _host.CountMessagesAsync(token));
    }

    [Fact]
    public async Task The_same_message_in_two_folders_is_one_message()
    {
        var (email, token, _) = await _host.ConnectNewAccountAsync();
        var uid = await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "copied"));
        using var http = _host.Client(token);
        string id = (await WaitForAsync(http, "copied")).GetProperty("id").GetString()!;
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.CopyToAsync(uid!.Value, await imap.GetFolderAsync("Archive"));
        }
        long accountDbId = await _host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        int shard = (int)await _host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            await _host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(*) FROM imap_uids WHERE account_id = {accountDbId}") == 2, Timeout));
        Assert.Equal(1, await _host.CountMessagesAsync(token));
        Assert.Equal(id, (await FindBySubjectAsync(http, "copied"))!.Value.GetProperty("id").GetString());
    }
}

public class FullCompareSyncTests(NoCondStoreHostFixture host, ITestOutputHelper output)
    : MirrorTests<NoCondStoreHostFixture>(host, output), IClassFixture<NoCondStoreHostFixture>;
