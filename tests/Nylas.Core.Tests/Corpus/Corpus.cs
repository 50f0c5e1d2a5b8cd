using MimeKit;

namespace Nylas.Core.Tests.Corpus;

/// <summary>One message of the shared corpus: where it comes from and its bytes.</summary>
public sealed record CorpusMessage(string Name, byte[] Bytes)
{
    public override string ToString() => Name;
}

/// <summary>
/// The shared test corpus (read-only real-world MIME): <c>$NYLAS_TEST_CORPUS</c>, else
/// <c>&lt;repo&gt;/../shared/corpus</c> where the repository root is found by walking up from the test assembly.
/// </summary>
public static class Corpus
{
    public const string EnvironmentVariable = "NYLAS_TEST_CORPUS";

    private static readonly Lazy<string?> Root = new(Locate);

    /// <summary>The corpus folder, or null when it is not there.</summary>
    public static string? Directory => Root.Value;

    /// <summary>Why the corpus tests did not run, for the skip message.</summary>
    public static string SkipReason =>
        $"CORPUS TESTS DID NOT RUN: the shared corpus was not found (set {EnvironmentVariable}, or put it at <repo>/../shared/corpus; looked at: {Looked})";

    private static string Looked = "";

    private static string? Locate()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            Looked = fromEnvironment;
            return System.IO.Directory.Exists(fromEnvironment) ? Path.GetFullPath(fromEnvironment) : null;
        }
        if (RepositoryRoot() is not { } repo)
        {
            Looked = $"no repository root above {AppContext.BaseDirectory} or {SourceDirectory()}";
            return null;
        }
        var candidate = Path.GetFullPath(Path.Combine(repo, "..", "shared", "corpus"));
        Looked = candidate;
        return System.IO.Directory.Exists(candidate) ? candidate : null;
    }

    /// <summary>
    /// The repository root: above the test assembly, or (when built with --artifacts-path outside the tree)
    /// above this source file as the compiler saw it.
    /// </summary>
    public static string? RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, SourceDirectory(), Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Nylas.Functions.sln"))) return dir.FullName;
            }
        }
        return null;
    }

    /// <summary>A test-data file kept next to these tests (tests/Nylas.Core.Tests/Corpus/).</summary>
    public static string TestDataFile(string name)
    {
        var here = Path.Combine(SourceDirectory(), name);
        if (File.Exists(here)) return here;
        return Path.Combine(RepositoryRoot() ?? ".", "tests", "Nylas.Core.Tests", "Corpus", name);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "")
        => Path.GetDirectoryName(path) ?? ".";

    public static string PathOf(string relative) => Path.Combine(Directory!, relative);

    /// <summary>
    /// Every message of the corpus: mimekit messages, the mbox files split into their messages, imap_tools
    /// messages and the supplements. Not messages: TNEF streams, expected-output files, keys, yEnc payloads.
    /// </summary>
    public static IReadOnlyList<CorpusMessage> Messages()
    {
        var root = Directory!;
        var list = new List<CorpusMessage>();
        void AddFiles(string folder, Func<string, bool> include)
        {
            var dir = Path.Combine(root, folder);
            if (!System.IO.Directory.Exists(dir)) return;
            foreach (var file in System.IO.Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                if (name.StartsWith("LICENSE", StringComparison.Ordinal) || name.StartsWith("NOTICE", StringComparison.Ordinal) || name.StartsWith('.')) continue;
                if (include(name)) list.Add(new CorpusMessage(Path.GetRelativePath(root, file), File.ReadAllBytes(file)));
            }
        }

        AddFiles("mimekit/messages", _ => true);
        AddFiles("mimekit/dkim", n => n.EndsWith(".msg", StringComparison.Ordinal));
        AddFiles("mimekit/partial", _ => true);
        AddFiles("mimekit/smime", _ => true);
        AddFiles("mimekit/openpgp", _ => true);
        AddFiles("mimekit/tnef", n => n.EndsWith(".eml", StringComparison.Ordinal));
        // state-changes.ntx and joystick.jpg are bare yEnc data and a decoded image, not messages.
        AddFiles("mimekit/yenc", n => n.StartsWith("0000", StringComparison.Ordinal) || n == "simple.msg");
        AddFiles("imap_tools/messages", n => n.EndsWith(".eml", StringComparison.Ordinal));
        AddFiles("supplements", _ => true);

        var mbox = Path.Combine(root, "mimekit/mbox");
        if (System.IO.Directory.Exists(mbox))
        {
            foreach (var file in System.IO.Directory.EnumerateFiles(mbox, "*.mbox.txt").Order(StringComparer.Ordinal))
            {
                int index = 0;
                foreach (var bytes in SplitMbox(file))
                    list.Add(new CorpusMessage($"{Path.GetRelativePath(root, file)}#{index++}", bytes));
            }
        }
        return list;
    }

    /// <summary>The raw bytes of each message of an mbox file (after its "From " line), as MimeKit's mbox parser delimits them.</summary>
    public static IEnumerable<byte[]> SplitMbox(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var markers = new List<long>();
        var parser = new MimeParser(new MemoryStream(bytes), MimeFormat.Mbox);
        while (!parser.IsEndOfStream)
        {
            parser.ParseMessage();
            markers.Add(parser.MboxMarkerOffset);
        }
        for (int i = 0; i < markers.Count; i++)
        {
            int start = (int)markers[i];
            while (start < bytes.Length && bytes[start] != (byte)'\n') start++;
            start++;
            int end = i + 1 < markers.Count ? (int)markers[i + 1] : bytes.Length;
            if (start < end) yield return bytes[start..end];
        }
    }
}
