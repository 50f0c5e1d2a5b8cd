using Nylas.Engine.Ingest;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Queues;
using Nylas.Engine.Sync;
using Nylas.Engine.Sync.Watching;
using Nylas.Engine.Hosting;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Functions.Tests;

/// <summary>
/// The orchestration of the task registry both hosts use, in the DurableTask test host, calling the real
/// activities against Dovecot, MariaDB and Azurite, with the ingest queue drained and the mailbox watcher
/// running as in production.
/// </summary>
public sealed class AccountSyncOrchestrationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ServiceProvider _services = null!;
    private DurableTaskTestHost _durable = null!;
    private IngestQueuePump _pump = null!;
    private TestDatabases _databases = null!;
    private MailboxWatcher _watcher = null!;

    public async Task InitializeAsync()
    {
        _databases = await TestStack.CreateDatabasesAsync();
        var settings = _databases.EngineSettings();
        settings["Nylas:Storage:IngestQueue"] = "ingest-" + Guid.NewGuid().ToString("N")[..12];
        // A safety cycle far longer than any test waits: only the watcher's wake explains new mail being synced.
        settings["Nylas:Sync:IdleSeconds"] = "900";
        settings["Nylas:Watch:LeaseSeconds"] = "10";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        _services = new ServiceCollection()
            .AddLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .AddNylasEngine(configuration)
            .AddDurableSyncControl(_ => () => _durable.Client)
            .AddMailboxWatcher()
            .BuildServiceProvider();
        await _services.PrepareStorageAsync();

        var syncer = _services.GetRequiredService<MailboxSyncer>();
        // The task registry both hosts use (the Functions app's triggers are checked against it by HostParityTests),
        // its activities built from this test's engine services.
        _durable = await DurableTaskTestHost.StartAsync(EngineTasks.Register, new DurableTaskTestHostOptions
        {
            // Its default is a random port in 30000-40000, where the test stack's own ports are.
            Port = FreePorts.Next(),
            LoggerFactory = LoggerFactory.Create(l => l.SetMinimumLevel(LogLevel.Warning)),
            ConfigureServices = worker => worker.AddSingleton(syncer),
        });
        _watcher = _services.GetRequiredService<MailboxWatcher>();
        await _watcher.StartAsync(CancellationToken.None);

        _pump = ActivatorUtilities.CreateInstance<IngestQueuePump>(_services);
        await _pump.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _watcher.StopAsync(CancellationToken.None);
        await _pump.StopAsync(CancellationToken.None);
        await _durable.DisposeAsync();
        await _services.DisposeAsync();
    }

    private async Task<Account> ConnectAsync(string email, string password)
    {
        var store = _services.GetRequiredService<AccountStore>();
        var (app, _) = await store.CreateApplicationAsync("orchestration tests");
        var imap = new ImapServer(TestStack.ImapHost, TestStack.ImapsPort, ImapSecurity.Ssl, email, TestStack.TlsCertSha256());
        // Straight to the store: the API would refuse a wrong password before it got here.
        var (account, _) = await store.UpsertAccountAsync(app.Id, email, "", "imap", imap, new AccountSecrets(password));
        return account;
    }

    private Task<long> CountMessagesAsync(Account account)
        => _databases.ScalarAsync($"shard{account.ShardId}", $"SELECT COUNT(*) FROM messages WHERE account_id = {account.Id}");

    private async Task<AccountSyncStatus?> SyncStatusAsync(string instanceId)
        => (await _durable.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true))?.ReadCustomStatusAs<AccountSyncStatus>();

    /// <summary>An account whose server is down (nothing listens on its port: every connection refused), its orchestration started after five failures and now in its sixth back-off (15 min).</summary>
    private async Task<(Application App, Account Account, string InstanceId)> StartBackingOffAsync(string email, string appName)
    {
        var store = _services.GetRequiredService<AccountStore>();
        var (app, _) = await store.CreateApplicationAsync(appName);
        var down = new ImapServer(TestStack.ImapHost, FreePorts.Next(), ImapSecurity.None, email, null);
        var (account, _) = await store.UpsertAccountAsync(app.Id, email, "", "imap", down, new AccountSecrets(TestStack.ImapPassword));
        string instanceId = DurableAccountSyncControl.InstanceId(account.Id);
        await _durable.Client.ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync, new AccountSyncInput(account.Id, ConsecutiveFailures: 5),
            new StartOrchestrationOptions { InstanceId = instanceId });
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await SyncStatusAsync(instanceId) is { Phase: SyncPhases.BackingOff, ConsecutiveFailures: 6 }, TimeSpan.FromSeconds(60)));
        return (app, account, instanceId);
    }

    [Fact]
    public async Task Syncs_existing_mail_then_waits_until_the_watcher_wakes_it_for_new_mail()
    {
        string email = TestStack.NewMailbox();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "before the orchestration"));
        var account = await ConnectAsync(email, TestStack.ImapPassword);

        string instanceId = DurableAccountSyncControl.InstanceId(account.Id);
        await _durable.Client.ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync, new AccountSyncInput(account.Id),
            new StartOrchestrationOptions { InstanceId = instanceId });

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountMessagesAsync(account) == 1, TimeSpan.FromSeconds(30)));

        // Once the orchestration waits (and the watcher holds the account), new mail must wake it and be synced.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var meta = await _durable.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
            return meta?.ReadCustomStatusAs<AccountSyncStatus>()?.Phase == "waiting";
        }, TimeSpan.FromSeconds(30)));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(_watcher.Watched.Contains(account.Id)), TimeSpan.FromSeconds(30)));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "while waiting"));
        var woke = await TestStack.WaitUntilAsync(async () => await CountMessagesAsync(account) == 2, TimeSpan.FromSeconds(30));
        Assert.True(woke.HasValue, "new mail was not synced while the orchestration waited (its safety cycle is 15 min)");
        output.WriteLine($"new mail synced {woke.Value.TotalMilliseconds:F0} ms after APPEND");

        var status = (await _durable.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true))!;
        Assert.Equal(OrchestrationRuntimeStatus.Running, status.RuntimeStatus);
        Assert.True(status.ReadCustomStatusAs<AccountSyncStatus>()!.Cycle >= 1, "the orchestration should have continued as new after waking");
        Assert.Equal(SyncStates.Running, (await _services.GetRequiredService<AccountStore>().GetAsync(account.Id))!.SyncState);

        await _durable.Client.TerminateInstanceAsync(instanceId);
    }

    /// <summary>
    /// An account whose server was down waits out a back-off (here the longest, 15 min); new settings sent by the
    /// application wake it (IAccountSyncControl.WakeAsync, as /connect/token and an upgrade do), so it syncs at once.
    /// </summary>
    [Fact]
    public async Task A_wake_ends_a_failure_back_off_at_once()
    {
        string email = TestStack.NewMailbox();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "while the server was unreachable"));
        var (app, account, instanceId) = await StartBackingOffAsync(email, "wake test");
        Assert.Equal(TimeSpan.FromMinutes(15), AccountSyncOrchestrator.FailureBackoff(6));
        var store = _services.GetRequiredService<AccountStore>();

        // The application sends working settings again; the engine wakes the sync instead of leaving it asleep.
        var up = new ImapServer(TestStack.ImapHost, TestStack.ImapsPort, ImapSecurity.Ssl, email, TestStack.TlsCertSha256());
        await store.UpsertAccountAsync(app.Id, email, "", "imap", up, new AccountSecrets(TestStack.ImapPassword));
        var control = _services.GetRequiredService<IAccountSyncControl>();
        Assert.False(await control.StartAsync(account.Id), "the orchestration is running (in its back-off), so Start must not start another");
        await control.WakeAsync(account.Id);

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountMessagesAsync(account) == 1, TimeSpan.FromSeconds(60)));
        var runtime = await control.GetStatusAsync(account.Id);
        Assert.True(runtime is { IsRunning: true }, "the sync keeps running after the wake");
        await _durable.Client.TerminateInstanceAsync(instanceId);
    }

    /// <summary>
    /// A wake asks for a step that starts after the change it reports. One raised before the failing step began (buffered
    /// while earlier steps ran) does not end that step's back-off: the server was already being tried after it. A wake
    /// from after, or one without a time (an older raiser), does.
    /// </summary>
    [Fact]
    public async Task A_wake_from_before_the_failing_step_does_not_end_its_back_off()
    {
        var (_, account, instanceId) = await StartBackingOffAsync(TestStack.NewMailbox(), "stale wake test");
        Task<AccountSyncStatus?> StatusAsync() => SyncStatusAsync(instanceId);

        // Raised an hour before the failing step: let go by. Had it counted, the next step would be running within a
        // second or two, and a failing step stays in "syncing" for its retries (2 + 4 s).
        await _durable.Client.RaiseEventAsync(instanceId, AccountSyncOrchestrator.WakeEvent, new SyncWake(DateTime.UtcNow.AddHours(-1)));
        for (int i = 0; i < 8; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var status = await StatusAsync();
            Assert.True(status is { Phase: SyncPhases.BackingOff, ConsecutiveFailures: 6 }, $"{i + 1} s after a stale wake: {status}");
        }

        // A wake raised now (what every raiser sends) ends the back-off: the step runs, fails again, backs off again.
        await _services.GetRequiredService<IAccountSyncControl>().WakeAsync(account.Id);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await StatusAsync() is { Phase: SyncPhases.BackingOff, ConsecutiveFailures: 7 }, TimeSpan.FromSeconds(60)));

        // So does a wake without a time, as raised before wakes carried one.
        await _durable.Client.RaiseEventAsync(instanceId, AccountSyncOrchestrator.WakeEvent);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await StatusAsync() is { Phase: SyncPhases.BackingOff, ConsecutiveFailures: 8 }, TimeSpan.FromSeconds(60)));
        await _durable.Client.TerminateInstanceAsync(instanceId);
    }

    /// <summary>
    /// The server comes back on its own, nobody sends new settings: the watcher, reconnecting with its own back-off,
    /// logs in again and wakes the sync out of its 15-minute back-off.
    /// </summary>
    [Fact]
    public async Task The_watcher_ends_a_failure_back_off_when_the_server_answers_again()
    {
        string email = TestStack.NewMailbox();
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "while the server was unreachable"));
        int port = FreePorts.Next();
        var store = _services.GetRequiredService<AccountStore>();
        var (app, _) = await store.CreateApplicationAsync("recovery test");
        // The server's address: nothing listens there yet (connections are refused, as for a server that is down).
        var server = new ImapServer("127.0.0.1", port, ImapSecurity.Ssl, email, TestStack.TlsCertSha256());
        var (account, _) = await store.UpsertAccountAsync(app.Id, email, "", "imap", server, new AccountSecrets(TestStack.ImapPassword));

        string instanceId = DurableAccountSyncControl.InstanceId(account.Id);
        await _durable.Client.ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync, new AccountSyncInput(account.Id, ConsecutiveFailures: 5),
            new StartOrchestrationOptions { InstanceId = instanceId });
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var meta = await _durable.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
            return meta?.ReadCustomStatusAs<AccountSyncStatus>() is { Phase: SyncPhases.BackingOff, ConsecutiveFailures: 6 };
        }, TimeSpan.FromSeconds(60)));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => Task.FromResult(_watcher.Watched.Contains(account.Id)), TimeSpan.FromSeconds(30)));

        // The server is back: its port now forwards to Dovecot's IMAPS.
        await using var forwarder = new LoopbackForwarder(TestStack.ImapsPort, TestStack.ImapHost, port);
        var synced = await TestStack.WaitUntilAsync(async () => await CountMessagesAsync(account) == 1, TimeSpan.FromSeconds(90));
        Assert.True(synced.HasValue, "the sync stayed in its 15-minute back-off after the server came back");
        output.WriteLine($"synced {synced.Value.TotalSeconds:F1} s after the server came back (the watcher's reconnect back-off is up to a few seconds here)");
        await _durable.Client.TerminateInstanceAsync(instanceId);
    }


    [Fact]
    public async Task Bad_credentials_put_the_account_in_invalid_credentials_and_end_its_orchestration()
    {
        string email = TestStack.NewMailbox();
        var account = await ConnectAsync(email, "not-the-password");

        string instanceId = DurableAccountSyncControl.InstanceId(account.Id);
        await _durable.Client.ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync, new AccountSyncInput(account.Id),
            new StartOrchestrationOptions { InstanceId = instanceId });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var done = await _durable.Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, timeout.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(SyncStates.InvalidCredentials, done.ReadOutputAs<string>());
        var stored = (await _services.GetRequiredService<AccountStore>().GetAsync(account.Id))!;
        Assert.Equal(SyncStates.InvalidCredentials, stored.SyncState);
        Assert.Contains("authentication failed", stored.SyncError, StringComparison.OrdinalIgnoreCase);

        // The supervisor leaves it alone until credentials are updated.
        var scheduler = _services.GetRequiredService<AccountSyncScheduler>();
        Assert.Equal(0, await scheduler.EnsureAllRunningAsync());
    }

    [Fact]
    public void Failure_backoff_grows_and_is_capped()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), AccountSyncOrchestrator.FailureBackoff(1));
        Assert.Equal(TimeSpan.FromSeconds(60), AccountSyncOrchestrator.FailureBackoff(2));
        Assert.Equal(TimeSpan.FromMinutes(15), AccountSyncOrchestrator.FailureBackoff(20));
    }
}
