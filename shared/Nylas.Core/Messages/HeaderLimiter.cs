using System.Buffers;
using System.Text;
using MimeKit.IO;

namespace Nylas.Core.Messages;

/// <summary>
/// Bounds the message's top-level header block before MimeKit reads it. MimeKit's header parser takes time
/// quadratic in the length of one folded header (a 136 KB folded <c>To:</c> costs ~40 ms, a thousand
/// ordinary messages' worth), so a header longer than the limit is cut at a line boundary. Linear in the
/// header bytes, memory bounded by the kept block; the body is never read here. A seekable source is first
/// only measured and, in the usual case where nothing is too long, handed to MimeKit untouched.
/// </summary>
internal static class HeaderLimiter
{
    /// <summary>The stream to parse (the source itself when nothing was cut) and the names of the cut headers.</summary>
    internal readonly record struct Result(Stream Stream, IReadOnlyList<string> TruncatedHeaders);

    public static Result Apply(Stream source, int maxHeaderBytes, int maxBlockBytes, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            if (source.CanSeek)
            {
                long start = source.Position;
                var measure = new Scanner(maxHeaderBytes, keep: false);
                Scan(source, measure, buffer, maxBlockBytes, cancellationToken, out _, out _, out _);
                source.Seek(start, SeekOrigin.Begin);
                if (!measure.Truncated) return new Result(source, []);

                var rewrite = new Scanner(maxHeaderBytes, keep: true);
                Scan(source, rewrite, buffer, maxBlockBytes, cancellationToken, out long consumed, out _, out _);
                var chained = new ChainedStream();
                chained.Add(rewrite.KeptStream(), leaveOpen: false);
                chained.Add(new BoundStream(source, start + consumed, -1, leaveOpen: true), leaveOpen: false);
                return new Result(chained, rewrite.TruncatedNames);
            }
            else
            {
                // What was read cannot be read again: keep it (rewritten or not) and chain the rest of the source.
                var scanner = new Scanner(maxHeaderBytes, keep: true);
                Scan(source, scanner, buffer, maxBlockBytes, cancellationToken, out _, out int index, out int length);
                var chained = new ChainedStream();
                chained.Add(scanner.KeptStream(), leaveOpen: false);
                if (index < length) chained.Add(new MemoryStream(buffer.AsSpan(index, length - index).ToArray(), writable: false), leaveOpen: false);
                chained.Add(source, leaveOpen: true);
                return new Result(chained, scanner.TruncatedNames);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Feeds whole lines to the scanner until the blank line that ends the header block, the block limit, or the end.</summary>
    private static void Scan(Stream source, Scanner scanner, byte[] buffer, int maxBlockBytes, CancellationToken cancellationToken,
        out long consumed, out int index, out int length)
    {
        consumed = 0;
        index = length = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            length = source.Read(buffer, 0, buffer.Length);
            index = 0;
            if (length == 0)
            {
                scanner.EndOfStream();
                return;
            }
            while (index < length)
            {
                var rest = buffer.AsSpan(index, length - index);
                int newline = rest.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    scanner.Partial(rest);
                    consumed += rest.Length;
                    index = length;
                    break;
                }
                scanner.Partial(rest[..(newline + 1)]);
                scanner.EndLine(terminated: true);
                consumed += newline + 1;
                index += newline + 1;
                if (scanner.HeaderBlockEnded || consumed >= maxBlockBytes) return;
            }
        }
    }

    /// <summary>Line-by-line state machine over the header bytes; with <c>keep</c> it writes the (possibly cut) block.</summary>
    private sealed class Scanner(int maxHeaderBytes, bool keep)
    {
        private readonly MemoryStream? _kept = keep ? new MemoryStream() : null;
        private readonly MemoryStream _line = new();
        private long _lineLength;      // bytes of the current line seen so far (may exceed what _line holds)
        private long _fieldLength;     // bytes of the current field (first line + continuations) kept so far
        private bool _dropping;        // the current field was cut: drop its remaining continuation lines
        private string _fieldName = "";

        public List<string> TruncatedNames { get; } = [];
        public bool Truncated => TruncatedNames.Count > 0;
        public bool HeaderBlockEnded { get; private set; }

        public Stream KeptStream() => new MemoryStream(_kept!.GetBuffer(), 0, (int)_kept.Length, writable: false);

        /// <summary>Part of the current line (up to and including its LF).</summary>
        public void Partial(ReadOnlySpan<byte> bytes)
        {
            int room = (int)Math.Max(0, maxHeaderBytes + 1 - _line.Length);
            if (room > 0) _line.Write(bytes[..Math.Min(room, bytes.Length)]);
            _lineLength += bytes.Length;
        }

        public void EndOfStream()
        {
            if (_lineLength > 0) EndLine(terminated: false);
        }

        public void EndLine(bool terminated)
        {
            var bytes = _line.GetBuffer().AsSpan(0, (int)_line.Length);
            long length = _lineLength;
            _line.SetLength(0);
            _lineLength = 0;

            if (terminated && (length == 1 || (length == 2 && bytes[0] == '\r')))
            {
                _kept?.Write(bytes);
                HeaderBlockEnded = true;
                return;
            }

            bool continuation = bytes[0] is (byte)' ' or (byte)'\t';
            if (continuation && _fieldName.Length > 0)
            {
                if (_dropping) return;
                if (_fieldLength + length > maxHeaderBytes)
                {
                    Cut();
                    return;
                }
                _kept?.Write(bytes);
                _fieldLength += length;
                return;
            }

            _fieldName = FieldName(bytes);
            _dropping = false;
            _fieldLength = length;
            if (length <= maxHeaderBytes)
            {
                _kept?.Write(bytes);
                return;
            }
            // One line longer than the limit: keep its start, end it properly, drop its continuations.
            _kept?.Write(bytes[..maxHeaderBytes]);
            _kept?.Write("\r\n"u8);
            Cut();
        }

        private void Cut()
        {
            _dropping = true;
            if (!TruncatedNames.Contains(_fieldName, StringComparer.OrdinalIgnoreCase)) TruncatedNames.Add(_fieldName);
        }

        private static string FieldName(ReadOnlySpan<byte> line)
        {
            int colon = line.IndexOf((byte)':');
            var name = colon > 0 ? line[..Math.Min(colon, 64)] : line[..Math.Min(line.Length, 16)];
            return Encoding.Latin1.GetString(name).Trim();
        }
    }
}
