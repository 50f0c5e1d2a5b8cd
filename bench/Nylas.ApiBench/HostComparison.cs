using System.Text;
using Nylas.Testing;

namespace Nylas.ApiBench;

/// <summary>One page served by one host build in one round: requests, wall time and the host's CPU.</summary>
public sealed record ComparisonRun(string Host, string Page, int Round, LoadResult Load, double CpuSeconds, double IdleCpuPerSecond)
{
    public double CpuMsPerRequest => Load.Requests == 0 ? double.NaN : CpuSeconds * 1000 / Load.Requests;

    /// <summary>The same less what the host spends with no request at all (durable and queue polling, the account's sync retries).</summary>
    public double NetCpuMsPerRequest => Load.Requests == 0 ? double.NaN : (CpuSeconds - IdleCpuPerSecond * Load.Duration.TotalSeconds) * 1000 / Load.Requests;
}

/// <summary>
/// <c>--compare-host-dll</c>: two host builds over the same seeded databases, answers checked byte for byte, then
/// loaded in turn (A, B, A, B, …) on the same pages, so a change's effect on the host's CPU per page is measured
/// under the same conditions (the machine's other load moves both alike).
/// </summary>
public static class HostComparison
{
    /// <summary>Pages whose answers must be identical, byte for byte, from both builds.</summary>
    public static readonly string[] CheckedPaths =
    [
        "messages?limit=100", "messages?limit=100&offset=1000", "messages?limit=50&view=expanded", "messages?limit=100&in=inbox&unread=true",
        "messages?limit=20&has_attachment=true", "messages?view=ids&limit=100", "messages?view=count",
        "threads?limit=100", "threads?limit=100&offset=1000", "threads?limit=10&view=expanded", "threads?limit=100&starred=true",
        "folders", "account",
    ];

    public static async Task<List<string>> CheckSameAnswersAsync(HttpClient a, HttpClient b, IEnumerable<string> extraPaths, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (string path in CheckedPaths.Concat(extraPaths))
        {
            using var ra = await a.GetAsync(path, cancellationToken);
            using var rb = await b.GetAsync(path, cancellationToken);
            byte[] ba = await ra.Content.ReadAsByteArrayAsync(cancellationToken), bb = await rb.Content.ReadAsByteArrayAsync(cancellationToken);
            if (ra.StatusCode != rb.StatusCode) problems.Add($"{path}: HTTP {(int)ra.StatusCode} from A, {(int)rb.StatusCode} from B");
            else if (!ba.AsSpan().SequenceEqual(bb))
            {
                int at = ba.AsSpan().CommonPrefixLength(bb);
                problems.Add($"{path}: the answers differ at byte {at} of {ba.Length}/{bb.Length}: A '{Around(ba, at)}', B '{Around(bb, at)}'");
            }
            else if (ra.Content.Headers.ContentType?.ToString() != rb.Content.Headers.ContentType?.ToString())
                problems.Add($"{path}: Content-Type {ra.Content.Headers.ContentType} from A, {rb.Content.Headers.ContentType} from B");
        }
        return problems;
    }

    private static string Around(byte[] body, int at)
        => Encoding.UTF8.GetString(body, Math.Max(0, at - 40), Math.Min(body.Length, at + 40) - Math.Max(0, at - 40));

    public static async Task<List<ComparisonRun>> RunAsync(Wrk wrk, IReadOnlyList<(string Name, HostProcess Host)> hosts, IReadOnlyList<string> pages,
        BenchOptions options, CancellationToken cancellationToken)
    {
        var runs = new List<ComparisonRun>();
        foreach (var (_, host) in hosts)
            foreach (string page in pages)
                await wrk.RunAsync("warm-up", new Uri(host.BaseAddress, page), options.Connections, options.Threads, TimeSpan.FromSeconds(Math.Max(1, options.WarmupSeconds)), cancellationToken);
        // What each host burns with no request, both idle at once for 15 s after the warm-up (right after start-up the JIT
        // and the durable worker's start make it several times more).
        var idle0 = hosts.Select(h => ProcessCpu.Of(h.Host.Pid) ?? TimeSpan.Zero).ToList();
        var idleClock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(15), cancellationToken);
        var idle = hosts.Select((h, i) => ((ProcessCpu.Of(h.Host.Pid) ?? TimeSpan.Zero) - idle0[i]).TotalSeconds / idleClock.Elapsed.TotalSeconds).ToList();
        for (int i = 0; i < hosts.Count; i++) Console.WriteLine($"host {hosts[i].Name} idle: {idle[i] * 1000:F1} ms of CPU per second");
        for (int round = 1; round <= options.Rounds; round++)
            foreach (string page in pages)
                foreach (var (name, host) in round % 2 == 1 ? hosts : hosts.Reverse())
                {
                    double idlePerSecond = idle[hosts.ToList().FindIndex(h => h.Name == name)];
                    var before = ProcessCpu.Of(host.Pid) ?? TimeSpan.Zero;
                    var (load, _) = await wrk.RunAsync(name, new Uri(host.BaseAddress, page), options.Connections, options.Threads, TimeSpan.FromSeconds(options.Seconds), cancellationToken);
                    double cpu = ((ProcessCpu.Of(host.Pid) ?? TimeSpan.Zero) - before).TotalSeconds;
                    var run = new ComparisonRun(name, page, round, load, cpu, idlePerSecond);
                    runs.Add(run);
                    Console.WriteLine($"round {round}, {page}, host {name}: {load.PerSecond:F0} req/s, p50 {load.P50Ms:F1} ms, host CPU {run.CpuMsPerRequest:F2} ms/request, {run.NetCpuMsPerRequest:F2} net of idle ({load.Requests:N0} requests{(load.Errors > 0 ? $", {load.Errors} ERRORS" : "")})");
                }
        return runs;
    }

    public static string Render(IReadOnlyList<ComparisonRun> runs, IReadOnlyList<(string Name, string Dll)> hosts, string load, string endLoad)
    {
        var text = new StringBuilder();
        text.AppendLine($"Host comparison, {runs.Select(r => r.Round).DefaultIfEmpty().Max()} rounds, load average {load} at the start, {endLoad} at the end");
        foreach (var (name, dll) in hosts) text.AppendLine($"- host {name}: {dll}");
        text.AppendLine();
        text.AppendLine("| page | host | idle CPU | CPU ms/request per round | median | net of idle, median | req/s per round |");
        text.AppendLine("|---|---|---:|---|---:|---:|---|");
        foreach (var group in runs.GroupBy(r => (r.Page, r.Host)))
        {
            var cpu = group.Select(r => r.CpuMsPerRequest).ToList();
            text.AppendLine($"| `{group.Key.Page}` | {group.Key.Host} | {group.First().IdleCpuPerSecond * 1000:F0} ms/s | {string.Join(", ", cpu.Select(c => c.ToString("F2")))} | **{Median(cpu):F2}** | **{Median(group.Select(r => r.NetCpuMsPerRequest).ToList()):F2}** | {string.Join(", ", group.Select(r => r.Load.PerSecond.ToString("F0")))} |");
        }
        return text.ToString();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
