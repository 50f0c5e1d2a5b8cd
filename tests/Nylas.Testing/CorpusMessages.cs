using MimeKit;

namespace Nylas.Testing;

/// <summary>One message of the shared corpus: where it comes from and its bytes.</summary>
public sealed record CorpusMessage(string Name, byte[] Bytes)
{
    public override string ToString() => Name;
}

/// <summary>The messages of the shared real-world corpus (read-only), for the corpus tests and the benchmarks.</summary>
public static class CorpusMessages
{
    /// <summary>
    /// Every message of the corpus: mimekit messages, the mbox files split into their messages, imap_tools
    /// messages and the supplements. Not messages: TNEF streams, expected-output files, keys, yEnc payloads.
    /// </summary>
    public static IReadOnlyList<CorpusMessage> Load(string root)
    {
        var list = new List<CorpusMessage>();
        void AddFiles(string folder, Func<string, bool> include)
        {
            var dir = Path.Combine(root, folder);
            if (!Directory.Exists(dir)) return;
            foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
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
        if (Directory.Exists(mbox))
        {
            foreach (var file in Directory.EnumerateFiles(mbox, "*.mbox.txt").Order(StringComparer.Ordinal))
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
