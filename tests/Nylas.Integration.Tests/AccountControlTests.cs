using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// One writer per account and deletion as a job (Stage 7 items 3 and 5): two sync steps started at once, a deletion
/// whose client goes away, a deletion left part-way.
/// </summary>
public sealed class AccountLeaseAndDeletionTests(LeaseHostFixture host) : IClassFixture<LeaseHostFixture>
{
    private async Task<string> ShardOfAsync(long accountDbId) => "shard" + await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");

    private async Task<string?> SyncPhaseAsync(long accountDbId)
    {
        var durable = host.App.Services.GetRequiredService<DurableTaskClient>();
        var instance = await durable.GetInstanceAsync(DurableAccountSyncControl.InstanceId(accountDbId), getInputsAndOutputs: true);
        return instance?.ReadCustomStatusAs<AccountSyncStatus>()?.Phase;
    }

    private async Task<long> ShardRowsAsync(string shard, long accountDbId)
    {
        long rows = 0;
        foreach (string table in new[] { "folders", "messages", "imap_uids", "transactions", "threads" })
            rows += await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM `{table}` WHERE account_id = {accountDbId}");
        return rows;
    }

    [Fact]
    public async Task Two_sync_steps_started_at_once_for_one_account_one_writes_and_the_mirror_equals_the_server()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await SyncPhaseAsync(dbId) == "waiting", TimeSpan.FromSeconds(60)));
        await TestStack.AppendManyAsync(email, Enumerable.Range(0, 30).Select(i => TestStack.SimpleMessage(email, $"race {i}")));

        // The host's own orchestration may take a step for the same change (the watcher wakes it): then neither of these
        // two writes. What may never happen is both of them running.
        var syncer = host.App.Services.GetRequiredService<MailboxSyncer>();
        var outcomes = await Task.WhenAll(syncer.SyncAsync(dbId, CancellationToken.None), syncer.SyncAsync(dbId, CancellationToken.None));
        Assert.Contains(outcomes, o => o.Reason == "lease held");

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 30, TimeSpan.FromSeconds(60)));
        using var http = host.Client(token);
        var subjects = (await http.GetFromJsonAsync<JsonElement>("/messages?limit=100")).EnumerateArray().Select(m => m.GetProperty("subject").GetString()).ToList();
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"race {i}").Order(), subjects.Order());
        Assert.Equal(30, await TestStack.CountInFolderAsync(email, "INBOX", "race"));
    }

    [Fact]
    public async Task A_write_whose_step_lost_the_lease_is_not_made()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "kept"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await SyncPhaseAsync(dbId) == "waiting", TimeSpan.FromSeconds(60)));
        string shard = await ShardOfAsync(dbId);
        int shardId = int.Parse(shard["shard".Length..]);

        // A step holds the lease and is about to collect an orphan; meanwhile its lease expired and another holder took it.
        var leases = host.App.Services.GetRequiredService<AccountLeases>();
        await using var lease = await leases.TryHoldAsync(dbId, forSync: true, CancellationToken.None);
        Assert.NotNull(lease);
        await host.Databases.ScalarAsync(shard, $"UPDATE messages SET orphaned_at = UTC_TIMESTAMP() WHERE account_id = {dbId}; DELETE FROM imap_uids WHERE account_id = {dbId}; SELECT 1");
        await host.Databases.ScalarAsync("global", $"UPDATE account_leases SET owner = 'another', generation = generation + 1 WHERE account_id = {dbId}; SELECT 1");

        AccountLease.Current = lease;
        try
        {
            await Assert.ThrowsAsync<AccountLeaseLostException>(() => host.App.Services.GetRequiredService<MailboxMirror>().CollectOrphansAsync(shardId, dbId, CancellationToken.None));
        }
        finally
        {
            AccountLease.Current = null;
        }
        Assert.True(lease!.IsLost);
        Assert.Equal(1, await host.Databases.ScalarAsync(shard, $"SELECT COUNT(*) FROM messages WHERE account_id = {dbId}"));
    }

    [Fact]
    public async Task A_deletion_whose_client_went_away_still_finishes()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        string shard = await ShardOfAsync(dbId);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "to delete"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));

        using var app = host.AppClient();
        using (var gone = new CancellationTokenSource())
        {
            // The client hangs up once the account is marked deleting, while the deletion ends the orchestration (which
            // takes longer than noticing the mark). A fixed 150 ms, on a loaded machine, hung up before the request got there.
            var delete = app.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/a/{host.ClientId}/accounts/{id}") { Content = new StringContent("{}", Encoding.UTF8, "text/plain") }, gone.Token);
            Assert.NotNull(await TestStack.WaitUntilAsync(async () => delete.IsCompleted
                || await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM accounts WHERE id = {dbId} AND sync_state = 'deleting'") == 1,
                TimeSpan.FromSeconds(60)));
            Assert.False(delete.IsCompleted, "the deletion answered before the client could hang up: nothing was left to finish without it");
            gone.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delete);
        }

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM accounts WHERE id = {dbId}") == 0,
            TimeSpan.FromSeconds(90)));
        Assert.Equal(0, await ShardRowsAsync(shard, dbId));
        await ApiErrors.AssertAsync(await app.GetAsync($"/a/{host.ClientId}/accounts/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_deletion_left_part_way_is_finished_by_the_sweep()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        string shard = await ShardOfAsync(dbId);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "left behind"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));

        // What a crash right after the API marked the account leaves: deleting, with all its data.
        await host.Databases.ScalarAsync("global", $"UPDATE accounts SET sync_enabled = 0, sync_state = 'deleting' WHERE id = {dbId}; SELECT 1");
        Assert.True(await ShardRowsAsync(shard, dbId) > 0);

        await host.App.Services.GetRequiredService<DeletionSweep>().RunAsync(CancellationToken.None);

        Assert.Equal(0, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM accounts WHERE id = {dbId}"));
        Assert.Equal(0, await ShardRowsAsync(shard, dbId));
        Assert.Equal(1, await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM deleted_accounts WHERE account_id = {dbId}"));
    }
}

/// <summary>No supervisor pass during the tests: a deletion the client left must finish by its own job, not by the supervisor.</summary>
public sealed class LeaseHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Timers:SyncSupervisor"] = "0 0 0 1 1 *";
    }
}

/// <summary>A short safety cycle and a low absolute watchdog limit (StuckAfterSeconds), so that a stuck orchestration is found within the test.</summary>
public sealed class WatchdogHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "3";
        settings["Nylas:Accounts:StuckAfterSeconds"] = "10";
    }
}

/// <summary>
/// The absolute limit far away and a 5 s margin on the orchestration's own wait: a quiet account is restarted once its
/// heartbeat is older than the safety cycle plus the margin, unless it is backing off and its back-off has not run out.
/// </summary>
public sealed class QuietWatchdogHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "3";
        settings["Nylas:Accounts:StuckAfterSeconds"] = "3600";
        settings["Nylas:Accounts:QuietMarginSeconds"] = "5";
        // Only the test runs the supervisor's pass.
        settings["Nylas:Timers:SyncSupervisor"] = "0 0 0 1 1 *";
    }
}

/// <summary>The watchdog (Stage 7 item 8): the supervisor restarts an orchestration that counts as running but makes no progress.</summary>
public abstract class WatchdogTests<TFixture>(TFixture host) where TFixture : LocalHostFixture
{
    [Fact]
    public async Task An_orchestration_that_makes_no_progress_is_restarted_by_the_supervisor_and_syncs_again()
    {
        var (email, token, id) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(id);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "before"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));

        // Stuck as after the storage emulator's restart: the instance counts as active, yet nothing runs it.
        var (durable, instanceId) = await host.SuspendSyncAsync(dbId, "test: stuck", TimeSpan.FromSeconds(30));
        // A step already under way when the instance was suspended runs to its end: wait until it gives its lease back.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            await host.Databases.ScalarAsync("global", $"SELECT COUNT(*) FROM account_leases WHERE account_id = {dbId} AND owner <> ''") == 0, TimeSpan.FromSeconds(60)));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "while stuck"));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, await host.CountMessagesAsync(token));

        var scheduler = host.App.Services.GetRequiredService<AccountSyncScheduler>();
        // Until the heartbeat is older than the limit the supervisor leaves it alone; then it restarts it.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await scheduler.EnsureAllRunningAsync() > 0, TimeSpan.FromSeconds(60)));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(60)));
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await durable.GetInstanceAsync(instanceId))?.RuntimeStatus);
    }
}

/// <summary>Restarted past Nylas:Accounts:StuckAfterSeconds, whatever the orchestration says.</summary>
public sealed class SyncWatchdogTests(WatchdogHostFixture host) : WatchdogTests<WatchdogHostFixture>(host), IClassFixture<WatchdogHostFixture>;

/// <summary>Restarted past the wait the orchestration chose plus Nylas:Accounts:QuietMarginSeconds; a back-off is that wait.</summary>
public sealed class QuietWatchdogTests(QuietWatchdogHostFixture host) : WatchdogTests<QuietWatchdogHostFixture>(host), IClassFixture<QuietWatchdogHostFixture>
{
    private readonly QuietWatchdogHostFixture _host = host;

    [Fact]
    public async Task An_orchestration_backing_off_is_left_alone_until_its_back_off_and_the_margin_have_run_out()
    {
        await using var proxy = new LoopbackForwarder(TestStack.ImapsPort, TestStack.ImapHost);
        var account = await ProxiedAccount.ConnectAsync(_host, proxy);
        await TestStack.AppendAsync(account.Email, TestStack.SimpleMessage(account.Email, "before the outage"));
        // Each wait names itself when it runs out (one run on a loaded machine failed a bare NotNull here, unexplained).
        Assert.True((await TestStack.WaitUntilAsync(async () => await _host.CountMessagesAsync(account.Token) == 1, TimeSpan.FromSeconds(60))).HasValue,
            "the message before the outage was not served within 60 s");

        // The server goes away: the next step fails and the orchestration backs off (30 s after one failure).
        proxy.Close();
        var control = _host.App.Services.GetRequiredService<IAccountSyncControl>();
        await control.WakeAsync(account.DbId);
        Assert.True((await TestStack.WaitUntilAsync(async () =>
            await control.GetStatusAsync(account.DbId) is { Phase: SyncPhases.BackingOff }, TimeSpan.FromSeconds(60))).HasValue,
            $"the orchestration was not backing off 60 s after the server went away: {await control.GetStatusAsync(account.DbId)}");
        var durable = _host.App.Services.GetRequiredService<DurableTaskClient>();
        string instanceId = DurableAccountSyncControl.InstanceId(account.DbId);
        var started = (await durable.GetInstanceAsync(instanceId))!.CreatedAt;

        // Past the quiet limit (3 s safety cycle + 5 s margin) but inside the back-off plus the margin: not stuck.
        var leases = _host.App.Services.GetRequiredService<AccountLeases>();
        var scheduler = _host.App.Services.GetRequiredService<AccountSyncScheduler>();
        long age = 0;
        bool restarted = false;
        Assert.True((await TestStack.WaitUntilAsync(async () =>
        {
            await scheduler.EnsureAllRunningAsync();
            restarted = (await durable.GetInstanceAsync(instanceId))!.CreatedAt != started;
            age = (await leases.HeartbeatAgesAsync(CancellationToken.None)).GetValueOrDefault(account.DbId);
            return restarted || age >= 12;
        }, TimeSpan.FromSeconds(40))).HasValue, $"neither restarted nor 12 s without a step within 40 s (last heartbeat age {age} s)");
        Assert.False(restarted, $"the supervisor restarted an orchestration backing off, {age} s after its last step");
        var status = await control.GetStatusAsync(account.DbId);
        Assert.True(status is { Phase: SyncPhases.BackingOff }, $"after {age} s without a step: {status}");
    }
}

/// <summary>A one-second server probe (Stage 7 item 9).</summary>
public sealed class RecoveryHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Watch:ServerProbeSeconds"] = "1";
    }
}

/// <summary>No mailbox watcher: only the application's own wakes can end a back-off.</summary>
public sealed class UnwatchedHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Watch:Enabled"] = "false";
    }
}

/// <summary>An account connected through a <see cref="LoopbackForwarder"/> to the test Dovecot, and an outage long enough for minutes of back-off.</summary>
internal sealed record ProxiedAccount(string Email, string Token, long DbId, JsonObject ConnectBody)
{
    public static async Task<ProxiedAccount> ConnectAsync(LocalHostFixture host, LoopbackForwarder proxy)
    {
        string email = TestStack.NewMailbox();
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        var body = new JsonObject
        {
            ["email_address"] = email, ["name"] = "Test User", ["provider"] = "imap",
            ["settings"] = new JsonObject
            {
                ["imap_host"] = "127.0.0.1", ["imap_port"] = proxy.Port, ["imap_username"] = email, ["imap_security"] = "ssl",
                ["imap_password"] = TestStack.ImapPassword, ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
            },
        };
        var json = await PostAsync(host, body);
        long dbId = await host.Databases.AccountRowIdAsync(json["id"]!.GetValue<string>());
        return new ProxiedAccount(email, json["access_token"]!.GetValue<string>(), dbId, body);
    }

    /// <summary>POST /a/{client_id}/accounts: a new account, or new credentials for an existing one.</summary>
    public static async Task<JsonNode> PostAsync(LocalHostFixture host, JsonObject body)
    {
        using var app = host.AppClient();
        using var connected = await app.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
        var json = JsonNode.Parse(await connected.Content.ReadAsStringAsync())!;
        Assert.True(connected.IsSuccessStatusCode, json.ToJsonString());
        return json;
    }

    /// <summary>Stops the proxy and wakes the failing sync until it backs off for at least 2 minutes.</summary>
    public async Task OutageUntilLongBackOffAsync(LocalHostFixture host, LoopbackForwarder proxy)
    {
        proxy.Close();
        var control = host.App.Services.GetRequiredService<IAccountSyncControl>();
        string? last = null;
        Assert.True(await TestStack.WaitUntilAsync(async () =>
        {
            var status = await control.GetStatusAsync(DbId);
            last = $"{status?.RuntimeStatus} {status?.Phase} {status?.ConsecutiveFailures}";
            if (status is not { Phase: SyncPhases.BackingOff }) return false;
            if (status.ConsecutiveFailures >= 3) return true;
            await control.WakeAsync(DbId);
            await Task.Delay(500);
            return false;
        }, TimeSpan.FromSeconds(150)) is not null, last);
        Assert.True(AccountSyncOrchestrator.FailureBackoff(3) >= TimeSpan.FromMinutes(2));
    }
}

/// <summary>
/// Prompt recovery: an account whose IMAP server was unreachable long enough for its sync to back off for minutes
/// resumes within seconds of the server answering again (the watcher's probe), through a TCP proxy the test closes.
/// </summary>
public sealed class PromptRecoveryTests(RecoveryHostFixture host) : IClassFixture<RecoveryHostFixture>
{
    [Fact]
    public async Task A_sync_backing_off_from_an_outage_resumes_within_seconds_of_the_server_answering()
    {
        await using var proxy = new LoopbackForwarder(TestStack.ImapsPort, TestStack.ImapHost);
        var account = await ProxiedAccount.ConnectAsync(host, proxy);
        await TestStack.AppendAsync(account.Email, TestStack.SimpleMessage(account.Email, "before the outage"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(account.Token) == 1, TimeSpan.FromSeconds(60)));

        await account.OutageUntilLongBackOffAsync(host, proxy);
        await TestStack.AppendAsync(account.Email, TestStack.SimpleMessage(account.Email, "during the outage"));

        proxy.Open();
        // Well under the back-off (2 min) and the watcher's reconnect delay after this many failures.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(account.Token) == 2, TimeSpan.FromSeconds(20)));
        // The step sets running once it has been through every folder, a moment after the message is served.
        using var http = host.Client(account.Token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await http.GetFromJsonAsync<JsonElement>("/account")).GetProperty("sync_state").GetString() == "running", TimeSpan.FromSeconds(20)));
    }
}

/// <summary>Credentials sent again through the API wake a sync out of its back-off, with no watcher to do it.</summary>
public sealed class CredentialsWakeTests(UnwatchedHostFixture host) : IClassFixture<UnwatchedHostFixture>
{
    [Fact]
    public async Task Credentials_sent_again_end_a_long_back_off_at_once()
    {
        await using var proxy = new LoopbackForwarder(TestStack.ImapsPort, TestStack.ImapHost);
        var account = await ProxiedAccount.ConnectAsync(host, proxy);
        await TestStack.AppendAsync(account.Email, TestStack.SimpleMessage(account.Email, "before the outage"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(account.Token) == 1, TimeSpan.FromSeconds(60)));

        await account.OutageUntilLongBackOffAsync(host, proxy);
        proxy.Open();
        await TestStack.AppendAsync(account.Email, TestStack.SimpleMessage(account.Email, "after the outage"));
        // Nothing wakes the sync for 2 minutes: no watcher, and its back-off is that long.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, await host.CountMessagesAsync(account.Token));

        await ProxiedAccount.PostAsync(host, account.ConnectBody);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(account.Token) == 2, TimeSpan.FromSeconds(20)));
    }
}
