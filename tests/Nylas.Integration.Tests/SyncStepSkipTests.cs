using MailKit;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Ingest;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// A sync step looks only at the folders whose status moved since their last complete sync (Dovecot, CONDSTORE):
/// a folder it syncs gets a new last_synced_at, one it skips keeps the old one.
/// </summary>
public sealed class SyncStepSkipTests : WatcherHarness
{
    private async Task<Dictionary<string, DateTime?>> LastSyncedAsync(long accountId, int shardId)
    {
        await using var cmd = Services.GetRequiredService<ShardDirectory>().Shard(shardId)
            .CreateCommand($"SELECT name, last_synced_at FROM folders WHERE account_id = {accountId}");
        var map = new Dictionary<string, DateTime?>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) map[r.GetString(0)] = r.IsDBNull(1) ? null : r.GetDateTime(1);
        return map;
    }

    [Fact]
    public async Task A_step_syncs_only_the_folders_that_changed_and_a_move_keeps_the_message()
    {
        var (email, account) = await CreateAccountAsync();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "in the inbox"));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "archived"), folder: "Archive");
        var syncer = Services.GetRequiredService<MailboxSyncer>();
        // Ingest runs, as in production: a folder whose messages still await ingest is not complete, so not skipped.
        var pump = ActivatorUtilities.CreateInstance<IngestQueuePump>(Services);
        await pump.StartAsync(CancellationToken.None);
        try
        {
            await StepsAsync(syncer, email, account);
        }
        finally
        {
            await pump.StopAsync(CancellationToken.None);
        }
    }

    private async Task StepsAsync(MailboxSyncer syncer, string email, Nylas.Engine.Accounts.Account account)
    {
        Assert.False((await syncer.SyncAsync(account.Id, CancellationToken.None)).HasMore);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountAsync(account, "1") == 2, TimeSpan.FromSeconds(30)));
        // The step after ingest finds every location stored and records each folder's status.
        Assert.False((await syncer.SyncAsync(account.Id, CancellationToken.None)).HasMore);
        var first = await LastSyncedAsync(account.Id, account.ShardId);
        Assert.True(first.Count >= 6 && first.Values.All(v => v is not null), "every folder is synced before it can be skipped");

        await Task.Delay(50);
        Assert.False((await syncer.SyncAsync(account.Id, CancellationToken.None)).HasMore);
        Assert.Equal(first, await LastSyncedAsync(account.Id, account.ShardId));

        // A flag change in Archive and a move from INBOX to Junk: those three folders move, the others do not.
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var archive = await imap.GetFolderAsync("Archive");
            await archive.OpenAsync(FolderAccess.ReadWrite);
            await archive.AddFlagsAsync(new UniqueId(1), MessageFlags.Seen, silent: true);
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.MoveToAsync(new UniqueId(1), await imap.GetFolderAsync("Junk"));
            await imap.DisconnectAsync(true);
        }
        long messageId = await MessageIdOfAsync(account, "in the inbox");
        await Task.Delay(50);
        Assert.False((await syncer.SyncAsync(account.Id, CancellationToken.None)).HasMore);
        var third = await LastSyncedAsync(account.Id, account.ShardId);
        var changed = third.Where(f => f.Value != first[f.Key]).Select(f => f.Key).Order().ToList();
        Assert.Equal(["Archive", "INBOX", "Junk"], changed);
        // The moved message keeps its id, and sits in Junk now.
        Assert.Equal(messageId, await MessageIdOfAsync(account, "in the inbox"));
        Assert.Equal(1, await CountAsync(account, $"m.id = {messageId} AND f.name = 'Junk'"));
        Assert.Equal(2, await CountAsync(account, "1"));
    }

    private async Task<long> MessageIdOfAsync(Nylas.Engine.Accounts.Account account, string subject)
    {
        await using var cmd = Services.GetRequiredService<ShardDirectory>().Shard(account.ShardId).CreateCommand(
            $"SELECT id FROM messages WHERE account_id = {account.Id} AND subject = '{subject}'");
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Messages of the account with a location, matching <paramref name="where"/> (m: messages, f: folders).</summary>
    private async Task<long> CountAsync(Nylas.Engine.Accounts.Account account, string where)
    {
        await using var cmd = Services.GetRequiredService<ShardDirectory>().Shard(account.ShardId).CreateCommand($"""
            SELECT COUNT(DISTINCT m.id) FROM messages m JOIN imap_uids u ON u.message_id = m.id JOIN folders f ON f.id = u.folder_id
            WHERE m.account_id = {account.Id} AND {where}
            """);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }
}
