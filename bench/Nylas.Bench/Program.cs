using Nylas.Testing;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MimeKit;
using Nylas.Core.Messages;

namespace Nylas.Bench;

/// <summary>
/// Parse benchmark. <c>parse [--corpus PATH] [--runs N]</c>: messages/s and MB/s of <see cref="MimeMessageMapper.Map(Stream, CancellationToken)"/>
/// and of a bare MimeKit baseline over the corpus originals, measured in the same run (warm-up, then the median
/// of N interleaved runs), then the memory of mapping a generated 70 MB message, each mode in a fresh process.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine("usage: Nylas.Bench parse [--corpus PATH] [--runs N] [--skip-memory]");
            return 2;
        }
        return args[0] switch
        {
            "parse" => await Parse(args),
            "memory-child" => await MemoryChild(args[1], args[2]),
            _ => Usage(args[0]),
        };
    }

    private static int Usage(string command)
    {
        Console.Error.WriteLine($"unknown command {command}; usage: Nylas.Bench parse [--corpus PATH] [--runs N] [--skip-memory]");
        return 2;
    }

    private static async Task<int> Parse(string[] args)
    {
        string? corpus = Option(args, "--corpus") ?? FindCorpus();
        int runs = int.Parse(Option(args, "--runs") ?? "7", CultureInfo.InvariantCulture);
        if (corpus is null || !Directory.Exists(corpus))
        {
            Console.Error.WriteLine("corpus not found: pass --corpus PATH (the shared/corpus folder)");
            return 1;
        }
        MimeEncodings.EnsureRegistered();

        var messages = CorpusMessages.Load(corpus);
        var typical = messages.Where(m => !m.Name.EndsWith("stack-overflow.txt", StringComparison.Ordinal)).ToList();
        Console.WriteLine($"# Parse benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, MimeKit {typeof(MimeMessage).Assembly.GetName().Version}");
        Console.WriteLine($"corpus: {corpus}: {messages.Count} messages, {messages.Sum(m => m.Bytes.Length) / 1e6:F2} MB; runs: warm-up + {runs} (median)");
        Console.WriteLine();

        var mapper = new MimeMessageMapper();
        var cases = new (string Name, Action<byte[]> Parse)[]
        {
            ("baseline: MimeMessage.Load + touch", Baseline),
            ("MimeMessageMapper.Map", bytes => mapper.Map(new MemoryStream(bytes, writable: false))),
            ("MimeMessageMapper.Map persistent", bytes => mapper.Map(new MemoryStream(bytes, writable: false), persistent: true)),
        };

        Console.WriteLine("| set | parser | msgs/s (median) | MB/s | ratio to baseline |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        foreach (var (setName, set) in new[] { ("all corpus messages", messages), ("without stack-overflow.txt (136 KB To:)", typical) })
        {
            var results = Measure(set, cases, runs);
            double baseline = results[0].MessagesPerSecond;
            foreach (var r in results)
                Console.WriteLine($"| {setName} | {r.Name} | {r.MessagesPerSecond:N0} | {r.MegabytesPerSecond:F1} | {r.MessagesPerSecond / baseline:F2} |");
        }
        Console.WriteLine();

        if (!args.Contains("--skip-memory"))
        {
            var file = Path.Combine(Path.GetTempPath(), $"nylas-bench-{Environment.ProcessId}.eml");
            try
            {
                long size = GenerateBigMessage(file);
                Console.WriteLine($"## Memory: a generated {size / 1e6:F1} MB message with a 50 MB attachment (base64), mapped from a file, each in a fresh process");
                Console.WriteLine();
                Console.WriteLine("| path | peak working-set growth | time |");
                Console.WriteLine("|---|---:|---:|");
                foreach (var mode in new[] { "persistent", "persistent+write", "in-memory", "baseline-load" })
                    Console.WriteLine(await RunChild(mode, file));
            }
            finally { File.Delete(file); }
        }
        return 0;
    }

    private sealed record Result(string Name, double MessagesPerSecond, double MegabytesPerSecond);

    /// <summary>Warm-up, then <paramref name="runs"/> rounds; in each round every case runs once (interleaved), for ≥ 0.5 s.</summary>
    private static List<Result> Measure(IReadOnlyList<CorpusMessage> set, (string Name, Action<byte[]> Parse)[] cases, int runs)
    {
        long bytes = set.Sum(m => m.Bytes.Length);
        foreach (var c in cases)
            for (int i = 0; i < 3; i++)
                foreach (var m in set) c.Parse(m.Bytes);

        var samples = cases.Select(_ => new List<double>()).ToArray();
        for (int run = 0; run < runs; run++)
        {
            for (int c = 0; c < cases.Length; c++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var watch = Stopwatch.StartNew();
                int passes = 0;
                do
                {
                    foreach (var m in set) cases[c].Parse(m.Bytes);
                    passes++;
                }
                while (watch.Elapsed < TimeSpan.FromMilliseconds(500));
                samples[c].Add(passes * set.Count / watch.Elapsed.TotalSeconds);
            }
        }
        return cases.Select((c, i) =>
        {
            double median = Median(samples[i]);
            return new Result(c.Name, median, median * bytes / set.Count / 1e6);
        }).ToList();
    }

    /// <summary>What a bare MimeKit ingest would do: load and touch subject, addresses, date, bodies and attachments.</summary>
    private static void Baseline(byte[] bytes)
    {
        MimeMessage message;
        try { message = MimeMessage.Load(new MemoryStream(bytes, writable: false)); }
        catch (FormatException) { return; }
        _ = message.Subject;
        _ = message.From.Mailboxes.Count() + message.To.Mailboxes.Count() + message.Cc.Mailboxes.Count();
        _ = message.Date;
        _ = message.TextBody;
        _ = message.HtmlBody;
        foreach (var attachment in message.Attachments) _ = attachment.ContentType.MimeType;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>~2 MB of text body and a 50 MB random attachment, base64: about 70 MB on disk.</summary>
    private static long GenerateBigMessage(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var writer = new StreamWriter(file, new UTF8Encoding(false)) { NewLine = "\r\n" };
        writer.WriteLine("From: Sender <sender@example.com>");
        writer.WriteLine("To: Receiver <receiver@example.com>");
        writer.WriteLine("Subject: big attachment");
        writer.WriteLine("Date: Fri, 27 Nov 2026 10:00:00 +0000");
        writer.WriteLine("Message-ID: <big@example.com>");
        writer.WriteLine("MIME-Version: 1.0");
        writer.WriteLine("Content-Type: multipart/mixed; boundary=\"big-boundary\"");
        writer.WriteLine();
        writer.WriteLine("--big-boundary");
        writer.WriteLine("Content-Type: text/plain; charset=utf-8");
        writer.WriteLine();
        var line = "The quick brown fox jumps over the lazy dog, again and again, to fill the body.";
        for (int i = 0; i < 2_000_000 / (line.Length + 2); i++) writer.WriteLine(line);
        writer.WriteLine("--big-boundary");
        writer.WriteLine("Content-Type: application/octet-stream");
        writer.WriteLine("Content-Transfer-Encoding: base64");
        writer.WriteLine("Content-Disposition: attachment; filename=\"big.bin\"");
        writer.WriteLine();
        var random = new Random(42);
        var chunk = new byte[57 * 1024];
        for (long written = 0; written < 50L * 1024 * 1024; written += chunk.Length)
        {
            random.NextBytes(chunk);
            int length = (int)Math.Min(chunk.Length, 50L * 1024 * 1024 - written);
            for (int offset = 0; offset < length; offset += 57)
                writer.WriteLine(Convert.ToBase64String(chunk, offset, Math.Min(57, length - offset)));
        }
        writer.WriteLine("--big-boundary--");
        writer.Flush();
        return file.Length;
    }

    private static async Task<string> RunChild(string mode, string file)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo { FileName = self, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("memory-child");
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(file);
        using var child = Process.Start(start)!;
        string output = await child.StandardOutput.ReadToEndAsync();
        string error = await child.StandardError.ReadToEndAsync();
        await child.WaitForExitAsync();
        return child.ExitCode == 0 ? output.Trim() : $"| {mode} | failed: {error.Trim()} | |";
    }

    /// <summary>In a fresh process: map the file in one mode and report the growth of the peak working set.</summary>
    private static async Task<int> MemoryChild(string mode, string file)
    {
        MimeEncodings.EnsureRegistered();
        var mapper = new MimeMessageMapper();
        // Warm the code paths on a small message so JIT and type loading are not counted as the big message's cost.
        mapper.Map(new MemoryStream(Encoding.ASCII.GetBytes("From: a@b.c\r\nSubject: warm\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n")), persistent: false);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = Rss();
        var watch = Stopwatch.StartNew();
        string detail;
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess))
        {
            switch (mode)
            {
                case "persistent":
                case "persistent+write":
                {
                    var parsed = mapper.Map(stream, persistent: true);
                    detail = Describe(parsed);
                    if (mode == "persistent+write")
                        foreach (var f in parsed.Files) await f.WriteContentAsync(Stream.Null, CancellationToken.None);
                    GC.KeepAlive(parsed);
                    break;
                }
                case "in-memory":
                {
                    var parsed = mapper.Map(stream);
                    detail = Describe(parsed);
                    GC.KeepAlive(parsed);
                    break;
                }
                case "baseline-load":
                {
                    var message = MimeMessage.Load(stream);
                    detail = $"MimeMessage.Load, {message.Attachments.Count()} attachment";
                    GC.KeepAlive(message);
                    break;
                }
                default:
                    throw new ArgumentException($"unknown mode {mode}");
            }
        }
        var elapsed = watch.Elapsed;
        long growth = PeakWorkingSet() - before;
        string label = mode switch
        {
            "persistent" => "Map(persistent: true) over a FileStream",
            "persistent+write" => "Map(persistent: true) + WriteContentAsync of every file",
            "in-memory" => "Map (non-persistent) from a FileStream",
            _ => "baseline: MimeMessage.Load (non-persistent)",
        };
        Console.WriteLine($"| {label} ({detail}) | {growth / 1e6:F1} MB | {elapsed.TotalSeconds:F2} s |");
        return 0;
    }

    private static string Describe(ParsedMessage parsed)
        => $"{parsed.Files.Count} file, {parsed.Files.Sum(f => f.Size) / 1e6:F1} MB decoded";

    /// <summary>VmRSS and VmHWM from /proc (Linux); elsewhere the process' working set.</summary>
    private static long Rss() => ProcStatus("VmRSS:") ?? Process.GetCurrentProcess().WorkingSet64;

    private static long PeakWorkingSet() => ProcStatus("VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64;

    private static long? ProcStatus(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        foreach (var line in File.ReadLines(status))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
            var parts = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
        }
        return null;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>&lt;repo&gt;/../shared/corpus, the repository found above the working directory or this program.</summary>
    private static string? FindCorpus()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Nylas.Functions.sln")))
                    return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "corpus"));
            }
        }
        return null;
    }
}
