using System.Diagnostics;
using MySqlConnector;
using Nylas.Testing;

namespace Nylas.SyncBench;

/// <summary>The whole benchmark, phase by phase; each phase prints as it goes, the report is written at the end.</summary>
public sealed class SyncBenchmark(BenchOptions options, string[] args)
{
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var report = new Report { Options = options, Args = args, StartedAt = DateTimeOffset.UtcNow, Machine = MachineNote.Describe() };
        string runId = Guid.NewGuid().ToString("N")[..8];
        var cpu = ProcessCpu.Discover();
        RequestCounts.EnableAzureActivities();
        if (!cpu.Available) Console.WriteLine("note: test stack pid files not found; CPU per process is not reported");

        Console.WriteLine($"== corpus {options.Corpus}");
        var corpus = Corpus.Load(options.Corpus);
        report.Corpus = corpus;
        Console.WriteLine($"  {corpus.Templates.Count} message files ({corpus.TotalBytes / 1024} KiB), {corpus.Skipped.Count} skipped");

        Console.WriteLine($"== seeding {options.Messages} messages (MULTIAPPEND, one connection per folder)");
        var seed = await Seeder.SeedAsync(corpus, options.Messages, runId, cancellationToken);
        report.Seed = seed;
        Console.WriteLine($"  {seed.User}: {string.Join(", ", seed.UidsByFolder.Select(kv => $"{kv.Key} {kv.Value.Count}"))}; {seed.Bytes / 1e6:F1} MB; " +
                          $"\\Seen {seed.Seen}, \\Flagged {seed.Flagged}; {seed.Elapsed.TotalSeconds:F1} s ({seed.Items.Count / seed.Elapsed.TotalSeconds:F0} msgs/s)");

        Console.WriteLine("== baseline: raw MailKit UID FETCH BODY.PEEK[] over one connection, 500 UIDs per command");
        report.Baseline = await Baseline.RunAsync(seed.User, Seeder.Folders, options.BaselineRuns, cpu, cancellationToken);

        if (options.Peers)
        {
            Console.WriteLine("== peers: mbsync → Maildir, then notmuch new, then mu index, on the same mailbox");
            report.Peers = await Peers.RunAsync(seed, corpus, cpu, cancellationToken);
        }

        string logPath = Path.Combine(Path.GetTempPath(), $"syncbench-{runId}.log");
        using var log = new BenchLog(logPath);
        report.LogPath = logPath;
        Console.WriteLine($"== end to end: local host in-process (log {logPath})");
        var host = await HostUnderTest.StartAsync(log, options.IdleSeconds, options.Settings, cancellationToken);
        bool hostDisposed = false;
        try
        {
            report.HostSettings = host.Settings.Where(kv => kv.Key.StartsWith("Nylas:Sync", StringComparison.Ordinal) || kv.Key.StartsWith("Nylas:Durable", StringComparison.Ordinal)
                                                            || kv.Key.StartsWith("Nylas:Storage:IngestQueue", StringComparison.Ordinal)
                                                            || options.Settings.Any(s => s.Key == kv.Key))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            if (options.SettleSeconds > 0)
            {
                Console.WriteLine($"  host started; connecting the account in {options.SettleSeconds} s (--settle-seconds)");
                await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds), cancellationToken);
            }
            using var counts = RequestCounts.Create(host.Settings.GetValueOrDefault("Nylas:Storage:ConnectionString"));
            counts.Start();
            var e2e = await EndToEnd.RunAsync(host, seed, cpu, log, TimeSpan.FromMinutes(options.TimeoutMinutes), cancellationToken);
            report.RequestCounts = counts.Stop();
            report.EndToEnd = e2e;
            report.SyncEvents = log.Events.Where(e => e.Category.EndsWith("MailboxSyncer", StringComparison.Ordinal)).ToList();
            report.FirstPageCheck = await CheckFirstPageAsync(host, e2e, seed, cancellationToken);
            Console.WriteLine($"  first page: {report.FirstPageCheck.Summary}");

            // The peer comparison is about the initial sync: no incremental cycles, experiment or storage probe.
            if (!e2e.TimedOut && !e2e.Stalled && !options.Peers)
            {
                Console.WriteLine("== no-change incremental cycles (MailboxSyncer.SyncAsync called directly)");
                report.Incremental = await Incremental.RunAsync(host, e2e.AccountId, log, options.IncrementalRuns, cancellationToken);
            }

            Console.WriteLine("== mirror check");
            using var http = host.Client();
            long apiCount = await host.CountAsync(http, cancellationToken);
            report.Mirror = await MirrorCheck.RunAsync(seed.User, host.Shard(e2e.ShardId), e2e.AccountId, apiCount, cancellationToken);

            if (options.WarmHost && e2e.Done is not null)
                report.Warm = await WarmHostAsync(host, corpus, runId, cpu, log, cancellationToken);

            Console.WriteLine("== baseline once more (one pass: how much the machine's load moved during the run)");
            report.Baseline.After = await Baseline.OnePassAsync(seed.User, Seeder.Folders, cancellationToken);
            Console.WriteLine($"  {report.Baseline.After.MessagesPerSecond:F0} msgs/s");

            // The experiment needs a working ingest pump and an ingest queue that drains.
            if (options.RaceCheck && !options.Peers && (e2e.Done is not null || e2e.Stuck))
            {
                Console.WriteLine("== experiment (not part of the figures): server changes while ingest lags behind the sync step");
                report.Race = await RaceCheck.RunAsync(host, seed, corpus, runId, e2e.AccountId, e2e.ShardId, log, cancellationToken);
            }
            report.Problems = log.Problems.ToList();

            // Stopping the in-process host can abort the process (a NullReferenceException in DurableTask.AzureStorage's
            // AppLeaseManager.StopAsync, raised on a thread-pool callback of the gRPC sidecar's shutdown): a peer run, which
            // has everything it reports by now, writes its results first.
            if (options.Peers) await WriteReportAsync(report, cancellationToken);
            await host.DisposeAsync();
            hostDisposed = true;
        }
        finally
        {
            if (!hostDisposed) await host.DisposeAsync();
        }

        if (!options.Peers)
        {
            int probeCount = Math.Min(1000, options.Messages);
            Console.WriteLine($"== storage probe: the engine's Blob/queue calls alone on Azurite, {probeCount} messages");
            int backlog = Math.Max(probeCount, report.EndToEnd?.Samples.Select(s => s.QueueLength ?? 0).DefaultIfEmpty(0).Max() ?? 0);
            report.Probe = await StorageProbe.RunAsync(probeCount, backlog, (int)(seed.Bytes / seed.Items.Count), cancellationToken);
            foreach (var step in report.Probe) Console.WriteLine($"  {step.What}: {step.PerSecond:F0} msgs/s");
        }

        if (!options.Peers) await WriteReportAsync(report, cancellationToken);
        bool correct = report.EndToEnd is { Done: not null } && report.Mirror.All(l => l.Pass) && (report.Peers?.Succeeded ?? true)
                       && (!options.WarmHost || report.Warm is { EndToEnd.Done: not null } w && w.Mirror.All(l => l.Pass));
        return correct ? 0 : 1;
    }

    /// <summary>
    /// --warm-host: a second mailbox of the same size connected to the same host after the first. The first run pays for
    /// a fresh process (JIT compilation and tier-up of every hot method, pools and caches filled); this one is what a
    /// host that has been running for a while spends per message.
    /// </summary>
    private async Task<WarmRun> WarmHostAsync(HostUnderTest host, Corpus corpus, string runId, ProcessCpu cpu, BenchLog log, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== warm host: seeding a second mailbox of {options.Messages} messages, then connecting it to the same host");
        var seed = await Seeder.SeedAsync(corpus, options.Messages, runId + "w", cancellationToken);
        Console.WriteLine($"  {seed.User}: {seed.Bytes / 1e6:F1} MB; {seed.Elapsed.TotalSeconds:F1} s");
        // Connecting the second account gives the host object its token; what runs after this (the experiment) is about the first.
        string? firstToken = host.AccessToken;
        try
        {
            var e2e = await EndToEnd.RunAsync(host, seed, cpu, log, TimeSpan.FromMinutes(options.TimeoutMinutes), cancellationToken);
            Console.WriteLine("  mirror check of the second mailbox");
            using var http = host.Client();
            long apiCount = await host.CountAsync(http, cancellationToken);
            var mirror = await MirrorCheck.RunAsync(seed.User, host.Shard(e2e.ShardId), e2e.AccountId, apiCount, cancellationToken);
            return new WarmRun(seed, e2e, mirror);
        }
        finally
        {
            host.AccessToken = firstToken;
        }
    }

    private async Task WriteReportAsync(Report report, CancellationToken cancellationToken)
    {
        report.FinishedAt = DateTimeOffset.UtcNow;
        report.LoadAtEnd = ProcessCpu.LoadAverage();
        string markdown = report.ToMarkdown();
        Console.WriteLine();
        Console.WriteLine(markdown);
        string? path = options.ResultsPath switch
        {
            "-" => null,
            { } p => p,
            null => RepoRoot() is { } root ? Path.Combine(root, "bench", "results", options.Peers ? "peers.md" : "sync.md") : null,
        };
        if (path is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await File.WriteAllTextAsync(path, markdown, cancellationToken);
            Console.WriteLine($"results written to {path}");
        }
    }

    /// <summary>Maps the first 100 messages the API showed to their folder and UID (through the mirror).</summary>
    private static async Task<FirstPageCheck> CheckFirstPageAsync(HostUnderTest host, EndToEndResult e2e, SeedResult seed, CancellationToken cancellationToken)
    {
        if (e2e.First is null) return new FirstPageCheck(false, "the API never showed 100 messages", 0, 0, 0, 0, false);
        var ids = e2e.First.Messages.Select(m => m.Id).ToList();
        var located = new Dictionary<string, (string Folder, uint Uid)>();
        await using (var db = new MySqlConnection(host.Shard(e2e.ShardId)))
        {
            await db.OpenAsync(cancellationToken);
            await using var cmd = new MySqlCommand { Connection = db };
            var names = ids.Select((id, i) => { cmd.Parameters.AddWithValue($"@p{i}", id); return $"@p{i}"; }).ToList();
            cmd.CommandText = $"""
                SELECT m.public_id, f.name, u.uid FROM messages m JOIN imap_uids u ON u.message_id = m.id JOIN folders f ON f.id = u.folder_id
                WHERE m.account_id = @a AND m.public_id IN ({string.Join(',', names)})
                """;
            cmd.Parameters.AddWithValue("@a", e2e.AccountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) located[r.GetString(0)] = (r.GetString(1), Convert.ToUInt32(r.GetValue(2)));
        }
        var inboxDesc = seed.UidsByFolder["INBOX"].OrderDescending().ToList();
        var firstBatch = inboxDesc.Take(500).ToHashSet();
        var top100 = inboxDesc.Take(100).ToHashSet();
        var uids = ids.Select(id => located.TryGetValue(id, out var l) ? l : ("?", 0u)).ToList();
        int inInbox = uids.Count(u => u.Item1 == "INBOX");
        int inFirstBatch = uids.Count(u => u.Item1 == "INBOX" && firstBatch.Contains(u.Item2));
        int inTop100 = uids.Count(u => u.Item1 == "INBOX" && top100.Contains(u.Item2));
        bool descending = uids.Zip(uids.Skip(1)).All(p => p.First.Item2 > p.Second.Item2);
        int apiSaysInbox = e2e.First.Messages.Count(m => m.FolderName == "inbox");
        bool ok = ids.Count == 100 && inInbox == 100 && inFirstBatch == 100 && descending;
        string summary = $"{ids.Count} listed; {inInbox} in INBOX (API folder.name inbox: {apiSaysInbox}); {inFirstBatch} among the newest 500 INBOX UIDs (the first FETCH batch), " +
                         $"{inTop100} among the newest 100; listed newest first (UID descending): {(descending ? "yes" : "no")}";
        return new FirstPageCheck(ok, summary, ids.Count, inInbox, inFirstBatch, inTop100, descending);
    }

    private static string? RepoRoot()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Nylas.Functions.sln"))) return dir.FullName;
        }
        return null;
    }
}

/// <summary>The second mailbox of --warm-host: seeded, synced end to end by the host that synced the first, checked.</summary>
public sealed record WarmRun(SeedResult Seed, EndToEndResult EndToEnd, IReadOnlyList<CheckLine> Mirror);

public sealed record FirstPageCheck(bool Pass, string Summary, int Listed, int InInbox, int InFirstBatch, int InTop100, bool Descending);

/// <summary>What the results file says about the machine: it is shared and small, so every figure is a ratio to a same-run baseline.</summary>
public static class MachineNote
{
    public static string Describe()
    {
        // Environment.ProcessorCount follows DOTNET_PROCESSOR_COUNT (the test stack sets 16); count the CPUs the OS gives us.
        int cpus = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").Count(l => l.StartsWith("processor", StringComparison.Ordinal)) : Environment.ProcessorCount;
        var parts = new List<string> { $"{cpus} cores" };
        try
        {
            if (File.Exists("/proc/cpuinfo") && File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } model)
                parts.Add(model.Split(':', 2)[1].Trim());
            if (File.Exists("/proc/meminfo") && File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal)) is { } mem)
                parts.Add($"{long.Parse(mem.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024 / 1024} GiB RAM");
            if (File.Exists("/proc/loadavg")) parts.Add($"load average at start {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}");
        }
        catch (IOException) { }
        parts.Add($"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        parts.Add(System.Runtime.GCSettings.IsServerGC ? "server GC" : "workstation GC");
        if (Environment.GetEnvironmentVariable("DOTNET_PROCESSOR_COUNT") is { Length: > 0 } pc) parts.Add($"DOTNET_PROCESSOR_COUNT={pc}");
        return string.Join("; ", parts);
    }

    public static string? GitCommit()
    {
        try
        {
            var psi = new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
