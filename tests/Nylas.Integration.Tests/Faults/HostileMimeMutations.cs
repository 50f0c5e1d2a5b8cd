using System.Text;

namespace Nylas.Integration.Tests.Faults;

/// <summary>One generated hostile message: what was done to which corpus message, and its bytes.</summary>
public sealed record HostileMessage(string Name, byte[] Bytes)
{
    public override string ToString() => Name;
}

/// <summary>
/// Seeded damage to real messages, the kinds a mail server hands a client in the wild: cut short, boundaries
/// broken, headers far past any sane size, nesting deeper than any parser's stack, NUL bytes, raw 8-bit that is
/// not UTF-8, encodings and charsets that do not decode. The same seed gives the same messages.
/// </summary>
public sealed class HostileMimeMutations(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>The fixed monsters (each once per run, whatever the seed): the sizes the issue names.</summary>
    public static IEnumerable<HostileMessage> Monsters()
    {
        // 1 MB of header lines before an ordinary body.
        var lines = new StringBuilder();
        for (int i = 0; lines.Length < 1_048_576; i++) lines.Append($"X-Junk-{i}: {new string('j', 40)}\r\n");
        yield return new("monster: 1 MB of header lines", Ascii(lines + "From: a@example.org\r\nSubject: many header lines\r\n\r\nbody\r\n"));

        // One header of 200 kB on a single line, and the same folded.
        yield return new("monster: a 200 kB single-line header",
            Ascii($"From: a@example.org\r\nSubject: one long line\r\nX-Long: {new string('x', 200_000)}\r\n\r\nbody\r\n"));
        yield return new("monster: a 200 kB folded Subject",
            Ascii($"From: a@example.org\r\nSubject: {string.Join("\r\n ", Enumerable.Repeat(new string('s', 70), 2_800))}\r\n\r\nbody\r\n"));

        // 200 levels of multipart, and 2,000.
        foreach (int depth in new[] { 200, 2_000 })
        {
            var nested = new StringBuilder("From: a@example.org\r\nSubject: deep nesting\r\nMIME-Version: 1.0\r\n");
            for (int level = 0; level < depth; level++)
                nested.Append($"Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n");
            nested.Append("Content-Type: text/plain\r\n\r\nthe bottom\r\n");
            for (int level = depth - 1; level >= 0; level--) nested.Append($"--b{level}--\r\n");
            yield return new($"monster: {depth} levels of multipart", Ascii(nested.ToString()));
        }

        // 5,000 parts side by side.
        var wide = new StringBuilder("From: a@example.org\r\nSubject: wide\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"w\"\r\n\r\n");
        for (int i = 0; i < 5_000; i++) wide.Append($"--w\r\nContent-Type: text/plain; name=\"p{i}.txt\"\r\nContent-Disposition: attachment\r\n\r\npart {i}\r\n");
        wide.Append("--w--\r\n");
        yield return new("monster: 5,000 attachments", Ascii(wide.ToString()));

        yield return new("monster: empty message", []);
        yield return new("monster: headers only, no blank line", Ascii("From: a@example.org\r\nSubject: no body"));
        yield return new("monster: NUL bytes only", new byte[4096]);
        yield return new("monster: binary noise", NoiseOf(8192, 7));
        yield return new("monster: bare CR line ends", Ascii("From: a@example.org\rSubject: carriage returns\r\rbody\r"));
        yield return new("monster: base64 body of garbage",
            Ascii("From: a@example.org\r\nSubject: bad base64\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!@@@@====****\r\n=\r\n"));
        yield return new("monster: unknown charsets",
            Ascii("From: =?x-no-such-charset?B?////?= <a@example.org>\r\nSubject: =?utf-7?Q?+AGEAYgBj-?= =?utf-8?B?!!!?= =?iso-2022-jp?B?GyRC?=\r\n" +
                  "Content-Type: text/html; charset=\"x-unknown\"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n<p>hello</p>\r\n"));
        yield return new("monster: header names of raw 8-bit",
            [.. Ascii("From: a@example.org\r\n"), 0xC3, 0x28, (byte)':', (byte)' ', 0xFF, 0xFE, (byte)'\r', (byte)'\n', .. Ascii("Subject: ok\r\n\r\nbody\r\n")]);
    }

    private static byte[] NoiseOf(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary><paramref name="count"/> damaged copies of messages drawn from <paramref name="corpus"/>.</summary>
    public IEnumerable<HostileMessage> Mutate(IReadOnlyList<(string Name, byte[] Bytes)> corpus, int count)
    {
        var kinds = new (string Name, Func<byte[], byte[]> Apply)[]
        {
            ("truncated", Truncate),
            ("boundary damaged", DamageBoundary),
            ("closing boundary missing", DropClosingBoundary),
            ("boundary parameter missing", DropBoundaryParameter),
            ("NUL bytes", InsertNuls),
            ("8-bit header", EightBitHeader),
            ("1 MB of header lines", HugeHeaderBlock),
            ("200 kB header", LongHeader),
            ("bad transfer encoding", BadTransferEncoding),
            ("bad charset", BadCharset),
            ("random bytes overwritten", Scribble),
            ("bare LF and CR", MixLineEnds),
            ("wrapped in deep nesting", WrapDeep),
        };
        for (int i = 0; i < count; i++)
        {
            var source = corpus[_random.Next(corpus.Count)];
            var (kind, apply) = kinds[_random.Next(kinds.Length)];
            byte[] bytes = apply(source.Bytes);
            // A second mutation now and then: real damage rarely comes alone.
            if (_random.Next(4) == 0)
            {
                var (second, applySecond) = kinds[_random.Next(kinds.Length)];
                kind += " + " + second;
                bytes = applySecond(bytes);
            }
            yield return new($"{source.Name}: {kind}", bytes);
        }
    }

    private byte[] Truncate(byte[] bytes) => bytes.Length == 0 ? bytes : bytes[.._random.Next(bytes.Length)];

    private static string? Boundary(byte[] bytes)
    {
        string text = Encoding.Latin1.GetString(bytes);
        var match = System.Text.RegularExpressions.Regex.Match(text, "boundary\\s*=\\s*\"?([^\";\\r\\n]+)\"?", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return match.Success ? match.Groups[1].Value : null;
    }

    private byte[] DamageBoundary(byte[] bytes)
    {
        if (Boundary(bytes) is not { } boundary) return Scribble(bytes);
        string text = Encoding.Latin1.GetString(bytes);
        // Break some delimiter lines (not the parameter) so that parts run together or never start.
        var parts = text.Split("--" + boundary);
        var result = new StringBuilder(parts[0]);
        for (int i = 1; i < parts.Length; i++)
            result.Append(_random.Next(2) == 0 ? "--" + boundary[..^1] + "X" : "--" + boundary).Append(parts[i]);
        return Encoding.Latin1.GetBytes(result.ToString());
    }

    private byte[] DropClosingBoundary(byte[] bytes)
    {
        if (Boundary(bytes) is not { } boundary) return Truncate(bytes);
        string text = Encoding.Latin1.GetString(bytes);
        int end = text.LastIndexOf("--" + boundary + "--", StringComparison.Ordinal);
        return end < 0 ? bytes : Encoding.Latin1.GetBytes(text[..end]);
    }

    private static byte[] DropBoundaryParameter(byte[] bytes)
    {
        string text = Encoding.Latin1.GetString(bytes);
        return Encoding.Latin1.GetBytes(System.Text.RegularExpressions.Regex.Replace(text, ";\\s*boundary\\s*=\\s*(\"[^\"]*\"|[^;\\r\\n]+)", "",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase));
    }

    private byte[] InsertNuls(byte[] bytes)
    {
        var list = bytes.ToList();
        int n = 1 + _random.Next(20);
        for (int i = 0; i < n; i++) list.Insert(_random.Next(list.Count + 1), 0);
        return [.. list];
    }

    private byte[] EightBitHeader(byte[] bytes)
    {
        // Invalid UTF-8: lone continuation bytes, an overlong encoding, a truncated sequence, 0xFF.
        byte[][] invalid = [[0x80, 0x81], [0xC0, 0xAF], [0xE2, 0x82], [0xFF, 0xFE, 0xFD], [0xED, 0xA0, 0x80]];
        byte[] garbage = [.. invalid[_random.Next(invalid.Length)], .. invalid[_random.Next(invalid.Length)]];
        string[] names = ["Subject", "From", "To", "X-Eight-Bit", "Content-Type", "Message-ID", "References"];
        byte[] header = [.. Ascii(names[_random.Next(names.Length)] + ": caf"), .. garbage, .. Ascii(" <x@example.org>\r\n")];
        return [.. header, .. bytes];
    }

    private byte[] HugeHeaderBlock(byte[] bytes)
    {
        var lines = new StringBuilder();
        int prefix = _random.Next(1000);
        for (int i = 0; lines.Length < 1_048_576; i++) lines.Append($"X-Noise-{prefix}-{i}: {new string('n', 30 + _random.Next(60))}\r\n");
        return [.. Ascii(lines.ToString()), .. bytes];
    }

    private byte[] LongHeader(byte[] bytes)
    {
        string[] names = ["Subject", "To", "References", "X-Long"];
        string name = names[_random.Next(names.Length)];
        string value = name == "To"
            ? string.Join(", ", Enumerable.Range(0, 8_000).Select(i => $"u{i}@example.org"))
            : new string((char)('a' + _random.Next(26)), 200_000);
        return [.. Ascii($"{name}: {value}\r\n"), .. bytes];
    }

    private byte[] BadTransferEncoding(byte[] bytes)
    {
        string text = Encoding.Latin1.GetString(bytes);
        string[] encodings = ["base64", "quoted-printable", "x-uuencode", "binary", "7bit", "bogus"];
        string replacement = "Content-Transfer-Encoding: " + encodings[_random.Next(encodings.Length)];
        string changed = System.Text.RegularExpressions.Regex.Replace(text, "Content-Transfer-Encoding:[^\\r\\n]*", replacement,
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (changed == text)
        {
            int split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (split < 0) split = 0;
            changed = text[..split] + "\r\n" + replacement + text[split..];
        }
        // Make what follows undecodable in either encoding.
        return [.. Encoding.Latin1.GetBytes(changed), .. Ascii("\r\n=ZZ=\r\n%%%%====\r\n")];
    }

    private byte[] BadCharset(byte[] bytes)
    {
        string text = Encoding.Latin1.GetString(bytes);
        string[] charsets = ["x-no-such-charset", "utf-7", "utf-32", "iso-2022-kr", "", "\"", "unicode-1-1-utf-7", "ebcdic-cp-us"];
        string charset = charsets[_random.Next(charsets.Length)];
        string changed = System.Text.RegularExpressions.Regex.Replace(text, "charset\\s*=\\s*(\"[^\"]*\"|[^;\\s]+)", "charset=" + charset,
            System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return [.. Ascii($"Subject: =?{charset}?B?/////w==?= =?{charset}?Q?=FF=FE?=\r\n"), .. Encoding.Latin1.GetBytes(changed)];
    }

    private byte[] Scribble(byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        var copy = (byte[])bytes.Clone();
        int n = 1 + _random.Next(64);
        for (int i = 0; i < n; i++) copy[_random.Next(copy.Length)] = (byte)_random.Next(256);
        return copy;
    }

    private byte[] MixLineEnds(byte[] bytes)
    {
        var result = new List<byte>(bytes.Length);
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\r' && i + 1 < bytes.Length && bytes[i + 1] == '\n')
            {
                switch (_random.Next(3))
                {
                    case 0: result.Add((byte)'\n'); break;
                    case 1: result.Add((byte)'\r'); break;
                    default: result.Add((byte)'\r'); result.Add((byte)'\n'); break;
                }
                i++;
            }
            else result.Add(bytes[i]);
        }
        return [.. result];
    }

    private byte[] WrapDeep(byte[] bytes)
    {
        // The original becomes a message/rfc822 attachment at the bottom of 200+ nested multiparts.
        int depth = 200 + _random.Next(100);
        var head = new StringBuilder("From: wrap@example.org\r\nSubject: wrapped\r\nMIME-Version: 1.0\r\n");
        for (int level = 0; level < depth; level++)
            head.Append($"Content-Type: multipart/mixed; boundary=\"d{level}\"\r\n\r\n--d{level}\r\n");
        head.Append("Content-Type: message/rfc822\r\n\r\n");
        var tail = new StringBuilder("\r\n");
        for (int level = depth - 1; level >= 0; level--) tail.Append($"--d{level}--\r\n");
        return [.. Ascii(head.ToString()), .. bytes, .. Ascii(tail.ToString())];
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
