using MailKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Sync;

/// <summary>
/// The WaitForChange activity: IDLE on INBOX (All Mail on Gmail) for a bounded time, returning early when the server
/// reports new mail. Servers without IDLE get a durable timer in the orchestration instead.
/// </summary>
public sealed partial class ChangeWaiter(
    AccountStore accounts,
    FolderStore folders,
    ImapConnector connector,
    IOptions<NylasOptions> options,
    EngineMetrics metrics,
    ILogger<ChangeWaiter> logger)
{
    public async Task<WaitOutcome> WaitAsync(long accountId, CancellationToken cancellationToken)
    {
        using var wait = metrics.StartWait(accountId);
        var outcome = await WaitForChangeAsync(accountId, wait, cancellationToken);
        // "changed" is set where IDLE (or the check before it) saw mail; the durable outcome does not carry it.
        if (wait.Outcome != "changed") wait.Outcome = outcome.Stop ? "stopped" : !outcome.IdleSupported ? "no_idle" : "quiet";
        return outcome;
    }

    private async Task<WaitOutcome> WaitForChangeAsync(long accountId, EngineMetrics.AccountWorkScope wait, CancellationToken cancellationToken)
    {
        var sync = options.Value.Sync;
        var account = await accounts.GetAsync(accountId, cancellationToken);
        if (account is null || !account.SyncEnabled || account.SyncState == SyncStates.InvalidCredentials)
            return new WaitOutcome(Stop: true, IdleSupported: true, 0);

        var secrets = await accounts.GetSecretsAsync(accountId, cancellationToken);
        using var client = await connector.ConnectAsync(account.Imap, secrets, s => accounts.UpdateSecretsAsync(accountId, s, cancellationToken), cancellationToken);
        wait.Attach(client);
        if (!client.Capabilities.HasFlag(MailKit.Net.Imap.ImapCapabilities.Idle))
            return new WaitOutcome(Stop: false, IdleSupported: false, sync.PollSeconds);

        // Gmail's INBOX is a label that is not synced; every new message shows in All Mail.
        bool labelServer = GmailLabels.IsLabelServer(client);
        var allMail = labelServer ? client.GetFolder(SpecialFolder.All) : null;
        if (labelServer && allMail is null)
            return new WaitOutcome(Stop: false, IdleSupported: false, sync.PollSeconds); // nothing synced to IDLE on
        var inbox = allMail ?? client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, cancellationToken);

        // Mail that arrived between the sync step and now would not wake the IDLE: check first.
        var state = await folders.EnsureAsync(account.ShardId, account.Id, inbox.FullName, inbox.FullName, allMail is null ? FolderRoles.Inbox : "all", cancellationToken);
        if (state.UidValidity != inbox.UidValidity || (inbox.UidNext is { } next && next.Id - 1 > state.SyncedHighUid))
        {
            wait.Outcome = "changed";
            return new WaitOutcome(Stop: false, IdleSupported: true, 0);
        }

        // IDLE in slices with a NOOP between them: a connection that died silently fails the NOOP
        // (and the activity, which is retried) instead of idling until the step's end.
        bool changed = false;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(sync.IdleSeconds);
        void OnChange(object? sender, EventArgs e) => changed = true;
        inbox.CountChanged += OnChange;
        inbox.MessageFlagsChanged += OnChange;
        try
        {
            while (!changed && DateTimeOffset.UtcNow < deadline)
            {
                var slice = TimeSpan.FromSeconds(Math.Min(sync.IdleRefreshSeconds, Math.Max(1, (deadline - DateTimeOffset.UtcNow).TotalSeconds)));
                using var done = new CancellationTokenSource(slice);
                void StopIdle(object? sender, EventArgs e) { try { done.Cancel(); } catch (ObjectDisposedException) { } }
                inbox.CountChanged += StopIdle;
                inbox.MessageFlagsChanged += StopIdle;
                try
                {
                    await client.IdleAsync(done.Token, cancellationToken);
                }
                finally
                {
                    inbox.CountChanged -= StopIdle;
                    inbox.MessageFlagsChanged -= StopIdle;
                }
                if (!changed) await client.NoOpAsync(cancellationToken);
            }
        }
        finally
        {
            inbox.CountChanged -= OnChange;
            inbox.MessageFlagsChanged -= OnChange;
        }
        if (changed)
        {
            LogWoken(accountId);
            wait.Outcome = "changed";
        }
        if (client.IsConnected) await client.DisconnectAsync(quit: true, cancellationToken);
        return new WaitOutcome(Stop: false, IdleSupported: true, 0);
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Account {AccountId}: IDLE reported a change")]
    private partial void LogWoken(long accountId);
}
