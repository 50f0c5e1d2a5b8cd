using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MailKit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;
using Nylas.Engine.Sync.Watching;
using Nylas.Engine.Telemetry;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// Mailbox watchers on their own, against Dovecot and MariaDB. The sync control records wakes instead of raising
/// durable events (no orchestration runs here), and the folders have no sync status yet, so every new watch wakes
/// once on connecting ("catch-up") and the tests look at the wakes after that.
/// </summary>
public abstract class WatcherHarness : IAsyncLifetime
{
    private ServiceProvider _services = null!;
    private readonly RecordingSyncControl _wakes = new();
    private readonly List<MailboxWatcher> _started = [];
    private readonly ConcurrentQueue<string> _causes = new();
    private MeterListener _listener = null!;

    protected ServiceProvider Services => _services;
    protected IReadOnlyCollection<string> Causes => _causes;
    protected void ClearCauses() => _causes.Clear();
    protected int Wakes(long accountId) => _wakes.Count(accountId);
    /// <summary>The next <paramref name="count"/> wakes fail as they do while the durable backend is unreachable.</summary>
    protected void FailNextWakes(int count) => _wakes.FailNext(count);

    /// <summary>Settings of this kind of test.</summary>
    protected virtual void Configure(Dictionary<string, string?> settings) { }

    public async Task InitializeAsync()
    {
        var databases = await TestStack.CreateDatabasesAsync();
        var settings = databases.EngineSettings();
        settings["Nylas:Watch:LeaseSeconds"] = "10";
        settings["Nylas:Watch:DebounceMilliseconds"] = "50";
        settings["Nylas:Storage:IngestQueue"] = "ingest-" + Guid.NewGuid().ToString("N")[..12];
        Configure(settings);
        _services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddNylasEngine(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .AddSingleton<IAccountSyncControl>(_wakes)
            .BuildServiceProvider();
        await _services.PrepareStorageAsync();
        var meter = _services.GetRequiredService<EngineMetrics>().Meter;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter && instrument.Name == "nylas.watch.wakes") listener.EnableMeasurementEvents(instrument);
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags) if (tag.Key == "nylas.watch.cause") _causes.Enqueue((string)tag.Value!);
        });
        _listener.Start();
    }

    public async Task DisposeAsync()
    {
        foreach (var watcher in _started) await watcher.StopAsync(CancellationToken.None);
        _listener.Dispose();
        await _services.DisposeAsync();
    }

    protected async Task<MailboxWatcher> StartWatcherAsync(string owner)
    {
        var watcher = ActivatorUtilities.CreateInstance<MailboxWatcher>(_services, new WatchOwner(owner));
        await watcher.StartAsync(CancellationToken.None);
        _started.Add(watcher);
        return watcher;
    }

    protected async Task StopWatcherAsync(MailboxWatcher watcher)
    {
        await watcher.StopAsync(CancellationToken.None);
        _started.Remove(watcher);
    }

    /// <summary>A watcher holding a new account, past the wake its first connection makes.</summary>
    protected async Task<(string Email, Account Account)> WatchedAccountAfterCatchUpAsync()
    {
        var (email, account) = await CreateAccountAsync();
        var watcher = await StartWatcherAsync("watcher-a");
        await WaitForAsync("the watcher never took the account", () => watcher.Watched.Contains(account.Id));
        await WaitForAsync("no catch-up wake after connecting", () => Wakes(account.Id) >= 1);
        await Task.Delay(500); // the catch-up burst settles, so the next wake is the change's
        ClearCauses();
        return (email, account);
    }

    protected async Task<(string Email, Account Account)> CreateAccountAsync()
    {
        string email = TestStack.NewMailbox();
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var store = _services.GetRequiredService<AccountStore>();
        var (app, _) = await store.CreateApplicationAsync("watch tests");
        var imapServer = new ImapServer(TestStack.ImapHost, TestStack.ImapsPort, ImapSecurity.Ssl, email, TestStack.TlsCertSha256());
        var (account, _) = await store.UpsertAccountAsync(app.Id, email, "", "imap", imapServer, new AccountSecrets(TestStack.ImapPassword));
        return (email, account);
    }

    protected static async Task WaitForAsync(string what, Func<bool> condition)
        => Assert.True((await TestStack.WaitUntilAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(30))).HasValue, what);

    protected async Task ExecuteGlobalAsync(string sql)
    {
        await using var cmd = _services.GetRequiredService<Nylas.Engine.Storage.ShardDirectory>().Global.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }

    protected async Task<long> CountLeasesAsync(long accountId, string owner)
    {
        await using var cmd = _services.GetRequiredService<Nylas.Engine.Storage.ShardDirectory>().Global
            .CreateCommand($"SELECT COUNT(*) FROM watch_leases WHERE account_id = {accountId} AND owner = '{owner}'");
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }

    /// <summary>Records every wake instead of raising a durable event.</summary>
    private sealed class RecordingSyncControl : IAccountSyncControl
    {
        private readonly ConcurrentDictionary<long, int> _wakes = new();
        private int _failing;

        public int Count(long accountId) => _wakes.GetValueOrDefault(accountId);

        public void FailNext(int count) => Volatile.Write(ref _failing, count);

        public Task WakeAsync(long accountId, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Decrement(ref _failing) >= 0)
                return Task.FromException(new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "the durable backend is down (injected)")));
            _wakes.AddOrUpdate(accountId, 1, (_, n) => n + 1);
            return Task.CompletedTask;
        }

        public Task<bool> StartAsync(long accountId, CancellationToken cancellationToken = default) => Task.FromResult(false);
        public Task StopAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task<AccountSyncRuntime?> GetStatusAsync(long accountId, CancellationToken cancellationToken = default) => Task.FromResult<AccountSyncRuntime?>(null);
        public Task ForgetAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}

/// <summary>Which watcher owns an account, and NOTIFY waking it (Dovecot offers NOTIFY).</summary>
public sealed class WatchLeaseTests : WatcherHarness
{
    [Fact]
    public async Task Only_one_watcher_holds_an_account_and_another_takes_it_when_the_first_stops()
    {
        var (_, account) = await CreateAccountAsync();
        var first = await StartWatcherAsync("watcher-a");
        await WaitForAsync("the first watcher never took the account", () => first.Watched.Contains(account.Id));

        var second = await StartWatcherAsync("watcher-b");
        // Two renewals of the second watcher (every 3.3 s): it must not take a lease the first one keeps renewing.
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.DoesNotContain(account.Id, second.Watched);
        Assert.Contains(account.Id, first.Watched);

        await StopWatcherAsync(first);
        Assert.Empty(first.Watched);
        await WaitForAsync("the second watcher did not take the account after the first stopped", () => second.Watched.Contains(account.Id));
        Assert.Equal(1, await CountLeasesAsync(account.Id, "watcher-b"));
    }

    /// <summary>A process that died holds leases nobody renews: another takes them once they expire, and not before.</summary>
    [Fact]
    public async Task A_dead_process_s_expired_lease_moves_and_a_live_one_does_not()
    {
        var (_, orphaned) = await CreateAccountAsync();
        var (_, held) = await CreateAccountAsync();
        await ExecuteGlobalAsync($"""
            INSERT INTO watch_leases (account_id, owner, expires_at) VALUES
              ({orphaned.Id}, 'dead-process', UTC_TIMESTAMP(3) + INTERVAL 3 SECOND),
              ({held.Id}, 'live-process', UTC_TIMESTAMP(3) + INTERVAL 1 HOUR)
            """);
        var watcher = await StartWatcherAsync("watcher-b");
        await WaitForAsync("the expired lease did not move", () => watcher.Watched.Contains(orphaned.Id));
        Assert.Equal(1, await CountLeasesAsync(orphaned.Id, "watcher-b"));
        Assert.DoesNotContain(held.Id, watcher.Watched);
        Assert.Equal(1, await CountLeasesAsync(held.Id, "live-process"));
    }

    [Fact]
    public async Task An_account_waiting_for_new_credentials_is_let_go()
    {
        var (_, account) = await CreateAccountAsync();
        var watcher = await StartWatcherAsync("watcher-a");
        await WaitForAsync("the watcher never took the account", () => watcher.Watched.Contains(account.Id));

        await Services.GetRequiredService<AccountStore>().SetSyncStateAsync(account.Id, SyncStates.InvalidCredentials, "refused", CancellationToken.None);
        await WaitForAsync("the watcher kept an account waiting for new credentials", () => !watcher.Watched.Contains(account.Id));
        Assert.Equal(0, await CountLeasesAsync(account.Id, "watcher-a"));
    }

    [Fact]
    public async Task An_append_to_a_folder_other_than_inbox_wakes_the_account_through_notify()
    {
        var (email, account) = await WatchedAccountAfterCatchUpAsync();
        int before = Wakes(account.Id);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "filed"), folder: "Archive");
        await WaitForAsync("the append to Archive woke nothing", () => Wakes(account.Id) > before);
        // The server's unsolicited STATUS for Archive: its UIDNEXT or MESSAGES moved.
        Assert.Contains(Causes, c => c is "new" or "count");
    }
}

/// <summary>A wake that fails (the durable backend unreachable) is tried again, with no probe to wake the account instead.</summary>
public sealed class WakeRetryTests : WatcherHarness
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Nylas:Watch:ProbeSeconds"] = "3600";

    [Fact]
    public async Task A_wake_that_fails_is_tried_again_until_it_reaches_the_sync()
    {
        var (email, account) = await WatchedAccountAfterCatchUpAsync();
        int before = Wakes(account.Id);
        // The change's wake and its first retries fail: left there, the new message would wait for the safety cycle.
        FailNextWakes(3);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "while the backend was down"));
        await WaitForAsync("the failed wake was not tried again", () => Wakes(account.Id) > before);
    }
}

/// <summary>
/// The path for servers without NOTIFY, on the same Dovecot told to ignore its NOTIFY (Nylas:Watch:DisableNotify):
/// IDLE on INBOX and a STATUS probe of every folder every 2 s.
/// </summary>
public sealed class WatchProbeTests : WatcherHarness
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Watch:DisableNotify"] = "true";
        settings["Nylas:Watch:ProbeSeconds"] = "2";
    }

    [Fact]
    public async Task A_probe_wakes_for_an_append_and_a_flag_change_outside_inbox_and_a_new_folder_but_not_for_nothing()
    {
        var (email, account) = await WatchedAccountAfterCatchUpAsync();
        int before = Wakes(account.Id);
        // Three probes of a quiet mailbox wake nothing (each would be a sync step).
        await Task.Delay(TimeSpan.FromSeconds(7));
        Assert.Equal(before, Wakes(account.Id));

        var uid = await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "filed"), folder: "Archive");
        await WaitForAsync("the probe did not notice the append to Archive", () => Wakes(account.Id) > before);
        Assert.Contains("probe", Causes);

        before = Wakes(account.Id);
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var archive = await imap.GetFolderAsync("Archive");
            await archive.OpenAsync(FolderAccess.ReadWrite);
            await archive.AddFlagsAsync(uid!.Value, MessageFlags.Flagged, silent: true);
            await WaitForAsync("the probe did not notice the flag change in Archive", () => Wakes(account.Id) > before);

            before = Wakes(account.Id);
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Receipts", isMessageFolder: true);
            await WaitForAsync("the probe did not notice the new folder", () => Wakes(account.Id) > before);
            await imap.DisconnectAsync(true);
        }
    }
}
