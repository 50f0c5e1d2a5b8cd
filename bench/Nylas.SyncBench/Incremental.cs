using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Nylas.Engine;
using Nylas.Engine.Sync;
using Nylas.Testing;

namespace Nylas.SyncBench;

public sealed record CycleRun(TimeSpan Elapsed, int Fetched, bool HasMore, WireCounts Wire);

public sealed record IncrementalResult(string Mode, CycleRun WarmUp, IReadOnlyList<CycleRun> Runs)
{
    public CycleRun Median => Runs.OrderBy(r => r.Elapsed).ElementAt(Runs.Count / 2);
}

/// <summary>
/// The cost of a sync step when nothing changed: <see cref="MailboxSyncer.SyncAsync"/> called directly, once to
/// warm up and then N times, with CONDSTORE (the default) and with <c>Nylas:Sync:DisableCondStore=true</c>
/// (a cycle that compares every flag, and one between two such comparisons).
/// Each mode gets its own engine container (<c>AddNylasEngine</c> over the host's settings, no hosted
/// services), so the two differ in that one option only; the host's own orchestration is suspended meanwhile.
/// The account points at <see cref="ImapCountingProxy"/> so commands and bytes are counted.
/// </summary>
public static class Incremental
{
    public static async Task<List<IncrementalResult>> RunAsync(HostUnderTest host, long accountId, BenchLog log, int runs, CancellationToken cancellationToken)
    {
        await using var proxy = new ImapCountingProxy(TestStack.ImapHost, TestStack.ImapPort);
        proxy.Start();
        await SetImapPortAsync(host, accountId, proxy.Port, cancellationToken);
        try
        {
            var results = new List<IncrementalResult>();
            // Without CONDSTORE the engine compares every UID's flags only when a folder's schedule says so
            // (Nylas:Core SyncSchedule: one minute per 2,000 messages); in between a cycle only looks for expunges.
            // Both kinds of cycle are measured, made due or not due by setting folders.last_full_compare_at.
            var modes = new (string Name, bool DisableCondStore, bool? FullCompareDue)[]
            {
                ("with CONDSTORE", false, null),
                ("without CONDSTORE, full flag comparison due", true, true),
                ("without CONDSTORE, between full comparisons", true, false),
            };
            foreach (var (name, disableCondStore, fullCompareDue) in modes)
            {
                string mode = name;
                await using var provider = CreateEngine(host, log, disableCondStore);
                var syncer = provider.GetRequiredService<MailboxSyncer>();
                log.ResetClock($"incremental cycles {mode}");
                if (fullCompareDue is not null && !await SetFullCompareDueAsync(host, accountId, fullCompareDue.Value, cancellationToken))
                {
                    if (fullCompareDue == false) continue; // an engine without the schedule: every cycle compares everything
                    mode = "without CONDSTORE";
                }

                async Task<CycleRun> CycleAsync()
                {
                    if (fullCompareDue is { } due) await SetFullCompareDueAsync(host, accountId, due, cancellationToken);
                    proxy.Reset();
                    var sw = Stopwatch.StartNew();
                    var outcome = await syncer.SyncAsync(accountId, cancellationToken);
                    sw.Stop();
                    // The relay may still be counting the LOGOUT's reply: give it a moment.
                    await Task.Delay(50, cancellationToken);
                    return new CycleRun(sw.Elapsed, outcome.Fetched, outcome.HasMore, proxy.Reset());
                }

                var warm = await CycleAsync();
                var list = new List<CycleRun>();
                for (int i = 0; i < runs; i++) list.Add(await CycleAsync());
                var result = new IncrementalResult(mode, warm, list);
                Console.WriteLine($"  {mode}: median {result.Median.Elapsed.TotalMilliseconds:F0} ms (runs {string.Join(", ", list.Select(r => r.Elapsed.TotalMilliseconds.ToString("F0")))} ms; warm-up {warm.Elapsed.TotalMilliseconds:F0} ms), " +
                                  $"{result.Median.Wire.Commands} IMAP commands, {result.Median.Wire.BytesToServer + result.Median.Wire.BytesFromServer} bytes, fetched {result.Median.Fetched}");
                results.Add(result);
            }
            return results;
        }
        finally
        {
            await SetImapPortAsync(host, accountId, TestStack.ImapPort, CancellationToken.None);
        }
    }

    /// <summary>The engine's services over the host's settings (same databases, storage, key), without the host's background services.</summary>
    public static ServiceProvider CreateEngine(HostUnderTest host, BenchLog log, bool disableCondStore)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(host.Settings)
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Nylas:Sync:DisableCondStore"] = disableCondStore ? "true" : "false" })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.ClearProviders();
            b.AddProvider(log);
            b.SetMinimumLevel(LogLevel.Information);
        });
        services.AddNylasEngine(configuration);
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// Makes the next no-CONDSTORE cycle compare every flag (<paramref name="due"/>) or not, through the folders'
    /// <c>last_full_compare_at</c>. False when the schema has no such column (an engine without the schedule).
    /// </summary>
    public static async Task<bool> SetFullCompareDueAsync(HostUnderTest host, long accountId, bool due, CancellationToken cancellationToken)
    {
        await using var db = new MySqlConnection(host.Shard(await ShardOfAsync(host, accountId, cancellationToken)));
        await db.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand($"UPDATE folders SET last_full_compare_at = {(due ? "NULL" : "UTC_TIMESTAMP(3)")} WHERE account_id = @a", db);
        cmd.Parameters.AddWithValue("@a", accountId);
        try
        {
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }
        catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.BadFieldError)
        {
            return false;
        }
    }

    private static async Task<int> ShardOfAsync(HostUnderTest host, long accountId, CancellationToken cancellationToken)
    {
        await using var global = new MySqlConnection(host.Databases.Global);
        await global.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand("SELECT shard_id FROM accounts WHERE id = @id", global);
        cmd.Parameters.AddWithValue("@id", accountId);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    private static async Task SetImapPortAsync(HostUnderTest host, long accountId, int port, CancellationToken cancellationToken)
    {
        await using var global = new MySqlConnection(host.Databases.Global);
        await global.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand("UPDATE accounts SET imap_port = @port WHERE id = @id", global);
        cmd.Parameters.AddWithValue("@port", port);
        cmd.Parameters.AddWithValue("@id", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
