using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Nylas.ApiBench;

public sealed record ReportInput(
    BenchOptions Options, DateTime Started, DateTime Finished, string LoadAtStart, string LoadAtEnd, string WrkVersion,
    Mailbox Mailbox, SeedResult Seed, int ShardId, IReadOnlyList<CaseResult> Cases, IReadOnlyList<Experiment> Experiments,
    IReadOnlyDictionary<string, string> Explains);

/// <summary>The Markdown report: figures with their ratio to the SQL baseline measured in the same run.</summary>
public static class Report
{
    public const double TargetP99Ms = 25, TargetRatio = 2;

    public static string Render(ReportInput input)
    {
        var o = input.Options;
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        void L(string line = "") => md.AppendLine(line);

        L("# API benchmark");
        L();
        L($"- command: `bench/api-bench.sh{(o.Messages != 100_000 ? $" --messages {o.Messages}" : "")}{(o.Experiments ? " --experiments" : "")}` (test stack from `./dev test --services-only`, its `NYLAS_TEST_*` exported; the script builds Release and runs `bench/Nylas.ApiBench`)");
        L($"- date: {input.Started:yyyy-MM-dd HH:mm} UTC (took {(input.Finished - input.Started).TotalMinutes:F1} min); commit {Git("rev-parse --short HEAD") ?? "?"}");
        L($"- machine: {Environment.ProcessorCount} cores; {Cpu()}; load average {input.LoadAtStart} at start, {input.LoadAtEnd} at the end; {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}. Shared with other work, so absolute times are noisy: read the ratios to the SQL baseline measured in the same run.");
        L($"- load tool: {input.WrkVersion} (Debian package), `-c{o.Connections} -t{o.Threads} -d<S>s --latency`, a Lua script for the Basic auth header; {o.WarmupSeconds} s warm-up per endpoint before measuring.");
        L($"- host under test: `functions/Nylas.LocalHost` (Release) as its own process, started with `env -u DOTNET_PROCESSOR_COUNT`, `Nylas__Api__RateLimitPerSecond=0` (limiter off), fresh databases, its own task hub and ingest queue; the account's IMAP host is in the reserved `.invalid` domain (no server holds the seeded mailbox: its sync fails at the name lookup and backs off, so it never touches the seeded rows).");
        var mb = input.Mailbox;
        int inTwo = mb.Messages.Count(m => m.Folders.Count > 1), withFiles = mb.Messages.Count(m => m.Attachments.Count > 0), invitations = mb.Messages.Count(m => m.Invitation is not null);
        L($"- account: {mb.Messages.Count:N0} messages in {mb.Threads.Count:N0} threads (largest {mb.Threads.Max(t => t.Messages.Count)}), {Mailbox.FolderList.Count} folders ({inTwo:N0} messages in two), {withFiles:N0} messages with files ({mb.Files.Count:N0} files), {invitations} invitations, {input.Seed.RowCounts.GetValueOrDefault("contacts"):N0} contacts, ~{input.Seed.DataBytes / 1024.0 / 1024:F0} MB of message columns (HTML bodies {mb.Messages.Average(m => m.BodyLength) / 1024:F1} KB on average); shard {input.ShardId}. Seeded with multi-row INSERTs of the rows ingest writes (messages, imap_uids, threads with their aggregates, thread_message_ids, contacts, files, message_files, calendars, events, transactions) in {input.Seed.Took.TotalSeconds:F0} s, then `ANALYZE TABLE`; before measuring, every page was checked against the seed through the API (order, ids, folder, thread, flags, files, events; thread message ids, folders, flags) and the baseline SQL returned the same pages.");
        L("- **baseline (SQL)**: the statements the API runs for the page, copied from the engine — the access-token lookup (global DB), the list query, and the per-page queries in one batch as the engine sends them (messages: files, events, metadata; threads: folders, metadata, message ids) — run back to back by " +
          $"{o.Connections} workers with raw MySqlConnector, each on its own open connections, reading every column of every row; closed loop like wrk. `SQL, pooled` takes a pooled connection for each statement, as the engine's `MySqlDataSource.CreateCommand` does.");
        L();
        L("## Results");
        L();
        L($"| page | API req/s | API p50 | API p99 | SQL req/s | SQL p50 | SQL p99 | **p99 ratio** API ÷ SQL | **throughput ratio** SQL ÷ API | p99 ≤ {TargetP99Ms} ms | ratio ≤ {TargetRatio} |");
        L("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var c in input.Cases)
        {
            double p99Ratio = c.Api.P99Ms / c.Sql.P99Ms, tputRatio = c.Sql.PerSecond / c.Api.PerSecond;
            L(string.Create(inv, $"| `GET /{c.Path}` | {c.Api.PerSecond:F0} | {c.Api.P50Ms:F1} ms | {c.Api.P99Ms:F1} ms | {c.Sql.PerSecond:F0} | {c.Sql.P50Ms:F1} ms | {c.Sql.P99Ms:F1} ms | **{p99Ratio:F2}** | **{tputRatio:F2}** | {Met(c.Api.P99Ms <= TargetP99Ms)} | {Met(p99Ratio <= TargetRatio && tputRatio <= TargetRatio)} |"));
        }
        L();
        L("Details per run (`max` is the slowest request; CPU is CPU-seconds per request over the run: the process serving the page — the local host for the API, this program for SQL — and MariaDB; `machine` is every core's busy time per request, including wrk and other work on the machine):");
        L();
        L("| page | run | requests | errors | p90 | max | response | CPU/request: serving process | MariaDB | machine |");
        L("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in input.Cases)
        {
            L(string.Create(inv, $"| `/{c.Path}` | API (wrk, {c.Api.Duration.TotalSeconds:F0} s) | {c.Api.Requests:N0} | {c.Api.Errors} | {c.Api.P90Ms:F1} ms | {c.Api.MaxMs:F0} ms | {c.ResponseBytes / 1024.0:F0} KB | {PerRequest(c.ApiCpu.Process, c.Api)} | {PerRequest(c.ApiCpu.MariaDb, c.Api)} | {PerRequest(c.ApiCpu.Machine, c.Api)} |"));
            L(string.Create(inv, $"| | SQL ({c.Sql.Duration.TotalSeconds:F0} s) | {c.Sql.Requests:N0} | {c.Sql.Errors} | {c.Sql.P90Ms:F1} ms | {c.Sql.MaxMs:F0} ms | | {PerRequest(c.SqlCpu.Process, c.Sql)} | {PerRequest(c.SqlCpu.MariaDb, c.Sql)} | {PerRequest(c.SqlCpu.Machine, c.Sql)} |"));
            if (c.SqlPooled is { } p)
                L(string.Create(inv, $"| | SQL, pooled connection per statement ({p.Duration.TotalSeconds:F0} s) | {p.Requests:N0} | {p.Errors} | {p.P90Ms:F1} ms | {p.MaxMs:F0} ms | | p50 {p.P50Ms:F1} ms, p99 {p.P99Ms:F1} ms, {p.PerSecond:F0} req/s | | |"));
        }
        if (input.Cases.Any(c => c.ApiSingle is not null))
        {
            L();
            L("Service time — one request at a time (wrk `-c1 -t1`, one SQL worker), so nothing waits behind another request:");
            L();
            L("| page | API p50 | API p99 | API req/s | SQL p50 | SQL p99 | SQL req/s | API p50 − SQL p50 (the host's own time) |");
            L("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var c in input.Cases.Where(c => c.ApiSingle is not null))
                L(string.Create(inv, $"| `/{c.Path}` | {c.ApiSingle!.P50Ms:F1} ms | {c.ApiSingle.P99Ms:F1} ms | {c.ApiSingle.PerSecond:F0} | {c.SqlSingle!.P50Ms:F1} ms | {c.SqlSingle.P99Ms:F1} ms | {c.SqlSingle.PerSecond:F0} | {c.ApiSingle.P50Ms - c.SqlSingle.P50Ms:F1} ms |"));
        }
        if (input.Experiments.Count > 0)
        {
            L();
            L("## Experiments: alternative SQL in the baseline harness");
            L();
            L($"The same page's statements before and after one change, checked to answer the same; 8 s with one worker (service time), then 8 s with {o.Connections} workers (MariaDB CPU per request from `/proc`).");
            L();
            L($"| experiment | change | 1 worker p50 before → after | {o.Connections} workers p99 before → after | req/s before → after | MariaDB CPU/request before → after |");
            L("|---|---|---:|---:|---:|---:|");
            foreach (var e in input.Experiments)
                L(string.Create(inv, $"| {e.Name} | {e.Description} | {e.BeforeSingle.P50Ms:F1} → **{e.AfterSingle.P50Ms:F1} ms** | {e.BeforeLoaded.P99Ms:F0} → {e.AfterLoaded.P99Ms:F0} ms | {e.BeforeLoaded.PerSecond:F0} → {e.AfterLoaded.PerSecond:F0} | {e.BeforeMariaDbMs:F2} → {e.AfterMariaDbMs:F2} ms |"));
        }
        L();
        L("## Query plans (EXPLAIN of each list query on the seeded data)");
        foreach (var (name, plan) in input.Explains)
        {
            L();
            L($"{name}:");
            L();
            md.Append(plan);
        }
        return md.ToString();
    }

    private static string PerRequest(double seconds, LoadResult r) => r.Requests == 0 ? "—" : string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000 / r.Requests:F2} ms");

    private static string Met(bool met) => met ? "met" : "**not met**";

    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Nylas.Functions.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    private static string Cpu()
    {
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
            var mem = File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return $"{model}; {long.Parse(mem) / 1024 / 1024} GiB RAM";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string? Git(string args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot() };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
