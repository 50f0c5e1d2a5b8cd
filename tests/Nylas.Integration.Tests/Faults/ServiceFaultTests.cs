using MySqlConnector;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>
/// Infrastructure faults mid-sync: MariaDB or Azurite stopped for <see cref="FaultSize.Outage"/> (90 s with
/// <c>./dev test --faults</c>) and started again, a writer held on a row lock past InnoDB's lock-wait timeout.
/// Afterwards the mirror must equal the server. They stop services of the test instance, so they run alone.
/// </summary>
[Collection(nameof(ServiceFaultCollection))]
public sealed class ServiceFaultTests(FaultHostFixture host, ITestOutputHelper output) : IClassFixture<FaultHostFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(FaultSize.Full ? 600 : 180);

    private async Task OutageMidSyncAsync(StackService service)
    {
        await using var run = new FaultRun(host, output);
        await run.StartAsync();
        run.StartChanges();
        await run.WaitForServedAsync(FaultSize.Point(50, FaultSize.Messages / 2, run.Seed));
        output.WriteLine($"{service} stopped for {FaultSize.Outage.TotalSeconds:F0} s with {await run.ServedAsync()} of {run.Mailbox.Total} served");
        await ServiceControl.OutageAsync(service, FaultSize.Outage);
        await run.AssertMirrorEqualsServerAsync(Settle);
    }

    [Fact]
    public Task MariaDB_stopped_mid_ingest_then_started_loses_nothing() => OutageMidSyncAsync(StackService.MariaDb);

    [Fact]
    public Task Azurite_stopped_mid_sync_then_started_loses_nothing() => OutageMidSyncAsync(StackService.Azurite);

    [Fact]
    public async Task A_writer_held_past_the_lock_wait_timeout_loses_nothing()
    {
        await using var run = new FaultRun(host, output);
        await run.StartAsync();
        run.StartChanges();
        await run.WaitForServedAsync(FaultSize.Point(50, FaultSize.Messages / 2, run.Seed));

        // Every change of the account takes its change_cursors row (ChangeLog.AppendAsync): holding it stops every
        // writer of the account until InnoDB gives up on them (innodb_lock_wait_timeout, 50 s by default).
        long accountId = await host.Databases.AccountRowIdAsync(run.AccountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE public_id = '{run.AccountId}'");
        await using var connection = new MySqlConnection(shard == 0 ? host.Databases.Shard0 : host.Databases.Shard1);
        await connection.OpenAsync();
        long timeout = Convert.ToInt64(await new MySqlCommand("SELECT @@innodb_lock_wait_timeout", connection).ExecuteScalarAsync());
        await using (var tx = await connection.BeginTransactionAsync())
        {
            await using var lockRow = new MySqlCommand($"SELECT last_seq FROM change_cursors WHERE account_id = {accountId} FOR UPDATE", connection, tx);
            await lockRow.ExecuteScalarAsync();
            output.WriteLine($"holding the account's change_cursors row for {timeout + 10} s (innodb_lock_wait_timeout {timeout} s) with {await run.ServedAsync()} of {run.Mailbox.Total} served");
            await Task.Delay(TimeSpan.FromSeconds(timeout + 10));
            await tx.RollbackAsync();
        }
        await run.AssertMirrorEqualsServerAsync(Settle);
    }
}
