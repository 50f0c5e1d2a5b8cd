using System.Text;
using MimeKit;

namespace Nylas.SyncBench;

/// <summary>One real-world message file of the corpus, its bytes as stored upstream.</summary>
public sealed record Template(string RelativePath, byte[] Raw);

/// <summary>
/// The real-world corpus (<c>NYLAS_TEST_CORPUS</c>): every <c>*.eml</c>/<c>*.txt</c> message under
/// <c>mimekit/</c>, <c>imap_tools/messages/</c> and <c>supplements/</c>; mbox files, TNEF material,
/// expected-result JSON and licence/notice files are skipped, and so is anything MimeKit does not
/// read as a message with at least one header. A leading mbox <c>From </c> envelope line is dropped.
/// </summary>
public sealed class Corpus
{
    private static readonly string[] Roots = ["mimekit", "imap_tools/messages", "supplements"];
    private static readonly string[] SkippedDirectories = ["mbox", "tnef", "expected-json"];
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    public required string Root { get; init; }
    public required IReadOnlyList<Template> Templates { get; init; }
    public required IReadOnlyList<string> Skipped { get; init; }

    public long TotalBytes => Templates.Sum(t => (long)t.Raw.Length);

    public static Corpus Load(string root)
    {
        if (!Directory.Exists(root))
            throw new ArgumentException($"corpus folder '{root}' does not exist (set --corpus or NYLAS_TEST_CORPUS)");
        var templates = new List<Template>();
        var skipped = new List<string>();
        foreach (string sub in Roots)
        {
            string dir = Path.Combine(root, sub);
            if (!Directory.Exists(dir)) { skipped.Add($"{sub}/ (missing)"); continue; }
            var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".eml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal);
            foreach (string rel in files)
            {
                var segments = rel.Split('/');
                string name = segments[^1];
                if (segments[..^1].Any(s => SkippedDirectories.Contains(s, StringComparer.OrdinalIgnoreCase)))
                    continue; // mbox / tnef / expected-json material: not single messages
                if (name.StartsWith("LICENSE", StringComparison.OrdinalIgnoreCase) || name.StartsWith("NOTICE", StringComparison.OrdinalIgnoreCase)
                    || name.StartsWith("README", StringComparison.OrdinalIgnoreCase))
                {
                    skipped.Add($"{rel} (licence/notice)");
                    continue;
                }
                byte[] raw = WithoutEnvelopeLine(File.ReadAllBytes(Path.Combine(root, rel)));
                if (WhyNotAMessage(raw) is { } reason)
                {
                    skipped.Add($"{rel} ({reason})");
                    continue;
                }
                templates.Add(new Template(rel, raw));
            }
        }
        if (templates.Count == 0) throw new ArgumentException($"no message files found under '{root}'");
        return new Corpus { Root = root, Templates = templates, Skipped = skipped };
    }

    /// <summary>
    /// A file that starts with an mbox <c>From </c> envelope line (several imap_tools messages do) holds one message
    /// after that line: the line is dropped (it is the mbox separator, not part of the message).
    /// </summary>
    private static byte[] WithoutEnvelopeLine(byte[] raw)
    {
        if (!raw.AsSpan().StartsWith("From "u8)) return raw;
        int eol = raw.AsSpan().IndexOf((byte)'\n');
        return eol < 0 ? [] : raw[(eol + 1)..];
    }

    private static string? WhyNotAMessage(byte[] raw)
    {
        if (raw.Length == 0) return "empty";
        try
        {
            using var message = MimeMessage.Load(new MemoryStream(raw));
            return message.Headers.Count > 0 ? null : "no header";
        }
        catch (Exception ex) when (ex is FormatException or ParseException)
        {
            return "does not parse: " + ex.Message.Split('\n')[0];
        }
    }

    /// <summary>
    /// The raw bytes of copy number <paramref name="seq"/>: a unique <c>Message-ID:</c> and an <c>X-Bench-Seq:</c>
    /// line prepended (after a UTF-8 BOM, if the file starts with one); everything else byte-identical.
    /// </summary>
    public static byte[] Copy(Template template, int seq, string runId)
    {
        byte[] prefix = Encoding.ASCII.GetBytes($"Message-ID: <bench-{runId}-{seq}@syncbench.invalid>\r\nX-Bench-Seq: {seq}\r\n");
        byte[] raw = template.Raw;
        int bom = raw.AsSpan().StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
        var result = new byte[raw.Length + prefix.Length];
        raw.AsSpan(0, bom).CopyTo(result);
        prefix.CopyTo(result.AsSpan(bom));
        raw.AsSpan(bom).CopyTo(result.AsSpan(bom + prefix.Length));
        return result;
    }
}
