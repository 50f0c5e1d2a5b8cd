using System.Text;

namespace Nylas.SyncBench;

/// <summary>Everything measured, rendered as the Markdown results file.</summary>
public sealed class Report
{
    public required BenchOptions Options { get; init; }
    public required string[] Args { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required string Machine { get; init; }
    public DateTimeOffset FinishedAt { get; set; }
    public Corpus? Corpus { get; set; }
    public SeedResult? Seed { get; set; }
    public BaselineResult? Baseline { get; set; }
    public string? LogPath { get; set; }
    public Dictionary<string, string?> HostSettings { get; set; } = [];
    public EndToEndResult? EndToEnd { get; set; }
    public List<LogEvent> SyncEvents { get; set; } = [];
    public FirstPageCheck? FirstPageCheck { get; set; }
    public List<IncrementalResult> Incremental { get; set; } = [];
    public List<CheckLine> Mirror { get; set; } = [];
    public List<LogEvent> Problems { get; set; } = [];
    public List<ProbeStep> Probe { get; set; } = [];
    public RaceResult? Race { get; set; }
    public IReadOnlyDictionary<string, long> RequestCounts { get; set; } = new Dictionary<string, long>();
    public PeerResult? Peers { get; set; }
    public WarmRun? Warm { get; set; }
    public string LoadAtStart { get; init; } = ProcessCpu.LoadAverage();
    public string? LoadAtEnd { get; set; }

    private static string S(TimeSpan t) => $"{t.TotalSeconds:F2} s";

    /// <summary>CPU milliseconds per message of one end-to-end run: host (the bench process) / MariaDB / Azurite / Dovecot, and the JIT's share.</summary>
    private static string CpuPerMessage(EndToEndResult e, long messages)
    {
        if (e.CpuDuringSync is not { } c) return "—";
        double Ms(double seconds) => 1000 * seconds / Math.Max(1, messages);
        return $"**{Ms(c.Bench + c.MariaDb + c.Azurite + c.Dovecot):F2} ms** (host {Ms(c.Bench):F2}, MariaDB {Ms(c.MariaDb):F2}, Azurite {Ms(c.Azurite):F2}, Dovecot {Ms(c.Dovecot):F2}); " +
               $"JIT: {c.JitMethods:N0} methods compiled, {Ms(c.Jit):F2} ms per message of compiling threads' time; " +
               $"managed heap: {c.Allocated / 1024.0 / Math.Max(1, messages):F0} KiB allocated and {Ms(c.GcPause):F3} ms of GC pauses per message, " +
               $"{1000.0 * c.Collections / Math.Max(1, messages):F1} collections per 1,000 messages ({c.Gen2Collections:N0} full in all); host peak resident memory so far {c.PeakWorkingSet / 1048576.0:F0} MB";
    }

    /// <summary>The --warm-host run next to the first, in the results table.</summary>
    private static void AppendWarmRows(StringBuilder md, WarmRun warm, EndToEndResult? first)
    {
        var (seed, e, mirror) = warm;
        int n = seed.Items.Count;
        string result = e.Done is { } done ? $"{S(done)}: **{n / done.TotalSeconds:F0} msgs/s**" : $"**incomplete**: {e.FinalCount:N0}/{n:N0} visible";
        md.AppendLine($"| **warm host**: a second mailbox ({n:N0} messages, {seed.Bytes / 1e6:F1} MB) connected to the same host after the first, end to end | {result} | |");
        md.AppendLine($"| — its first 100 INBOX messages visible | {(e.First is { } f ? S(f.VisibleAt) : "never")} | |");
        if (first is not null)
            md.AppendLine($"| — CPU per message, first mailbox (fresh host) | {CpuPerMessage(first, first.Done is null ? first.FinalCount : n)} | |");
        md.AppendLine($"| — CPU per message, second mailbox (warm host) | {CpuPerMessage(e, e.Done is null ? e.FinalCount : n)} | |");
        md.AppendLine($"| — mirror equals server for the second mailbox | **{(mirror.All(l => l.Pass) ? "PASS" : "FAIL")}** | exact |");
        foreach (var line in mirror.Where(l => !l.Pass)) md.AppendLine($"| — mirror check (second mailbox) | FAIL: {line.Text} | |");
    }
    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:F0} ms";

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        int n = Seed?.Items.Count ?? Options.Messages;
        string command = Peers is not null
            ? "bench/peers.sh" + string.Concat(Args.Where(a => a != "--peers").Select(a => " " + a))
            : "dotnet run -c Release --project bench/Nylas.SyncBench" + (Args.Length > 0 ? " -- " + string.Join(' ', Args) : "");
        md.AppendLine(Peers is null ? "# Sync benchmark" : "# Peer comparison: mbsync + notmuch / mu against the product");
        md.AppendLine();
        md.AppendLine($"- command: `{command}` (test stack from `./dev test --services-only`, its `NYLAS_TEST_*` exported)");
        md.AppendLine($"- date: {StartedAt:yyyy-MM-dd HH:mm} UTC (took {(FinishedAt - StartedAt).TotalMinutes:F1} min); commit {MachineNote.GitCommit() ?? "?"}");
        md.AppendLine($"- machine: {Machine}. Shared with other work, so absolute times are noisy: read the ratio to the baseline measured in the same run.");
        if (Corpus is not null && Seed is not null)
        {
            md.AppendLine($"- mailbox: {n:N0} distinct messages, {Seed.Bytes / 1e6:F1} MB: {Corpus.Templates.Count} real-world message files of `{Corpus.Root}` " +
                          $"replicated round-robin, each copy with a unique `Message-ID:` and `X-Bench-Seq:` line prepended; " +
                          string.Join(" / ", Seeder.Folders.Select(f => $"{f} {Seed.UidsByFolder.GetValueOrDefault(f)?.Count ?? 0:N0}")) +
                          $"; \\Seen {Seed.Seen:N0} ({100.0 * Seed.Seen / n:F0} %), \\Flagged {Seed.Flagged:N0} ({100.0 * Seed.Flagged / n:F1} %).");
        }
        md.AppendLine($"- host under test: the local host in-process (`LocalHostApp.Build`), fresh databases, task hub and ingest queue; engine defaults except " +
                      string.Join(", ", HostSettings.Select(kv => $"`{kv.Key}={kv.Value}`")) + ".");
        md.AppendLine();
        if (Peers is not null) md.Append(PeerReport.ToMarkdown(this, Peers));

        md.AppendLine(Peers is null ? "## Results" : "## The product run in detail");
        md.AppendLine();
        md.AppendLine("| measure | result | target |");
        md.AppendLine("|---|---|---|");
        if (Seed is not null)
            md.AppendLine($"| seeding (MULTIAPPEND, 3 connections; not part of the figures) | {S(Seed.Elapsed)}, {n / Seed.Elapsed.TotalSeconds:F0} msgs/s | |");
        double? baselineRate = null;
        if (Baseline is not null)
        {
            var m = Baseline.Median;
            baselineRate = m.MessagesPerSecond;
            md.AppendLine($"| baseline: raw MailKit `UID FETCH <500 UIDs> BODY.PEEK[]`, 1 connection, median of {Baseline.Runs.Count} | {S(m.Elapsed)}: **{m.MessagesPerSecond:F0} msgs/s**, {m.MegabytesPerSecond:F1} MB/s " +
                          $"(runs {string.Join(", ", Baseline.Runs.Select(r => $"{r.Elapsed.TotalSeconds:F2}"))} s" +
                          (Baseline.After is { } after ? $"; one more pass after the end-to-end run: {after.MessagesPerSecond:F0} msgs/s" : "") + ") | |");
        }
        if (EndToEnd is { } e)
        {
            if (e.Done is { } done)
            {
                double rate = n / done.TotalSeconds;
                md.AppendLine($"| end to end: POST account → `GET /messages?view=count` = {n:N0} | {S(done)}: **{rate:F0} msgs/s** | |");
                if (baselineRate is { } b)
                {
                    double ratio = rate / b;
                    md.AppendLine($"| **ratio end to end ÷ baseline** | **{ratio:F3}** | ≥ 0.5: {(ratio >= 0.5 ? "met" : "**not met**")} |");
                }
            }
            else
            {
                string why = e.Stuck
                    ? $"**incomplete**: {e.FinalCount:N0}/{n:N0} visible, the last at {S(e.LastProgress)}; then nothing for 30 s with the sync step done and the ingest queue empty ({e.PoisonMessages} in the poison queue)"
                    : e.HostStopped is { } hs
                    ? $"**incomplete: the host stopped itself** (a background service failed: `{hs}`) with {e.FinalCount:N0}/{n:N0} visible, the last at {S(e.LastProgress)}"
                    : e.Stalled
                    ? $"**stalled**: {e.FinalCount:N0}/{n:N0} visible, nothing new for 5 min after {S(e.LastProgress)}"
                    : $"**timed out** after {Options.TimeoutMinutes} min with {e.FinalCount:N0}/{n:N0} visible";
                md.AppendLine($"| end to end: POST account → `GET /messages?view=count` = {n:N0} | {why} | |");
                if (baselineRate is { } b2 && e.LastProgress > TimeSpan.Zero && e.FinalCount > 0)
                {
                    double partial = e.FinalCount / e.LastProgress.TotalSeconds;
                    md.AppendLine($"| (for reference: the {e.FinalCount:N0} that arrived, by the last one) | {partial:F0} msgs/s, ratio to the baseline {partial / b2:F3} | ≥ 0.5: {(partial / b2 >= 0.5 ? "met" : "**not met**")} (and the target needs every message) |");
                }
            }
            if (e.First is { } f)
                md.AppendLine($"| time to first 100 INBOX messages visible (count ≥ 100) | **{S(f.VisibleAt)}** | ≤ 5 s: {(f.VisibleAt.TotalSeconds <= 5 ? "met" : "**not met**")} |");
            else
                md.AppendLine("| time to first 100 INBOX messages visible | never | ≤ 5 s: **not met** |");
            if (FirstPageCheck is { } fp)
                md.AppendLine($"| the first 100 are the newest INBOX messages | {(fp.Pass ? "yes" : "**no**")}: {fp.Summary} | |");
            md.AppendLine($"| — sync step had queued everything (checkpoints) | {(e.AllQueued is { } q ? S(q) : "—")} | |");
            md.AppendLine($"| — ingest done (all visible) | {(e.Done is { } d2 ? S(d2) : "—")} | |");
        }
        foreach (var inc in Incremental)
        {
            var med = inc.Median;
            md.AppendLine($"| no-change incremental cycle {inc.Mode}, median of {inc.Runs.Count} | **{Ms(med.Elapsed)}**; {med.Wire.Commands} IMAP commands, {med.Wire.Connections} connection(s), " +
                          $"{med.Wire.BytesToServer:N0} B up / {med.Wire.BytesFromServer:N0} B down; fetched {med.Fetched} " +
                          $"(runs {string.Join(", ", inc.Runs.Select(r => r.Elapsed.TotalMilliseconds.ToString("F0")))} ms) | |");
        }
        if (Mirror.Count > 0)
        {
            bool pass = Mirror.All(l => l.Pass);
            md.AppendLine($"| mirror equals server after the benchmark | **{(pass ? "PASS" : "FAIL")}** ({Mirror.Count(l => !l.Text.StartsWith("info:", StringComparison.Ordinal))} checks) | exact |");
        }
        if (Warm is { } warm) AppendWarmRows(md, warm, EndToEnd);
        md.AppendLine();

        if (EndToEnd is { } e2)
        {
            md.AppendLine("## Where the end-to-end time goes");
            md.AppendLine();
            md.AppendLine($"The account was connected at t = 0 (`POST /a/{{client_id}}/accounts` took {Ms(e2.PostTook)}: it logs in to verify the credentials). " +
                          "`queued` is what the sync step has fetched, written to Blob and queued for ingest (from the per-folder checkpoints, which move per batch); " +
                          "`ingest queue` is the ingest queue's approximate length; `visible` is `GET /messages?view=count`.");
            md.AppendLine();
            if (e2.Milestones.Count > 0)
            {
                md.AppendLine("| milestone | t |");
                md.AppendLine("|---|---:|");
                foreach (var (what, at) in e2.Milestones) md.AppendLine($"| {what} | {(at is { } a ? S(a) : "—")} |");
                md.AppendLine();
                if (Baseline is not null)
                    md.AppendLine($"Before its first body FETCH the sync step fetches the summaries (`UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE`) of every UID in its budget: " +
                                  $"for the newest {Baseline.SummaryProbe.Messages:N0} INBOX messages that alone took {Ms(Baseline.SummaryProbe.Elapsed)} with raw MailKit in this run.");
                md.AppendLine();
            }
            var samples = e2.Samples;
            if (samples.Count > 0)
            {
                double end = samples[^1].At.TotalSeconds;
                double step = Math.Max(5, Math.Ceiling(end / 24 / 5) * 5);
                double detailedUntil = (e2.First?.VisibleAt.TotalSeconds ?? 0) + 1;
                md.AppendLine("| t (s) | visible | queued by sync | ingest queue | queue GetProperties latency | Azurite RSS |");
                md.AppendLine("|---:|---:|---:|---:|---:|---:|");
                double next = 0;
                foreach (var s in samples)
                {
                    if (s.At.TotalSeconds + 1e-9 < next && s != samples[^1] && s.At.TotalSeconds > detailedUntil) continue;
                    md.AppendLine($"| {s.At.TotalSeconds:F1} | {s.ApiCount:N0} | {s.Queued:N0} | {(s.QueueLength is { } ql ? ql.ToString("N0") : "?")} | {(s.QueueCallLatency is { } lat ? Ms(lat) : "> 5 s / failed")} | {(s.AzuriteRssMb is { } rss ? $"{rss:N0} MB" : "?")} |");
                    next = Math.Floor(s.At.TotalSeconds / step) * step + step;
                }
                md.AppendLine();
                var maxQueue = samples.Where(s => s.QueueLength is not null).MaxBy(s => s.QueueLength);
                var stalls = new List<(TimeSpan From, TimeSpan To)>();
                for (int i = 0; i < samples.Count;)
                {
                    int j = i;
                    while (j + 1 < samples.Count && samples[j + 1].ApiCount == samples[i].ApiCount && samples[j + 1].Queued == samples[i].Queued && samples[i].ApiCount < n) j++;
                    // Only stalls followed by progress: the wait after the last message (retries heading for the poison queue) is not one.
                    if (samples[j].At - samples[i].At >= TimeSpan.FromSeconds(10) && samples[j].At <= e2.LastProgress) stalls.Add((samples[i].At, samples[j].At));
                    i = j + 1;
                }
                if (stalls.Count > 0)
                {
                    var longest = stalls.MaxBy(st => st.To - st.From);
                    md.AppendLine($"- **Stalls**: {stalls.Count} period(s) of ≥ 10 s in which neither the sync step nor ingest made any progress, {stalls.Sum(st => (st.To - st.From).TotalSeconds):F0} s in all " +
                                  $"(longest {(longest.To - longest.From).TotalSeconds:F0} s from t = {longest.From.TotalSeconds:F0} s): " +
                                  string.Join(", ", stalls.Select(st => $"{st.From.TotalSeconds:F0}–{st.To.TotalSeconds:F0} s")) + ".");
                }
                var latencies = samples.Where(s => s.QueueCallLatency is not null).Select(s => s.QueueCallLatency!.Value.TotalMilliseconds).Order().ToList();
                if (latencies.Count > 0)
                    md.AppendLine($"- Azurite responsiveness (one queue GetProperties call every 500 ms): median {latencies[latencies.Count / 2]:F0} ms, 90th percentile {latencies[(int)(latencies.Count * 0.9)]:F0} ms, max {latencies[^1]:F0} ms; " +
                                  $"{samples.Count(s => s.QueueCallLatency is null)} calls failed.");
                if (e2.AllQueued is { } aq && (e2.Done ?? e2.LastProgress) is { } dn && dn > aq)
                {
                    var atQueued = samples.First(s => s.At >= aq);
                    long got = e2.Done is null ? e2.FinalCount : n;
                    md.AppendLine($"- The sync step had queued all {n:N0} messages at {S(aq)} ({n / aq.TotalSeconds:F0} msgs/s); by then {atQueued.ApiCount:N0} were visible. " +
                                  $"Ingest {(e2.Done is null ? $"stored its last message ({got:N0} in all)" : "finished")} {S(dn - aq)} later: {got / dn.TotalSeconds:F0} msgs/s overall" +
                                  (dn - aq > TimeSpan.FromSeconds(1) ? $", {(got - atQueued.ApiCount) / (dn - aq).TotalSeconds:F0} msgs/s once the sync step was done." : "."));
                }
                if (maxQueue is not null)
                    md.AppendLine($"- Longest ingest queue: {maxQueue.QueueLength:N0} messages at {S(maxQueue.At)}.");
            }
            if (e2.CpuDuringSync is { } c && c.MachineTotal > 0)
            {
                double wall = e2.Done?.TotalSeconds ?? e2.Samples.LastOrDefault()?.At.TotalSeconds ?? 1;
                md.AppendLine($"- CPU seconds from the POST to the last message visible ({wall:F0} s wall, {c.MachineTotal:F0} core-seconds available): " +
                              $"bench process (local host: sync, ingest, API, durable; plus the 100 ms poll) **{c.Bench:F0}**, MariaDB **{c.MariaDb:F0}**, Azurite **{c.Azurite:F0}**, Dovecot **{c.Dovecot:F0}**, " +
                              $"everything else on the machine {c.Others:F0}; machine idle {Math.Max(0, c.MachineTotal - c.MachineBusy):F0}.");
            }
            if (e2.CpuUntilAllQueued is { } u && e2.CpuAfterAllQueued is { } a2 && u.MachineTotal > 0 && e2.AllQueued is { } aq2)
            {
                long queuedThen = e2.Samples.First(s => s.At >= aq2).ApiCount;
                md.AppendLine($"- Per phase (CPU seconds: bench / MariaDB / Azurite / Dovecot / others / idle): until the sync step had queued everything " +
                              $"{u.Bench:F0} / {u.MariaDb:F0} / {u.Azurite:F0} / {u.Dovecot:F0} / {u.Others:F0} / {Math.Max(0, u.MachineTotal - u.MachineBusy):F0}; " +
                              $"after that (ingest only, {n - queuedThen:N0} messages) {a2.Bench:F0} / {a2.MariaDb:F0} / {a2.Azurite:F0} / {a2.Dovecot:F0} / {a2.Others:F0} / {Math.Max(0, a2.MachineTotal - a2.MachineBusy):F0}.");
            }
            long delivered = Math.Max(1, e2.Done is null ? e2.FinalCount : n);
            if (e2.CpuDuringSync is { } c3 && c3.MachineTotal > 0)
                md.AppendLine($"- Per message ingested: {1000 * c3.Bench / delivered:F1} ms CPU in the bench process, {1000 * c3.Azurite / delivered:F1} ms in Azurite, {1000 * c3.MariaDb / delivered:F1} ms in MariaDB, {1000 * c3.Dovecot / delivered:F2} ms in Dovecot " +
                              (Baseline is not null ? $"(the raw baseline spends {1000 * Baseline.Median.Elapsed.TotalSeconds / n:F2} ms of wall time per message)." : ".") +
                              $" The JIT compiled {c3.JitMethods:N0} methods in the bench process meanwhile, for {c3.Jit:F1} s ({1000 * c3.Jit / delivered:F2} ms per message, " +
                              $"{(c3.Bench > 0 ? 100 * c3.Jit / c3.Bench : 0):F0} % of the process's CPU time): the compiling threads' wall time, which on a busy machine includes " +
                              "their waits for a core, so an upper bound of the JIT's CPU (`perf` counts its CPU). " +
                              $"The process allocated {c3.Allocated / 1024.0 / delivered:F0} KiB per message on the managed heap; the GC paused its threads for {1000 * c3.GcPause / delivered:F3} ms per message.");
            if (Probe.Count > 0)
            {
                md.AppendLine("- Storage probe (after the run, scratch container and queue, the engine's own `RawMailStore` and queue calls, no MySQL, no parsing):");
                foreach (var p in Probe) md.AppendLine($"  - {p.What}: **{p.PerSecond:F0} msgs/s** ({p.Operations:N0} in {S(p.Elapsed)})");
            }
            if (e2.CpuDuringSync is { MachineTotal: <= 0 } c2)
            {
                md.AppendLine($"- CPU seconds of the bench process (local host) during the sync: {c2.Bench:F0}.");
            }
            md.AppendLine($"- Poison messages after the sync: {e2.PoisonMessages}; account sync_state `{e2.SyncState}`{(e2.SyncError is null ? "" : $", sync_error: {e2.SyncError}")}; " +
                          $"orchestration reached its wait step at {(e2.Waiting is { } w ? S(w) : "— (not seen)")}.");
            if (SyncEvents.Count > 0)
            {
                md.AppendLine("- Sync step log (times from the POST):");
                foreach (var ev in SyncEvents.Take(40))
                    md.AppendLine($"  - {ev.At.TotalSeconds:F1} s: {ev.Message}");
                if (SyncEvents.Count > 40) md.AppendLine($"  - … {SyncEvents.Count - 40} more");
            }
            md.AppendLine();
        }

        if (RequestCounts.Count > 0 && Seed is { } seeded)
        {
            double messages = seeded.Items.Count;
            md.AppendLine("## Requests per message (what Azure bills)");
            md.AppendLine();
            md.AppendLine($"Every storage request (Blob, Queue, Table: the durable backend's included) and MySQL command this process made from the connect until all " +
                          $"{messages:N0} messages were served. `storage` rows: every HTTP request to Azurite (HttpClient's activities), the durable backend's included; " +
                          "`sdk:` rows: the engine's own storage calls by operation (Azure SDK activities; a PUT metadata is a touch of content already stored); " +
                          "`mysql` rows: MySqlConnector commands (one round trip each). `api:` rows were made while serving the benchmark's own polling.");
            md.AppendLine();
            md.AppendLine("| request | count | per message |");
            md.AppendLine("|---|---:|---:|");
            foreach (var (key, count) in RequestCounts)
                md.AppendLine($"| {key} | {count:N0} | {count / messages:F3} |");
            foreach (string prefix in new[] { "storage blob", "storage queue", "storage table", "mysql" })
            {
                long total = RequestCounts.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);
                md.AppendLine($"| **{prefix}, all (without api)** | {total:N0} | **{total / messages:F3}** |");
            }
            md.AppendLine();
        }

        if (Incremental.Count > 0)
        {
            md.AppendLine("## No-change incremental cycle");
            md.AppendLine();
            md.AppendLine("`MailboxSyncer.SyncAsync(accountId)` called directly after the initial sync, with the host's orchestration suspended so nothing else syncs. " +
                          "Each mode has its own engine container (`AddNylasEngine` over the host's settings, no hosted services); the only difference is `Nylas:Sync:DisableCondStore`. " +
                          "Without CONDSTORE the engine compares every UID's flags only when the folder's schedule says so (one minute per 2,000 messages, at most 30); in between, a cycle only looks for expunges (`UID SEARCH ALL`). " +
                          "Both are measured: before each cycle `folders.last_full_compare_at` is cleared (comparison due) or set to now (not due). " +
                          "The account is pointed at a counting TCP relay in front of Dovecot (the engine's `ImapConnector` has no protocol-logger hook), which counts connections, " +
                          "tagged IMAP commands (≈ round trips: the step does not pipeline) and bytes. One warm-up cycle per mode is not counted. A cycle includes connect + LOGIN, LIST, " +
                          "SELECT/CLOSE of every folder and the MySQL reads and checkpoint writes.");
            md.AppendLine();
            md.AppendLine("| mode | median | runs (ms) | IMAP commands | bytes up / down | fetched |");
            md.AppendLine("|---|---:|---|---:|---:|---:|");
            foreach (var inc in Incremental)
            {
                var m = inc.Median;
                md.AppendLine($"| {inc.Mode} | {Ms(m.Elapsed)} | {string.Join(", ", inc.Runs.Select(r => r.Elapsed.TotalMilliseconds.ToString("F0")))} | {m.Wire.Commands} | {m.Wire.BytesToServer:N0} / {m.Wire.BytesFromServer:N0} | {m.Fetched} |");
            }
            md.AppendLine();
        }

        if (Mirror.Count > 0)
        {
            md.AppendLine("## Mirror check");
            md.AppendLine();
            md.AppendLine("Server: `UID FETCH 1:* (UID FLAGS)` and the SHA-256 of `BODY.PEEK[]` per folder; mirror: `folders`, `imap_uids`, `messages` of the account's shard; API: `GET /messages?view=count`.");
            md.AppendLine();
            md.AppendLine("```");
            foreach (var l in Mirror) md.AppendLine(l.Text.StartsWith("info:", StringComparison.Ordinal) ? l.Text : $"{(l.Pass ? "PASS" : "FAIL")} {l.Text}");
            md.AppendLine("```");
            md.AppendLine();
        }

        if (Race is { } race)
        {
            md.AppendLine("## Experiment: server changes while ingest lags behind the sync step (not part of the figures)");
            md.AppendLine();
            md.AppendLine($"After the figures: {race.Appended:N0} new messages APPENDed to INBOX; one sync step with CONDSTORE (called directly) queued them; right after it, on the server, " +
                          $"{race.FlaggedUids.Count} of the newest were flagged \\Flagged (UIDs {race.FlaggedUids[0]}..{race.FlaggedUids[^1]}) and {race.ExpungedUids.Count} others expunged (UIDs {race.ExpungedUids[0]}..{race.ExpungedUids[^1]}); " +
                          $"{race.TargetsIngestedAtChange} of those {race.FlaggedUids.Count + race.ExpungedUids.Count} were ingested at that moment, {race.TargetsIngestedAtNextStep} when the next CONDSTORE step ran. " +
                          $"Ingest drained {race.DrainTook.TotalSeconds:F0} s later and one more CONDSTORE step ran; then one step without CONDSTORE (full UID/FLAGS comparison).");
            md.AppendLine();
            md.AppendLine("| after | flagged on the server, not flagged in the mirror | expunged on the server, still in the mirror | flagged targets never ingested |");
            md.AppendLine("|---|---:|---:|---:|");
            md.AppendLine($"| the CONDSTORE steps | **{race.CondStore.FlagLost}** / {race.FlaggedUids.Count} | **{race.CondStore.Phantoms}** / {race.ExpungedUids.Count} | {race.CondStore.NotIngested} |");
            md.AppendLine($"| one full-comparison step | **{race.Full.FlagLost}** / {race.FlaggedUids.Count} | **{race.Full.Phantoms}** / {race.ExpungedUids.Count} | {race.Full.NotIngested} |");
            md.AppendLine();
            md.AppendLine("Whole-mirror check after the CONDSTORE steps (failures only; failures already present before the experiment show up here too):");
            md.AppendLine();
            md.AppendLine("```");
            foreach (var l in race.AfterCondStore.Where(l => !l.Pass)) md.AppendLine($"FAIL {l.Text}");
            if (race.AfterCondStore.All(l => l.Pass)) md.AppendLine("(all checks pass)");
            md.AppendLine("```");
            md.AppendLine();
            md.AppendLine("and after the full-comparison step:");
            md.AppendLine();
            md.AppendLine("```");
            foreach (var l in race.AfterFullCompare.Where(l => !l.Pass)) md.AppendLine($"FAIL {l.Text}");
            if (race.AfterFullCompare.All(l => l.Pass)) md.AppendLine("(all checks pass)");
            md.AppendLine("```");
            md.AppendLine();
        }

        if (Problems.Count > 0)
        {
            md.AppendLine("## Warnings and errors the host logged");
            md.AppendLine();
            foreach (var g in Problems.GroupBy(p => (p.Level, p.Category, p.EventId)).Take(20))
                md.AppendLine($"- {g.Count()} × {g.Key.Level} {g.Key.Category}[{g.Key.EventId}], first at {g.First().At.TotalSeconds:F1} s: {Trim(g.First().Message)}");
            md.AppendLine();
        }

        if (Corpus is not null)
        {
            md.AppendLine("## Corpus");
            md.AppendLine();
            md.AppendLine($"{Corpus.Templates.Count} files used ({Corpus.TotalBytes / 1024:N0} KiB; `*.eml`/`*.txt` under `mimekit/`, `imap_tools/messages/`, `supplements/`, " +
                          $"without `mbox/`, `tnef/`, `expected-json/`). Skipped: {(Corpus.Skipped.Count == 0 ? "none" : string.Join("; ", Corpus.Skipped))}.");
            md.AppendLine();
        }
        return md.ToString();
    }

    private static string Trim(string s) => s.Length > 300 ? s[..300] + "…" : s.Replace('\n', ' ');
}
