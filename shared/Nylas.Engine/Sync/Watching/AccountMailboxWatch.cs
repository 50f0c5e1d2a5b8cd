using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Telemetry;
using Polly;
using Polly.Retry;

namespace Nylas.Engine.Sync.Watching;

/// <summary>
/// Watches one account's mailbox over one IMAP connection until cancelled, and wakes the account's sync
/// orchestration when anything changes in any folder. With NOTIFY (RFC 5465) the server reports changes in every
/// folder while the connection IDLEs; without it, IDLE covers INBOX (All Mail on Gmail) and a STATUS probe of all
/// folders every Nylas:Watch:ProbeSeconds covers the rest; without IDLE, the probe alone. Fully asynchronous: a
/// thousand of these share the thread pool.
/// </summary>
public sealed partial class AccountMailboxWatch(
    AccountStore accounts,
    FolderStore folders,
    Syncback.ActionLog actions,
    ImapConnector connector,
    ConnectTargetGuard guard,
    IAccountSyncControl syncControl,
    IOptions<NylasOptions> options,
    EngineMetrics metrics,
    TimeProvider clock,
    ILogger<AccountMailboxWatch> logger)
{
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromMinutes(5);
    // A refused login is the sync step's to report (invalid-credentials, which ends the lease); until then, try rarely.
    private static readonly TimeSpan AuthFailureDelay = TimeSpan.FromMinutes(30);

    /// <summary>Watches until <paramref name="cancellationToken"/> is cancelled, reconnecting with back-off after errors.</summary>
    public async Task RunAsync(long accountId, CancellationToken cancellationToken)
    {
        var wakeRetry = WakeRetry(accountId);
        var wakes = new WakeDebouncer(accountId, TimeSpan.FromMilliseconds(options.Value.Watch.DebounceMilliseconds), cause => WakeAsync(accountId, wakeRetry, cause, cancellationToken), cancellationToken);
        int failures = 0;
        ImapServer? server = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan delay;
            bool unreachable = false;
            try
            {
                var account = await accounts.GetAsync(accountId, cancellationToken);
                if (account is null) return; // deleted: the next renewal releases the lease
                server = account.Imap;
                await WatchOnceAsync(account, wakes, recovering: failures > 0, () => failures = 0, cancellationToken);
                continue;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ImapErrors.IsAuthenticationFailure(ex))
            {
                LogLoginRefused(accountId);
                delay = AuthFailureDelay;
            }
            catch (Exception ex)
            {
                failures++;
                delay = TimeSpan.FromSeconds(Math.Min(MaxReconnectDelay.TotalSeconds, Math.Pow(2, Math.Min(failures, 10)))) * (0.75 + Random.Shared.NextDouble() / 2);
                unreachable = ex is SocketException || ex.InnerException is SocketException;
                LogWatchFailed(accountId, ex.GetType().Name, ImapErrors.IsTransient(ex) ? "transient" : "unexpected", (int)delay.TotalSeconds, ex);
            }
            try
            {
                if (server is not null) await WaitOrServerBackAsync(accountId, server, delay, unreachable, cancellationToken);
                else await Task.Delay(delay, clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The reconnect delay, cut short when the server comes back: every Nylas:Watch:ServerProbeSeconds (with jitter, so
    /// that the accounts of one server do not probe together) a bare TCP connect to it. A server that did not answer
    /// (<paramref name="unreachable"/>, or a probe) and now does ends the wait, and the reconnection wakes the account's
    /// sync out of its back-off; a server that answers all along (the failure was elsewhere) waits the whole delay.
    /// </summary>
    private async Task WaitOrServerBackAsync(long accountId, ImapServer server, TimeSpan delay, bool unreachable, CancellationToken cancellationToken)
    {
        var probeEvery = TimeSpan.FromSeconds(options.Value.Watch.ServerProbeSeconds);
        var until = clock.GetUtcNow() + delay;
        bool wasDown = unreachable;
        while (true)
        {
            var left = until - clock.GetUtcNow();
            if (left <= TimeSpan.Zero) return;
            var next = probeEvery * (0.75 + Random.Shared.NextDouble() / 2);
            await Task.Delay(next < left ? next : left, clock, cancellationToken);
            if (clock.GetUtcNow() >= until) return;
            if (!await ServerAnswersAsync(server, cancellationToken)) wasDown = true;
            else if (wasDown)
            {
                LogServerBack(accountId, server.Host, server.Port);
                return;
            }
        }
    }

    private async Task<bool> ServerAnswersAsync(ImapServer server, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            // Through the guard when the private-network policy is on: the probe dials only what the session may.
            using var socket = await guard.OpenAsync(server.Host, server.Port, bounded.Token)
                ?? await ConnectTargetGuard.DialAllowedAsync(server.Host, server.Port, _ => false, host => host, bounded.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException or PrivateNetworkRefusedException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <param name="recovering">The last connection failed: a sync backing off after the same outage is woken once this one logs in.</param>
    /// <param name="healthy">Called whenever the connection proved to work (a NOOP or a probe answered): the reconnect back-off starts over.</param>
    private async Task WatchOnceAsync(Account account, WakeDebouncer wakes, bool recovering, Action healthy, CancellationToken cancellationToken)
    {
        var secrets = await accounts.GetSecretsAsync(account.Id, cancellationToken);
        using var client = await connector.ConnectAsync(account.Imap, secrets, s => accounts.UpdateSecretsAsync(account.Id, s, cancellationToken), cancellationToken);
        if (recovering) wakes.Trigger("reconnect");
        bool labelServer = GmailLabels.IsLabelServer(client);
        var items = FolderStatusListing.ItemsFor(client);
        bool notify = client.Capabilities.HasFlag(ImapCapabilities.Notify) && !options.Value.Watch.DisableNotify;
        bool idle = client.Capabilities.HasFlag(ImapCapabilities.Idle);
        var watched = labelServer ? client.GetFolder(SpecialFolder.All) : client.Inbox;
        LogWatching(account.Id, notify && watched is not null ? "notify" : idle && watched is not null ? "idle+probe" : "probe");
        try
        {
            if (!(notify && watched is not null && await WatchWithNotifyAsync(account, client, watched, items, wakes, healthy, cancellationToken)))
                await WatchWithProbesAsync(account, client, idle ? watched : null, items, wakes, healthy, cancellationToken);
        }
        finally
        {
            if (client.IsConnected) await LogOutAsync(client);
        }
    }

    /// <summary>A polite LOGOUT, bounded; the connection may be the one that just failed, and its error is already on its way.</summary>
    private static async Task LogOutAsync(ImapClient client)
    {
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.DisconnectAsync(quit: true, bounded.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ImapProtocolException or ImapCommandException or ServiceNotConnectedException)
        {
            // Disposing the client closes the socket anyway.
        }
    }

    /// <summary>
    /// NOTIFY SET for the watched folder (SELECTED) and every personal folder, then IDLE in slices with a NOOP between
    /// them, so a connection that died silently is noticed. MailKit turns the server's unsolicited STATUS, LIST, EXPUNGE
    /// and FETCH responses into events on its folder objects (cached by the LIST), and those events wake. The LIST comes
    /// after NOTIFY SET, so a change is either in its status (compared with the mirror) or reported afterwards.
    /// </summary>
    /// <returns>False when the server refused the NOTIFY SET (the connection is still usable: probe instead).</returns>
    private async Task<bool> WatchWithNotifyAsync(Account account, ImapClient client, IMailFolder watched, StatusItems items, WakeDebouncer wakes, Action healthy, CancellationToken cancellationToken)
    {
        // Opening with CONDSTORE enables it for the session, so the server's STATUS reports carry HIGHESTMODSEQ (flag changes).
        await watched.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        try
        {
            await client.NotifyAsync(status: false,
            [
                new ImapEventGroup(ImapMailboxFilter.Selected, new ImapEvent.MessageNew(), ImapEvent.MessageExpunge, ImapEvent.FlagChange),
                new ImapEventGroup(ImapMailboxFilter.Personal, new ImapEvent.MessageNew(), ImapEvent.MessageExpunge, ImapEvent.FlagChange, ImapEvent.MailboxName),
            ], cancellationToken);
        }
        catch (ImapCommandException ex)
        {
            LogNotifyRefused(account.Id, ex.Response.ToString(), ex.ResponseText);
            return false;
        }
        var listed = await ListAsync(client, items, cancellationToken);

        var subscribed = new HashSet<IMailFolder>();
        // While the safety probe's own LIST-STATUS is read, MailKit raises events for every status it reports, changed or
        // not; the probe compares snapshots itself, so those events are not wakes.
        bool probing = false;
        void Wake(string cause)
        {
            if (!Volatile.Read(ref probing)) wakes.Trigger(cause);
        }
        void Subscribe(IMailFolder folder)
        {
            if (!subscribed.Add(folder)) return;
            folder.CountChanged += (_, _) => Wake("count");
            folder.UidNextChanged += (_, _) => Wake("new");
            folder.UidValidityChanged += (_, _) => Wake("uidvalidity");
            folder.HighestModSeqChanged += (_, _) => Wake("modseq");
            folder.UnreadChanged += (_, _) => Wake("flags");
            folder.MessageFlagsChanged += (_, _) => Wake("flags");
            folder.MessageExpunged += (_, _) => Wake("expunge");
            folder.MessagesVanished += (_, _) => Wake("expunge");
            folder.Renamed += (_, _) => Wake("folders");
            folder.Deleted += (_, _) => Wake("folders");
        }
        void OnFolderCreated(object? sender, FolderCreatedEventArgs e)
        {
            Subscribe(e.Folder);
            Wake("folders");
        }
        foreach (var folder in listed) Subscribe(folder);
        Subscribe(watched);
        client.FolderCreated += OnFolderCreated;
        try
        {
            await CatchUpAsync(account, client, listed, wakes, cancellationToken);
            // A safety net under NOTIFY: every ProbeSeconds the same status comparison as on servers without it, so a
            // notification that never came (seen here: a rename by another client, about one run in three, cause not
            // found) costs at most one probe interval instead of the safety cycle.
            var slice = TimeSpan.FromSeconds(Math.Min(options.Value.Sync.IdleRefreshSeconds, options.Value.Watch.ProbeSeconds));
            var probeEvery = TimeSpan.FromSeconds(options.Value.Watch.ProbeSeconds);
            var last = Snapshot(listed);
            var nextProbe = clock.GetUtcNow() + probeEvery;
            while (!cancellationToken.IsCancellationRequested)
            {
                await IdleAsync(client, slice, cancellationToken);
                if (clock.GetUtcNow() >= nextProbe)
                {
                    Volatile.Write(ref probing, true);
                    Dictionary<string, FolderStatus> now;
                    try { now = Snapshot(await ListAsync(client, items, cancellationToken)); }
                    finally { Volatile.Write(ref probing, false); }
                    var moved = FolderStatusRules.Moved(last, now);
                    if (moved.Count > 0)
                    {
                        LogProbeMoved(wakes.AccountId, moved.Count, moved[0]);
                        wakes.Trigger("probe");
                    }
                    last = now;
                    nextProbe = clock.GetUtcNow() + probeEvery;
                }
                else
                {
                    await client.NoOpAsync(cancellationToken);
                }
                healthy();
            }
        }
        finally
        {
            client.FolderCreated -= OnFolderCreated;
        }
        return true;
    }

    /// <summary>
    /// Whatever changed while nobody watched (before this connection) is due now; so is a sync that is backing off from
    /// an outage this connection shows is over (its last step failed), and API writes still waiting for the server (a
    /// host that stopped before applying them: its successor's watcher finds them here).
    /// </summary>
    private async Task CatchUpAsync(Account account, ImapClient client, IReadOnlyList<IMailFolder> listed, WakeDebouncer wakes, CancellationToken cancellationToken)
    {
        if (account.SyncState == SyncStates.SyncError) wakes.Trigger("server-answers");
        else if ((await actions.LoadPendingAsync(account.ShardId, account.Id, cancellationToken)).Count > 0) wakes.Trigger("pending-writes");
        // Gmail's folders are labels whose status the sync step does not record; its next step comes from the next change.
        if (GmailLabels.IsLabelServer(client)) return;
        if (await ChangedSinceLastSyncAsync(account, listed, cancellationToken)) wakes.Trigger("catch-up");
    }

    /// <summary>
    /// IDLE on the watched folder (when there is one) for slices that end at the next probe; a probe compares every
    /// folder's status with the previous probe's and wakes when any moved, appeared or vanished.
    /// </summary>
    private async Task WatchWithProbesAsync(Account account, ImapClient client, IMailFolder? watched, StatusItems items, WakeDebouncer wakes, Action healthy, CancellationToken cancellationToken)
    {
        var probeEvery = TimeSpan.FromSeconds(options.Value.Watch.ProbeSeconds);
        var refreshEvery = TimeSpan.FromSeconds(options.Value.Sync.IdleRefreshSeconds);
        var listed = await ListAsync(client, items, cancellationToken);
        await CatchUpAsync(account, client, listed, wakes, cancellationToken);
        var last = Snapshot(listed);
        if (watched is not null)
        {
            await watched.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
            // MailKit raises CountChanged for every EXISTS or MESSAGES it reads, changed or not (each probe's LIST-STATUS has one).
            int count = watched.Count;
            watched.CountChanged += (_, _) =>
            {
                int now = watched.Count;
                if (Interlocked.Exchange(ref count, now) != now) wakes.Trigger("new");
            };
            watched.MessageExpunged += (_, _) => wakes.Trigger("expunge");
            watched.MessageFlagsChanged += (_, _) => wakes.Trigger("flags");
        }
        var nextProbe = clock.GetUtcNow() + probeEvery;
        while (!cancellationToken.IsCancellationRequested)
        {
            var untilProbe = nextProbe - clock.GetUtcNow();
            if (untilProbe > TimeSpan.Zero)
            {
                if (watched is null)
                {
                    await Task.Delay(untilProbe, clock, cancellationToken);
                }
                else
                {
                    await IdleAsync(client, untilProbe < refreshEvery ? untilProbe : refreshEvery, cancellationToken);
                    if (clock.GetUtcNow() < nextProbe) await client.NoOpAsync(cancellationToken);
                }
                continue;
            }
            var now = Snapshot(await ListAsync(client, items, cancellationToken));
            var moved = FolderStatusRules.Moved(last, now);
            if (moved.Count > 0)
            {
                LogProbeMoved(wakes.AccountId, moved.Count, moved[0]);
                wakes.Trigger("probe");
            }
            last = now;
            healthy();
            nextProbe = clock.GetUtcNow() + probeEvery;
        }
    }

    /// <summary>
    /// IDLE for <paramref name="slice"/>, then DONE. MailKit reads the server's answer to DONE without the client's read
    /// timeout (jstedfast/MailKit#1697), so on a connection that died silently (a NAT that forgot it, a server that hung)
    /// IDLE would never return and the account would get no wake until the host restarts. The answer is due within the
    /// client's timeout (Nylas:Sync:ConnectTimeoutSeconds) of the slice's end; past that the connection is dropped as dead.
    /// </summary>
    private async Task IdleAsync(ImapClient client, TimeSpan slice, CancellationToken cancellationToken)
    {
        using var done = new CancellationTokenSource(slice, clock);
        using var deadline = new CancellationTokenSource(slice + TimeSpan.FromMilliseconds(client.Timeout), clock);
        using var dropped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await client.IdleAsync(done.Token, dropped.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The IMAP server did not end IDLE within {client.Timeout / 1000} s of DONE: the connection is dead.");
        }
    }

    /// <summary>Every selectable personal folder with its status, INBOX included: one LIST-STATUS where the server has it.</summary>
    private static async Task<IReadOnlyList<IMailFolder>> ListAsync(ImapClient client, StatusItems items, CancellationToken cancellationToken)
    {
        var all = (await client.GetFoldersAsync(client.PersonalNamespaces[0], items, subscribedOnly: false, cancellationToken))
            .Where(f => !f.Attributes.HasFlag(FolderAttributes.NoSelect) && !f.Attributes.HasFlag(FolderAttributes.NonExistent))
            .ToList();
        if (!all.Any(f => f.FullName.Equals("INBOX", StringComparison.OrdinalIgnoreCase)))
        {
            await client.Inbox.StatusAsync(items, cancellationToken);
            all.Add(client.Inbox);
        }
        return all;
    }

    private static Dictionary<string, FolderStatus> Snapshot(IEnumerable<IMailFolder> listed)
        => listed.GroupBy(f => f.FullName, StringComparer.Ordinal).ToDictionary(g => g.Key, g => FolderStatusListing.Of(g.First()), StringComparer.Ordinal);

    /// <summary>Whether a folder's status differs from what its last complete sync saw, or the folder list differs from the mirror's.</summary>
    private async Task<bool> ChangedSinceLastSyncAsync(Account account, IReadOnlyList<IMailFolder> listed, CancellationToken cancellationToken)
    {
        var mirrored = (await folders.ListAsync(account.ShardId, account.Id, cancellationToken))
            .Select(f => (f.Name, Status: FolderStatus.Parse(f.StatusToken)))
            .ToDictionary(f => f.Name, f => f.Status ?? default, StringComparer.Ordinal);
        return FolderStatusRules.Moved(mirrored, Snapshot(listed)).Count > 0;
    }

    /// <summary>Retries of a wake that failed (the durable backend unreachable): after 1, 2, 4, 8, 16 and 30 s, about a minute in all.</summary>
    private const int MaxWakeRetries = 6;

    /// <summary>The retries of one account's wakes, timed by the watcher's clock.</summary>
    private ResiliencePipeline WakeRetry(long accountId) => new ResiliencePipelineBuilder { TimeProvider = clock }
        .AddRetry(new RetryStrategyOptions
        {
            // Any failure but the watch's own cancellation, which ends the wake.
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex
                && !(ex is OperationCanceledException && args.Context.CancellationToken.IsCancellationRequested)),
            MaxRetryAttempts = MaxWakeRetries,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            UseJitter = false,
            OnRetry = args =>
            {
                if (args.AttemptNumber == 0) LogWakeRetrying(accountId, args.Outcome.Exception!.GetType().Name, args.Outcome.Exception.Message);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>
    /// Wakes the account's sync; a wake that fails is tried again for about a minute (<paramref name="retry"/>), since
    /// otherwise the change it carries waits for the safety cycle (Nylas:Sync:IdleSeconds, minutes).
    /// </summary>
    private async Task WakeAsync(long accountId, ResiliencePipeline retry, string cause, CancellationToken cancellationToken)
    {
        metrics.RecordWake(cause);
        try
        {
            await retry.ExecuteAsync(async ct => await syncControl.WakeAsync(accountId, ct), cancellationToken);
            LogWoken(accountId, cause);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The orchestration's safety timer still runs the next step; a wake that failed only delays it.
            LogWakeFailed(accountId, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Account {AccountId}: woken by the watcher ({Cause})")]
    private partial void LogWoken(long accountId, string cause);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Account {AccountId}: watching by {Mode}")]
    private partial void LogWatching(long accountId, string mode);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Account {AccountId}: watching failed ({Error}, {Kind}); reconnecting in {Seconds} s")]
    private partial void LogWatchFailed(long accountId, string error, string kind, int seconds, Exception exception);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Account {AccountId}: the IMAP server refused the login; watching paused (the sync step reports the credentials)")]
    private partial void LogLoginRefused(long accountId);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Account {AccountId}: could not wake the sync ({Error}: {Message}); trying again")]
    private partial void LogWakeRetrying(long accountId, string error, string message);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Account {AccountId}: could not wake the sync ({Error}: {Message}); its safety cycle will run it")]
    private partial void LogWakeFailed(long accountId, string error, string message);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information, Message = "Account {AccountId}: {Host}:{Port} answers again; reconnecting now")]
    private partial void LogServerBack(long accountId, string host, int port);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Account {AccountId}: the server refused NOTIFY ({Response}: {Text}); watching by IDLE and probes instead")]
    private partial void LogNotifyRefused(long accountId, string response, string text);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Debug, Message = "Account {AccountId}: the probe saw {Count} folder(s) move, first {Folder}")]
    private partial void LogProbeMoved(long accountId, int count, string folder);
}

/// <summary>
/// Collapses a burst of changes into one wake: the first change schedules a wake after the debounce delay, and
/// changes until then ride along. A change during the wake itself schedules the next one.
/// </summary>
internal sealed class WakeDebouncer(long accountId, TimeSpan delay, Func<string, Task> wake, CancellationToken cancellationToken)
{
    private int _scheduled;

    public long AccountId => accountId;

    /// <summary>Called from MailKit's event handlers (inside IDLE's read loop): never blocks.</summary>
    public void Trigger(string cause)
    {
        if (Interlocked.Exchange(ref _scheduled, 1) == 1) return;
        _ = WakeLaterAsync(cause);
    }

    private async Task WakeLaterAsync(string cause)
    {
        try
        {
            if (delay > TimeSpan.Zero) await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        Volatile.Write(ref _scheduled, 0);
        await wake(cause);
    }
}
