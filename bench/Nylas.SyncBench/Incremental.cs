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
/// warm up and then N times, with CONDSTORE (the default) and with <c>Nylas:Sync:DisableCondStore=true</c>.
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
            foreach (bool disableCondStore in new[] { false, true })
            {
                string mode = disableCondStore ? "without CONDSTORE" : "with CONDSTORE";
                await using var provider = CreateEngine(host, log, disableCondStore);
                var syncer = provider.GetRequiredService<MailboxSyncer>();
                log.ResetClock($"incremental cycles {mode}");

                async Task<CycleRun> CycleAsync()
                {
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
