using System.Net.Http.Json;
using System.Text.Json;
using MailKit;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Sync.Watching;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>
/// A safety cycle of an hour: once an account's first step is done, only the mailbox watcher's wake can explain a
/// change showing in the API within seconds. Leases renew every 3 s, so a new account is watched soon after it connects.
/// </summary>
public sealed class WatchHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "3600";
        settings["Nylas:Watch:LeaseSeconds"] = "10";
    }
}

/// <summary>
/// Changes made by another IMAP client in folders other than INBOX reach the API within seconds (Dovecot offers
/// NOTIFY, so the watcher hears of them without probing). The deadline is generous; no timing is asserted.
/// </summary>
public sealed class WatcherFreshnessTests(WatchHostFixture host, ITestOutputHelper output) : IClassFixture<WatchHostFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>A connected account whose first sync is done and whose mailbox the host's watcher holds.</summary>
    private async Task<(string Email, HttpClient Http)> ConnectedAndIdleAsync()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "first"));
        var http = host.Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        var watcher = host.App.Services.GetRequiredService<MailboxWatcher>();
        long accountId = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(watcher.Watched.Contains(accountId)), TimeSpan.FromSeconds(30)));
        return (email, http);
    }

    private async Task<int> CountInAsync(HttpClient http, string folder)
        => (await http.GetFromJsonAsync<JsonElement>($"/messages?in={Uri.EscapeDataString(folder)}&view=count")).GetProperty("count").GetInt32();

    private async Task<List<string>> FolderNamesAsync(HttpClient http)
        => [.. (await http.GetFromJsonAsync<JsonElement>("/folders")).EnumerateArray().Select(f => f.GetProperty("display_name").GetString()!)];

    private async Task WithinDeadlineAsync(string what, Func<Task<bool>> condition, TimeSpan? deadline = null)
    {
        var limit = deadline ?? Deadline;
        var took = await TestStack.WaitUntilAsync(condition, limit);
        Assert.True(took.HasValue, $"{what} did not show in the API within {limit.TotalSeconds} s (the safety cycle is an hour)");
        output.WriteLine($"{what}: {took.Value.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_new_folder_and_the_messages_appended_to_it_show_within_seconds()
    {
        var (email, http) = await ConnectedAndIdleAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var personal = imap.GetFolder(imap.PersonalNamespaces[0]);
            var filed = (await personal.CreateAsync("Filed by Sieve", isMessageFolder: true))!;
            for (int i = 0; i < 5; i++)
                await filed.AppendAsync(new AppendRequest(TestStack.SimpleMessage(email, $"filed {i}")));
            await imap.DisconnectAsync(true);
        }
        await WithinDeadlineAsync("5 messages in a new folder", async () =>
            (await FolderNamesAsync(http)).Contains("Filed by Sieve") && await CountInAsync(http, "Filed by Sieve") == 5);
    }

    [Fact]
    public async Task A_message_appended_to_an_existing_folder_other_than_inbox_shows_within_seconds()
    {
        var (email, http) = await ConnectedAndIdleAsync();
        Assert.Contains("Archive", await FolderNamesAsync(http));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "archived elsewhere"), folder: "Archive");
        await WithinDeadlineAsync("a message appended to Archive", async () => await CountInAsync(http, "Archive") == 1);
    }

    [Fact]
    public async Task A_flag_changed_in_a_folder_other_than_inbox_shows_within_seconds()
    {
        var (email, http) = await ConnectedAndIdleAsync();
        var uid = await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "to be starred"), folder: "Archive");
        await WithinDeadlineAsync("the message in Archive", async () => await CountInAsync(http, "Archive") == 1);

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var archive = await imap.GetFolderAsync("Archive");
            await archive.OpenAsync(FolderAccess.ReadWrite);
            await archive.AddFlagsAsync(uid!.Value, MessageFlags.Flagged, silent: true);
            await imap.DisconnectAsync(true);
        }
        await WithinDeadlineAsync("a star set in Archive", async () =>
            (await http.GetFromJsonAsync<JsonElement>("/messages?in=Archive")).EnumerateArray().Any(m => m.GetProperty("starred").GetBoolean()));
    }

    [Fact]
    public async Task A_folder_renamed_by_another_client_shows_within_seconds_and_keeps_its_messages()
    {
        var (email, http) = await ConnectedAndIdleAsync();
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Projects", isMessageFolder: true);
            await imap.DisconnectAsync(true);
        }
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "project plan"), folder: "Projects");
        await WithinDeadlineAsync("the new folder Projects", async () => await CountInAsync(http, "Projects") == 1);
        string id = (await http.GetFromJsonAsync<JsonElement>("/messages?in=Projects")).EnumerateArray().Single().GetProperty("id").GetString()!;

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var projects = await imap.GetFolderAsync("Projects");
            await projects.RenameAsync(projects.ParentFolder!, "Projects 2027");
            await imap.DisconnectAsync(true);
        }
        // Usually seen within seconds through NOTIFY; in about one full run in three here it was not (the notification's
        // wake never came; cause not found, see issue #9's note), and the watcher's 30 s safety probe caught it instead.
        await WithinDeadlineAsync("the rename to Projects 2027", async () =>
        {
            var names = await FolderNamesAsync(http);
            return names.Contains("Projects 2027") && !names.Contains("Projects") && await CountInAsync(http, "Projects 2027") == 1;
        }, Deadline + TimeSpan.FromSeconds(30));
        var moved = (await http.GetFromJsonAsync<JsonElement>("/messages?in=Projects%202027")).EnumerateArray().Single();
        Assert.Equal(id, moved.GetProperty("id").GetString());
    }
}
