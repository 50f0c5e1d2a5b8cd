using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Nylas.Testing;

namespace Nylas.SyncBench;

/// <summary>
/// One step of a peer pipeline: wall time, the tool's own CPU (all its threads and children), Dovecot's CPU
/// during the step, and the busy CPU of everything else on the machine meanwhile (not part of any figure).
/// </summary>
public sealed record PeerStep(string Name, string Command, TimeSpan Wall, double ToolSeconds, double DovecotSeconds, double OthersSeconds, int ExitCode, string Summary)
{
    public double TotalSeconds => ToolSeconds + DovecotSeconds;
}

/// <summary>What the peer pipelines did on the benchmark mailbox, and what their indexers say they indexed.</summary>
public sealed record PeerResult(
    string Versions, PeerStep Mbsync, PeerStep Notmuch, PeerStep Mu,
    int MaildirFiles, int NotmuchMessages, int NotmuchFiles, int NotmuchNonMail, int MuMessages, IReadOnlyList<string> NonMailTemplates)
{
    public bool Succeeded => Mbsync.ExitCode == 0 && Notmuch.ExitCode == 0 && Mu.ExitCode == 0;
}

/// <summary>
/// The pipeline a power user runs for a local mirror with parsing, threads and full-text search, on the same
/// Dovecot user as the product: mbsync (Debian isync, default settings: fsync per message) of every folder into
/// a Maildir, then <c>notmuch new</c> on it, then <c>mu init</c> + <c>mu index</c> on the same Maildir. Everything
/// lives in one temporary folder (configs, Maildir, both indexes; <c>HOME</c> and the XDG folders point there too,
/// so nothing reads or writes the user's own configuration) that is deleted afterwards.
/// </summary>
public static class Peers
{
    /// <summary>The tools of the comparison that are not on the PATH.</summary>
    public static IReadOnlyList<string> MissingTools()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "mbsync", "notmuch", "mu" }.Where(tool => !path.Any(dir => File.Exists(Path.Combine(dir, tool)))).ToList();
    }

    public static async Task<PeerResult> RunAsync(SeedResult seed, Corpus corpus, ProcessCpu cpu, CancellationToken cancellationToken)
    {
        string root = Path.Combine(Path.GetTempPath(), $"syncbench-peers-{Guid.NewGuid().ToString("N")[..8]}");
        string maildir = Path.Combine(root, "mail");
        string muHome = Path.Combine(root, "mu");
        Directory.CreateDirectory(maildir);
        try
        {
            var env = new Dictionary<string, string>
            {
                ["HOME"] = root,
                ["XDG_CONFIG_HOME"] = Path.Combine(root, ".config"),
                ["XDG_DATA_HOME"] = Path.Combine(root, ".local/share"),
                ["XDG_CACHE_HOME"] = Path.Combine(root, ".cache"),
                ["NOTMUCH_CONFIG"] = Path.Combine(root, "notmuch-config"),
            };
            string mbsyncrc = Path.Combine(root, "mbsyncrc");
            await File.WriteAllTextAsync(mbsyncrc, MbsyncConfig(seed.User, maildir), cancellationToken);
            await File.WriteAllTextAsync(env["NOTMUCH_CONFIG"], NotmuchConfig(Path.Combine(root, "notmuch"), maildir), cancellationToken);
            Directory.CreateDirectory(Path.Combine(root, "notmuch"));

            string versions = string.Join(", ", new[]
            {
                (await RunAsync("mbsync", ["--version"], root, env, cpu, cancellationToken)).Output.Trim(),
                (await RunAsync("notmuch", ["--version"], root, env, cpu, cancellationToken)).Output.Trim(),
                FirstLine((await RunAsync("mu", ["--version"], root, env, cpu, cancellationToken)).Output).Replace(" (mail indexer/searcher) version", "", StringComparison.Ordinal),
            });
            Console.WriteLine($"  {versions}; working folder {root}");

            var mbsync = await StepAsync("mbsync", "mbsync -c mbsyncrc -a", "mbsync", ["-c", mbsyncrc, "-a"], root, env, cpu, cancellationToken);
            int files = Directory.EnumerateDirectories(maildir, "*", SearchOption.AllDirectories)
                .Where(d => Path.GetFileName(d) is "cur" or "new")
                .Sum(d => Directory.EnumerateFiles(d).Count());
            mbsync = mbsync with { Summary = $"{files:N0} message files in the Maildir" };
            Print(mbsync);

            var notmuch = await StepAsync("notmuch new", "NOTMUCH_CONFIG=notmuch-config notmuch new", "notmuch", ["new"], root, env, cpu, cancellationToken);
            // "Note: Ignoring non-mail file: PATH", one line per file notmuch could not read as mail.
            var ignored = Regex.Matches(notmuch.Summary, "^Note: Ignoring non-mail file: (.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();
            int nonMail = ignored.Count;
            var nonMailTemplates = ignored.Select(path => TemplateOf(path, seed, corpus)).Distinct().Order(StringComparer.Ordinal).ToList();
            int notmuchMessages = ParseInt((await RunAsync("notmuch", ["count", "*"], root, env, cpu, cancellationToken)).Output);
            int notmuchFiles = ParseInt((await RunAsync("notmuch", ["count", "--output=files", "*"], root, env, cpu, cancellationToken)).Output);
            notmuch = notmuch with { Summary = $"{notmuchMessages:N0} messages indexed ({notmuchFiles:N0} files), {nonMail:N0} files ignored as non-mail" +
                                          (nonMailTemplates.Count > 0 ? $" (copies of {string.Join(", ", nonMailTemplates)})" : "") };
            Print(notmuch);

            var muInit = await RunAsync("mu", ["init", $"--muhome={muHome}", $"--maildir={maildir}"], root, env, cpu, cancellationToken);
            if (muInit.ExitCode != 0) Console.WriteLine($"  mu init failed ({muInit.ExitCode}): {Tail(muInit.Output)}");
            var mu = await StepAsync("mu index", "mu init --muhome=mu --maildir=mail; mu index --muhome=mu", "mu", ["index", $"--muhome={muHome}"], root, env, cpu, cancellationToken);
            var info = await RunAsync("mu", ["info", "store", $"--muhome={muHome}"], root, env, cpu, cancellationToken);
            var inStore = Regex.Match(info.Output, @"messages in store\s*\|\s*(\d+)");
            int muMessages = inStore.Success ? int.Parse(inStore.Groups[1].Value) : -1;
            mu = mu with { Summary = $"{muMessages:N0} messages in the store" };
            Print(mu);

            return new PeerResult(versions, mbsync, notmuch, mu, files, notmuchMessages, notmuchFiles, nonMail, muMessages, nonMailTemplates);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException ex) { Console.WriteLine($"  could not delete {root}: {ex.Message}"); }
        }
    }

    private static string MbsyncConfig(string user, string maildir) => $"""
        IMAPAccount bench
        Host {TestStack.ImapHost}
        Port {TestStack.ImapPort}
        User {user}
        Pass {TestStack.ImapPassword}
        SSLType None
        AuthMechs LOGIN

        IMAPStore remote
        Account bench

        MaildirStore local
        Path {maildir}/
        Inbox {maildir}/INBOX
        SubFolders Verbatim

        Channel bench
        Far :remote:
        Near :local:
        Patterns *
        Create Near
        SyncState *

        """;

    // mbsync keeps its state in every Maildir folder (SyncState *); notmuch must not read those files as mail.
    private static string NotmuchConfig(string database, string maildir) => $"""
        [database]
        path={database}
        mail_root={maildir}

        [new]
        tags=unread;inbox;
        ignore=.mbsyncstate;.mbsyncstate.journal;.mbsyncstate.new;.mbsyncstate.lock;.uidvalidity

        [maildir]
        synchronize_flags=true

        """;

    private static async Task<PeerStep> StepAsync(string name, string shown, string tool, string[] args, string dir, Dictionary<string, string> env, ProcessCpu cpu, CancellationToken cancellationToken)
    {
        var run = await RunAsync(tool, args, dir, env, cpu, cancellationToken);
        if (run.ExitCode != 0) Console.WriteLine($"  {name} FAILED (exit code {run.ExitCode}): {Tail(run.Output)}");
        var c = run.Cpu;
        double others = Math.Max(0, c.MachineBusy - c.Bench - c.MariaDb - c.Azurite - c.Dovecot - run.ToolSeconds);
        return new PeerStep(name, shown, run.Wall, run.ToolSeconds, c.Dovecot, others, run.ExitCode, run.Output);
    }

    private static void Print(PeerStep s)
        => Console.WriteLine($"  {s.Name}: {s.Wall.TotalSeconds:F2} s; CPU {s.ToolSeconds:F2} s {s.Name.Split(' ')[0]}, {s.DovecotSeconds:F2} s Dovecot; {s.Summary}");

    private sealed record ToolRun(int ExitCode, string Output, TimeSpan Wall, double ToolSeconds, CpuSnapshot Cpu);

    /// <summary>Runs a tool to its end; its CPU is what this process's reaped children gained meanwhile (it starts no others).</summary>
    private static async Task<ToolRun> RunAsync(string file, string[] args, string dir, Dictionary<string, string> env, ProcessCpu cpu, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(file, args) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var output = new StringBuilder();
        var before = cpu.Snapshot();
        double childrenBefore = ProcessCpu.ReapedChildrenSeconds();
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = PumpAsync(process.StandardOutput, output);
        var stderr = PumpAsync(process.StandardError, output);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var wall = sw.Elapsed;
        double tool = ProcessCpu.ReapedChildrenSeconds() - childrenBefore;
        var during = cpu.Snapshot().Minus(before);
        await Task.WhenAll(stdout, stderr);
        return new ToolRun(process.ExitCode, output.ToString(), wall, tool, during);
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder into)
    {
        while (await reader.ReadLineAsync() is { } line)
            lock (into) into.AppendLine(line);
    }

    /// <summary>The corpus file a Maildir file is a copy of, from the <c>X-Bench-Seq:</c> line the seeder put at its top.</summary>
    private static string TemplateOf(string path, SeedResult seed, Corpus corpus)
    {
        try
        {
            using var file = File.OpenRead(path);
            var head = new byte[512];
            int read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            var seq = Regex.Match(Encoding.ASCII.GetString(head, 0, read), @"X-Bench-Seq: (\d+)");
            return seq.Success && int.Parse(seq.Groups[1].Value) is var n && n < seed.Items.Count
                ? corpus.Templates[seed.Items[n].TemplateIndex].RelativePath
                : Path.GetFileName(path);
        }
        catch (IOException) { return Path.GetFileName(path); }
    }

    private static int ParseInt(string s) => int.TryParse(s.Trim(), out int n) ? n : -1;
    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
    private static string Tail(string s) => s.Length > 600 ? "…" + s[^600..].Replace('\n', ' ') : s.Replace('\n', ' ');
}
