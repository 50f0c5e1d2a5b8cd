using System.Text;

namespace Nylas.SyncBench;

/// <summary>The peer comparison table (issue #13): every pipeline on the same mailbox, msgs/s and CPU per message per process, and the ratios.</summary>
public static class PeerReport
{
    /// <summary>One row; CPU in seconds, null where the process takes no part.</summary>
    private sealed record Row(string Name, double WallSeconds, double? Tool, double Dovecot, double? Host, double? MariaDb, double? Azurite, double Others, bool Bold = false, string? Note = null)
    {
        public double Cpu => (Tool ?? 0) + Dovecot + (Host ?? 0) + (MariaDb ?? 0) + (Azurite ?? 0);

        public static Row Sum(string name, Row a, Row b)
            => new(name, a.WallSeconds + b.WallSeconds, (a.Tool ?? 0) + (b.Tool ?? 0), a.Dovecot + b.Dovecot, null, null, null, a.Others + b.Others, Bold: true);
    }

    public static string ToMarkdown(Report report, PeerResult peers)
    {
        int n = report.Seed?.Items.Count ?? report.Options.Messages;
        var rows = new List<Row>();
        if (report.Baseline?.Median is { } raw)
        {
            var c = raw.Cpu;
            rows.Add(new Row($"raw `UID FETCH <500 UIDs> BODY.PEEK[]`, 1 connection, median of {report.Baseline.Runs.Count} (tool: MailKit in the bench process)",
                raw.Elapsed.TotalSeconds, c?.Bench, c?.Dovecot ?? 0, null, null, null, c?.Others ?? 0));
        }
        Row Step(PeerStep s, string name) => new(name, s.Wall.TotalSeconds, s.ToolSeconds, s.DovecotSeconds, null, null, null, s.OthersSeconds,
            Note: s.ExitCode == 0 ? null : $"exit code {s.ExitCode}");
        var mbsync = Step(peers.Mbsync, "`mbsync` → Maildir (default: fsync per message), all folders");
        var notmuch = Step(peers.Notmuch, "`notmuch new` (parse, Xapian full text, threads)");
        var mu = Step(peers.Mu, "`mu index` (multi-threaded; threads at query time)");
        var withNotmuch = Row.Sum("mbsync + notmuch new", mbsync, notmuch);
        var withMu = Row.Sum("mbsync + mu index", mbsync, mu);
        rows.AddRange([mbsync, notmuch, mu, withNotmuch, withMu]);

        Row? product = null;
        if (report.EndToEnd is { CpuDuringSync: { } pc } e)
        {
            double wall = e.Done?.TotalSeconds ?? e.LastProgress.TotalSeconds;
            product = new Row("this project end to end: connect → all served (host: the local host in the bench process)", wall, null, pc.Dovecot, pc.Bench, pc.MariaDb, pc.Azurite, pc.Others,
                Bold: true, Note: e.Done is null ? $"incomplete: {e.FinalCount:N0} of {n:N0} served" : null);
            rows.Add(product);
        }
        Row? warmProduct = null;
        if (report.Warm is { EndToEnd: { CpuDuringSync: { } wc } we })
        {
            // The same mailbox size, a second Dovecot user; the host has synced the first mailbox and so compiled its hot code.
            double wall = we.Done?.TotalSeconds ?? we.LastProgress.TotalSeconds;
            warmProduct = new Row("the same, a second mailbox connected to the same host afterwards (warm host: its code compiled and tiered up)", wall, null, wc.Dovecot, wc.Bench, wc.MariaDb, wc.Azurite, wc.Others,
                Bold: true, Note: we.Done is null ? $"incomplete: {we.FinalCount:N0} of {n:N0} served" : null);
            rows.Add(warmProduct);
        }

        var md = new StringBuilder();
        md.AppendLine("## Peer comparison");
        md.AppendLine();
        md.AppendLine($"Same mailbox for every pipeline ({n:N0} messages, {(report.Seed?.Bytes ?? 0) / 1e6:F1} MB, every folder), one after the other. " +
                      "CPU per message = CPU seconds ÷ messages in the mailbox, from `/proc`: the tool's own CPU is what this process's reaped children gained " +
                      "(`cutime + cstime`, every thread of the tool), Dovecot's is its master with live and reaped children; host, MariaDB and Azurite as in the sync benchmark. " +
                      "`rest of machine` is the busy CPU of everything else meanwhile (other work on a shared machine, and the bench process itself during the peer steps); it is in no total.");
        md.AppendLine();
        md.AppendLine("| pipeline | msgs/s | wall s | CPU ms/msg | tool | Dovecot | host | MariaDB | Azurite | rest of machine |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        string Ms(double? seconds) => seconds is { } s ? (1000 * s / n).ToString("F2") : "—";
        foreach (var r in rows)
        {
            string B(string s) => r.Bold ? $"**{s}**" : s;
            string rate = r.Note is null ? B((n / r.WallSeconds).ToString("F0")) : r.Note;
            md.AppendLine($"| {B(r.Name)} | {rate} | {r.WallSeconds:F2} | {B(Ms(r.Cpu))} | {Ms(r.Tool)} | {Ms(r.Dovecot)} | {Ms(r.Host)} | {Ms(r.MariaDb)} | {Ms(r.Azurite)} | {Ms(r.Others)} |");
        }
        md.AppendLine();

        if (product is { Note: null })
        {
            md.AppendLine("| product ÷ pipeline | speed (msgs/s) | CPU per message |");
            md.AppendLine("|---|---:|---:|");
            foreach (var (label, run) in new[] { ("", product), ("warm host ", warmProduct) })
            {
                if (run is not { Note: null }) continue;
                foreach (var peer in new[] { withNotmuch, withMu })
                {
                    double speed = peer.WallSeconds / run.WallSeconds, cpu = run.Cpu / peer.Cpu;
                    md.AppendLine($"| {label}÷ {peer.Name} | **{speed:F2}×** | **{cpu:F2}×** |");
                }
            }
            md.AppendLine();
            md.AppendLine("Targets (issue #13): speed ≥ 1.0× and CPU per message ≤ 1.0× mbsync + notmuch new; stretch: the same against mbsync + mu index.");
        }
        else
        {
            md.AppendLine("No ratios: the product run did not serve every message.");
        }
        md.AppendLine();
        md.AppendLine($"- tools: {peers.Versions}. mbsync copied {peers.MaildirFiles:N0} message files; `notmuch new` indexed {peers.NotmuchMessages:N0} messages " +
                      $"({peers.NotmuchFiles:N0} files) and ignored **{peers.NotmuchNonMail:N0}** files as non-mail" +
                      (peers.NonMailTemplates.Count > 0 ? $" (copies of {peers.NonMailTemplates.Count} corpus files: {string.Join(", ", peers.NonMailTemplates.Select(t => $"`{t}`"))})" : "") +
                      $"; `mu index`: {peers.MuMessages:N0} messages in its store.");
        md.AppendLine($"- commands, in a temporary folder that is also their `HOME` (configs in `bench/Nylas.SyncBench/Peers.cs`): `{peers.Mbsync.Command}`; `{peers.Notmuch.Command}`; `{peers.Mu.Command}` (`mu init` not timed).");
        md.AppendLine($"- load average at start {report.LoadAtStart}, at end {report.LoadAtEnd}.");
        if (report.Mirror.Count > 0)
            md.AppendLine($"- mirror check after the product run: **{(report.Mirror.All(l => l.Pass) ? "PASS" : "FAIL")}** (details below)" +
                          (report.Warm is { } w ? $"; after the warm-host run, for the second mailbox: **{(w.Mirror.All(l => l.Pass) ? "PASS" : "FAIL")}**." : "."));
        md.AppendLine();
        return md.ToString();
    }
}
