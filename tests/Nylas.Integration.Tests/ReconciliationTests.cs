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
        Assert.True(settled.HasValue, "last seen: " + string.Join(", ", after.Select(e => $"{e.Key}={e.Value}")));
        // The same messages, not new copies of them.
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
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
