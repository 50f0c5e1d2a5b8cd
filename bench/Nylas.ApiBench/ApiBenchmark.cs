using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Security;
using Nylas.Testing;

namespace Nylas.ApiBench;

/// <summary>One measured case: an endpoint and page, its API run (wrk) and its SQL baselines.</summary>
public sealed record CaseResult(string Name, string Path, LoadResult Api, CpuShare ApiCpu, LoadResult Sql, CpuShare SqlCpu, LoadResult? SqlPooled, long ResponseBytes,
    LoadResult? ApiSingle, LoadResult? SqlSingle);

/// <summary>CPU seconds during a run: the process under test (host or this process), MariaDB, and the whole machine.</summary>
public sealed record CpuShare(double Process, double MariaDb, double Machine, double Wall);

public sealed record Experiment(string Name, string Description, LoadResult BeforeSingle, LoadResult AfterSingle, LoadResult BeforeLoaded, LoadResult AfterLoaded,
    double BeforeMariaDbMs, double AfterMariaDbMs);

public sealed class ApiBenchmark(BenchOptions options)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        string load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        string wrkVersion = Wrk.Version() ?? throw new StackUnavailableException("wrk is not installed: apt-get install -y wrk (bench/api-bench.sh does it)");
        if (!File.Exists(options.HostDll)) throw new StackUnavailableException($"no local host build at {options.HostDll}");
        Console.WriteLine($"API benchmark: {options.Messages:N0} messages, {options.Connections} connections, {options.Seconds} s per run; load average {load}");

        // 1. Fresh databases and the engine's own migrations, application, account and access token.
        TestDatabases databases;
        try { databases = await TestStack.CreateDatabasesAsync(); }
        catch (MySqlException ex) { throw new StackUnavailableException($"cannot reach MariaDB ({ex.Message})", ex); }
        string runId = Guid.NewGuid().ToString("N")[..12];
        var settings = databases.EngineSettings();
        settings["Nylas:Durable:TaskHub"] = "ab" + runId;
        settings["Nylas:Storage:IngestQueue"] = "ingest-ab-" + runId;
        settings["Nylas:Api:RateLimitPerSecond"] = "0";
        int exitCode = 1;
        try
        {
            exitCode = await RunOnDatabasesAsync(databases, settings, started, load, wrkVersion, cancellationToken);
        }
        finally
        {
            if (!options.Keep) await DropAsync(databases);
            else Console.WriteLine($"databases kept: {databases.Prefix}_global, {databases.Prefix}_shard0, {databases.Prefix}_shard1");
        }
        return exitCode;
    }

    private async Task<int> RunOnDatabasesAsync(TestDatabases databases, Dictionary<string, string?> settings, DateTime started, string load, string wrkVersion, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddNylasEngine(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
        Account account;
        string token;
        await using (services)
        {
            await services.PrepareStorageAsync(cancellationToken);
            var store = services.GetRequiredService<AccountStore>();
            var (application, _) = await store.CreateApplicationAsync("API benchmark", cancellationToken);
            (account, token) = await store.UpsertAccountAsync(application.Id, Mailbox.Owner, Mailbox.OwnerName, "imap",
                new ImapServer("imap.invalid", 993, ImapSecurity.Ssl, Mailbox.Owner, null), new AccountSecrets("unused"), cancellationToken);
        }
        // No server holds this mailbox: its IMAP host is in the reserved .invalid domain, so every sync attempt fails
        // at the name lookup (the account shows sync-error, the host backs off) and never reaches a folder listing
        // that could orphan the seeded messages. A downgraded (stopped) account is not an option: the API answers it 403.
        string shardCs = account.ShardId == 0 ? databases.Shard0 : databases.Shard1;

        // 2. The mailbox, written as ingest writes it.
        var now = DateTime.UtcNow;
        var generate = Stopwatch.StartNew();
        var mailbox = Mailbox.Generate(options.Messages, seed: 20261127, new DateTimeOffset(now));
        Console.WriteLine($"mailbox generated in {generate.Elapsed.TotalSeconds:F1} s: {mailbox.Messages.Count:N0} messages, {mailbox.Threads.Count:N0} threads, {mailbox.Files.Count:N0} files; seeding shard {account.ShardId} ...");
        var seed = await new Seeder(shardCs, account.Id, account.ShardId).SeedAsync(mailbox, now, s => Console.WriteLine($"  {s}"), cancellationToken);
        Console.WriteLine($"seeded in {seed.Took.TotalSeconds:F1} s: {string.Join(", ", seed.RowCounts.Select(kv => $"{kv.Key} {kv.Value:N0}"))}");

        // 3. The local host as its own process.
        var hostSettings = settings.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value);
        // The test stack's exports set DOTNET_PROCESSOR_COUNT; the product does not run so.
        hostSettings["DOTNET_PROCESSOR_COUNT"] = null;
        await using var host = new HostProcess(options.HostDll, hostSettings, Path.Combine(Path.GetTempPath(), $"apibench-host-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log"));
        await host.StartAsync(TimeSpan.FromSeconds(120), cancellationToken);
        Console.WriteLine($"local host up at {host.BaseAddress} (pid {host.Pid}, log {host.LogPath})");
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(token + ":")));

        byte[] tokenHash = Credentials.Hash(token);
        int limit = 100;
        int deepMessages = options.Messages / 2, deepThreads = mailbox.Threads.Count / 2;
        var cases = new List<(string Name, string Path, PageRunner Runner, int Seconds, bool Pooled)>
        {
            ("messages, first page", $"messages?limit={limit}", new PageRunner(PagePlan.Messages(), account.Id, tokenHash, limit, 0), options.Seconds, true),
            ("threads, first page", $"threads?limit={limit}", new PageRunner(PagePlan.Threads(), account.Id, tokenHash, limit, 0), options.Seconds, true),
        };
        if (options.DeepSeconds > 0)
        {
            cases.Add(($"messages, offset {deepMessages:N0}", $"messages?limit={limit}&offset={deepMessages}", new PageRunner(PagePlan.Messages(), account.Id, tokenHash, limit, deepMessages), options.DeepSeconds, false));
            cases.Add(($"threads, offset {deepThreads:N0}", $"threads?limit={limit}&offset={deepThreads}", new PageRunner(PagePlan.Threads(), account.Id, tokenHash, limit, deepThreads), options.DeepSeconds, false));
        }

        // 4. Check that the API serves the seeded mailbox, and that the baseline reads the same pages.
        var verify = new Verifier(mailbox, seed.Ids);
        var problems = new List<string>();
        problems.AddRange(await verify.CountsAsync(http, cancellationToken));
        var responseBytes = new Dictionary<string, long>();
        await using (var connections = await Connections.OpenAsync(databases.Global, shardCs, cancellationToken))
        {
            foreach (var c in cases)
            {
                var (page, bytes, pageProblems) = await verify.PageAsync(http, c.Path, c.Runner.Plan.Name, c.Runner.Offset, limit, cancellationToken);
                responseBytes[c.Path] = bytes;
                problems.AddRange(pageProblems);
                var read = await c.Runner.RunAsync(connections, cancellationToken);
                if (!read.PublicIds.SequenceEqual(page))
                    problems.Add($"{c.Path}: the baseline SQL lists other rows than the API (first API id {page.FirstOrDefault()}, first SQL id {read.PublicIds.FirstOrDefault()})");
                Console.WriteLine($"checked {c.Path}: {page.Count} items, {bytes:N0} bytes; baseline rows per statement {string.Join('/', read.RowsPerStatement)}");
            }
        }
        if (problems.Count > 0)
        {
            Console.WriteLine("FAIL: the API does not serve the seeded mailbox as expected:");
            foreach (var p in problems.Take(30)) Console.WriteLine($"  {p}");
            return 1;
        }
        Console.WriteLine("PASS: pages, counts, folders, threads, files and events as seeded; baseline pages identical");

        if (options.CompareHostDll is { } compareDll)
            return await CompareAsync(host, http, hostSettings, compareDll, token, cases.Select(c => c.Path).ToList(), load, cancellationToken);

        // 5. Measure: per case, the API under wrk, then the same statements from 16 SQL workers.
        int? mariaDb = ProcessCpu.MariaDbPid((int)new MySqlConnectionStringBuilder(TestStack.MySql).Port);
        using var wrk = new Wrk(token);
        var results = new List<CaseResult>();
        var explains = new Dictionary<string, string>();
        foreach (var c in cases)
        {
            var url = new Uri(host.BaseAddress, c.Path);
            if (options.WarmupSeconds > 0)
            {
                await wrk.RunAsync("warm-up", url, options.Connections, options.Threads, TimeSpan.FromSeconds(options.WarmupSeconds), cancellationToken);
                await SqlLoad.RunAsync("warm-up", databases.Global, shardCs, c.Runner, options.Connections, TimeSpan.FromSeconds(Math.Min(3, options.WarmupSeconds)), false, cancellationToken);
            }
            var duration = TimeSpan.FromSeconds(c.Seconds);
            var cpu0 = Cpu(host.Pid, mariaDb);
            var (api, wrkOutput) = await wrk.RunAsync("API", url, options.Connections, options.Threads, duration, cancellationToken);
            var apiCpu = Cpu(host.Pid, mariaDb).Since(cpu0);
            Console.WriteLine($"{c.Name}: API {Line(api)}; host CPU {apiCpu.Process * 1000 / api.Requests:F2} ms/request");
            var cpu1 = Cpu(Environment.ProcessId, mariaDb);
            var sql = await SqlLoad.RunAsync("SQL", databases.Global, shardCs, c.Runner, options.Connections, duration, false, cancellationToken);
            var sqlCpu = Cpu(Environment.ProcessId, mariaDb).Since(cpu1);
            Console.WriteLine($"{c.Name}: SQL {Line(sql)}");
            LoadResult? pooled = null, apiSingle = null, sqlSingle = null;
            if (c.Pooled)
            {
                pooled = await SqlLoad.RunAsync("SQL, pooled", databases.Global, shardCs, c.Runner, options.Connections, duration, true, cancellationToken);
                Console.WriteLine($"{c.Name}: SQL, a pooled connection per statement {Line(pooled)}");
                // Service time: one request at a time, nothing queued behind it.
                var single = TimeSpan.FromSeconds(Math.Max(5, c.Seconds / 2));
                (apiSingle, _) = await wrk.RunAsync("API, 1 connection", url, 1, 1, single, cancellationToken);
                sqlSingle = await SqlLoad.RunAsync("SQL, 1 worker", databases.Global, shardCs, c.Runner, 1, single, false, cancellationToken);
                Console.WriteLine($"{c.Name}: 1 connection: API {Line(apiSingle)}; SQL {Line(sqlSingle)}");
            }
            results.Add(new CaseResult(c.Name, c.Path, api, apiCpu, sql, sqlCpu, pooled, responseBytes[c.Path], apiSingle, sqlSingle));
            explains[c.Name] = await ExplainAsync(shardCs, c.Runner, account.Id, cancellationToken);
            _ = wrkOutput;
        }

        // What the host spends with no request at all (durable and queue polling, the account's failing sync), measured
        // warm, so the CPU per request can be read net of it: at a few dozen requests per second it is a large share.
        var idle0 = Cpu(host.Pid, mariaDb);
        await Task.Delay(TimeSpan.FromSeconds(15), cancellationToken);
        var idle = Cpu(host.Pid, mariaDb).Since(idle0);
        double idlePerSecond = idle.Process / idle.Wall;
        Console.WriteLine($"host idle: {idlePerSecond * 1000:F1} ms of CPU per second; API host CPU per request net of it: "
            + string.Join(", ", results.Select(r => $"{r.Name} {(r.ApiCpu.Process - idlePerSecond * r.ApiCpu.Wall) * 1000 / r.Api.Requests:F2} ms")));

        var experiments = new List<Experiment>();
        if (options.Experiments)
            experiments.AddRange(await Experiments.RunAsync(databases.Global, shardCs, account.Id, tokenHash, limit, deepMessages, deepThreads, options.Connections, mariaDb, cancellationToken));

        await host.StopAsync(TimeSpan.FromSeconds(30));
        string endLoad = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        var report = Report.Render(new ReportInput(options, started, DateTime.UtcNow, load, endLoad, wrkVersion, mailbox, seed, account.ShardId, results, experiments, explains));
        Console.WriteLine();
        Console.WriteLine(report);
        string? path = options.ResultsPath ?? Path.Combine(Report.RepositoryRoot(), "bench", "results", "api.md");
        if (path != "-")
        {
            await File.WriteAllTextAsync(path, report, cancellationToken);
            Console.WriteLine($"results written to {path}");
        }
        return 0;
    }

    /// <summary><c>--compare-host-dll</c>: the second build next to the first, same answers, then their CPU per page in turn.</summary>
    private async Task<int> CompareAsync(HostProcess hostA, HttpClient httpA, Dictionary<string, string?> hostSettings, string compareDll, string token,
        IReadOnlyList<string> casePaths, string load, CancellationToken cancellationToken)
    {
        var settingsB = new Dictionary<string, string?>(hostSettings)
        {
            // Its own durable task hub and ingest queue: the two hosts share only the databases they serve.
            ["Nylas:Durable:TaskHub"] = hostSettings["Nylas:Durable:TaskHub"] + "b",
            ["Nylas:Storage:IngestQueue"] = hostSettings["Nylas:Storage:IngestQueue"] + "-b",
        };
        foreach (var (key, value) in options.CompareSettings ?? []) settingsB[key] = value;
        await using var hostB = new HostProcess(compareDll, settingsB, Path.Combine(Path.GetTempPath(), $"apibench-hostb-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log"));
        await hostB.StartAsync(TimeSpan.FromSeconds(120), cancellationToken);
        Console.WriteLine($"host B up at {hostB.BaseAddress} (pid {hostB.Pid}, log {hostB.LogPath})");
        using var httpB = new HttpClient { BaseAddress = hostB.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        httpB.DefaultRequestHeaders.Authorization = httpA.DefaultRequestHeaders.Authorization;
        var problems = await HostComparison.CheckSameAnswersAsync(httpA, httpB, casePaths, cancellationToken);
        if (problems.Count > 0)
        {
            Console.WriteLine("FAIL: the two builds answer differently:");
            foreach (var p in problems) Console.WriteLine($"  {p}");
            return 1;
        }
        Console.WriteLine($"PASS: both builds give the same bytes for {HostComparison.CheckedPaths.Length + casePaths.Count} pages");
        using var wrk = new Wrk(token);
        var hosts = new List<(string, HostProcess)> { ("A", hostA), ("B", hostB) };
        var runs = await HostComparison.RunAsync(wrk, hosts, casePaths.Where(p => !p.Contains("offset", StringComparison.Ordinal)).ToList(), options, cancellationToken);
        await hostB.StopAsync(TimeSpan.FromSeconds(30));
        await hostA.StopAsync(TimeSpan.FromSeconds(30));
        string endLoad = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        string bSettings = string.Join(", ", (options.CompareSettings ?? []).Select(kv => $"{kv.Key}={kv.Value}"));
        string report = HostComparison.Render(runs, [("A", options.HostDll), ("B", bSettings.Length > 0 ? $"{compareDll} with {bSettings}" : compareDll)], load, endLoad);
        Console.WriteLine();
        Console.WriteLine(report);
        if (options.ResultsPath is { } path && path != "-") await File.WriteAllTextAsync(path, report, cancellationToken);
        return 0;
    }

    private static string Line(LoadResult r)
        => $"{r.PerSecond:F0} req/s, p50 {r.P50Ms:F1} ms, p90 {r.P90Ms:F1} ms, p99 {r.P99Ms:F1} ms, max {r.MaxMs:F0} ms ({r.Requests:N0} requests{(r.Errors > 0 ? $", {r.Errors} errors" : "")})";

    private sealed record CpuSnapshot(TimeSpan? Process, TimeSpan? MariaDb, double MachineBusy, long At)
    {
        public CpuShare Since(CpuSnapshot before) => new(
            ((Process ?? TimeSpan.Zero) - (before.Process ?? TimeSpan.Zero)).TotalSeconds,
            ((MariaDb ?? TimeSpan.Zero) - (before.MariaDb ?? TimeSpan.Zero)).TotalSeconds,
            MachineBusy - before.MachineBusy,
            Stopwatch.GetElapsedTime(before.At, At).TotalSeconds);
    }

    private static CpuSnapshot Cpu(int pid, int? mariaDb) => new(
        pid == Environment.ProcessId ? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime : ProcessCpu.Of(pid),
        mariaDb is int m ? ProcessCpu.Of(m) : null, MachineBusySeconds(), Stopwatch.GetTimestamp());

    private static double MachineBusySeconds()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        return (f.Sum() - f[3] - f[4]) / 100.0;
    }

    /// <summary>EXPLAIN of the page's list statement as MariaDB plans it on the seeded data.</summary>
    private static async Task<string> ExplainAsync(string shardCs, PageRunner runner, long accountId, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(shardCs);
        await connection.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand("EXPLAIN " + runner.Plan.List, connection);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@limit", 100);
        cmd.Parameters.AddWithValue("@offset", runner.Offset);
        var text = new StringBuilder("| id | select_type | table | type | key | rows | Extra |\n|---|---|---|---|---|---:|---|\n");
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            text.AppendLine($"| {r["id"]} | {r["select_type"]} | {r["table"]} | {r["type"]} | {r["key"]} | {r["rows"]} | {r["Extra"]} |");
        return text.ToString();
    }

    private static async Task DropAsync(TestDatabases databases)
    {
        await using var connection = new MySqlConnection(TestStack.MySql);
        await connection.OpenAsync();
        foreach (var suffix in new[] { "global", "shard0", "shard1" })
        {
            await using var cmd = new MySqlCommand($"DROP DATABASE IF EXISTS `{databases.Prefix}_{suffix}`", connection);
            await cmd.ExecuteNonQueryAsync();
        }
    }
}
