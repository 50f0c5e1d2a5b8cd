using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Nylas.Testing;

/// <summary>
/// An IMAP server that replays recorded responses of a server that cannot run here (Gmail), the way
/// MailKit's own tests replay theirs, but over a real socket so the real sync engine can talk to it.
/// </summary>
/// <remarks>
/// A transcript is a list of exchanges. Lines before the first <c>C:</c> are the greeting. Then:
/// <list type="bullet">
/// <item><c>C: text</c> — a command, without its tag; <c>{*}</c> matches anything. <c>C in "mailbox": text</c>
/// matches only while that mailbox is selected. The first exchange that matches answers.</item>
/// <item><c>S: line</c> — a response line; <c>{tag}</c> is the client's tag, <c>{literal:file}</c> the file as an
/// IMAP literal, <c>{message-id:file}</c> its Message-ID header field as one (what BODY[HEADER.FIELDS (MESSAGE-ID)]
/// answers) and <c>{size:file}</c> its size (files relative to the transcript, line ends made CRLF).</item>
/// <item><c>R: text</c> — wait for the client to send this line (IDLE's DONE).</item>
/// </list>
/// A command no exchange matches gets a BAD and is listed in <see cref="Unexpected"/>: a test fails on it with the
/// command in the message. Each connection replays the transcript that was current when it connected.
/// </remarks>
public sealed partial class RecordedImapServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _selected = new();
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly ConcurrentQueue<string> _unexpected = new();
    private readonly List<Task> _sessions = [];
    private volatile Transcript _transcript;
    private readonly Task _accepting;

    private RecordedImapServer(Transcript transcript)
    {
        _transcript = transcript;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Starts listening on 127.0.0.1 on a free port, replaying the transcript at <paramref name="path"/>.</summary>
    public static RecordedImapServer Start(string path) => new(Transcript.Load(path));

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Mailboxes the clients SELECTed or EXAMINEd, in order.</summary>
    public IReadOnlyList<string> Selected => [.. _selected];

    /// <summary>Every command received, without its tag (AUTHENTICATE arguments left out).</summary>
    public IReadOnlyList<string> Commands => [.. _commands];

    /// <summary>Commands no exchange of the transcript matched, with the mailbox selected at the time.</summary>
    public IReadOnlyList<string> Unexpected => [.. _unexpected];

    /// <summary>The server's next state: connections made from now on replay this transcript.</summary>
    public void Replay(string path) => _transcript = Transcript.Load(path);

    public void ThrowIfUnexpected()
    {
        if (!_unexpected.IsEmpty)
            throw new InvalidOperationException("The client sent commands the recorded transcript has no answer for:\n  " + string.Join("\n  ", _unexpected));
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            lock (_sessions) _sessions.Add(ServeAsync(client, _transcript));
        }
    }

    private async Task ServeAsync(TcpClient client, Transcript transcript)
    {
        using var _ = client;
        var stream = client.GetStream();
        var reader = new LineReader(stream);
        string? selected = null;
        try
        {
            await WriteAsync(stream, transcript.Greeting, "*", transcript, _stop.Token);
            while (await reader.ReadCommandAsync(_stop.Token) is { } line)
            {
                int space = line.IndexOf(' ');
                string tag = space > 0 ? line[..space] : line;
                string command = space > 0 ? line[(space + 1)..] : "";
                _commands.Enqueue(command.StartsWith("AUTHENTICATE", StringComparison.OrdinalIgnoreCase) ? "AUTHENTICATE …" : command);

                var exchange = transcript.Exchanges.FirstOrDefault(e => (e.Mailbox is null || e.Mailbox == selected) && e.Command.IsMatch(command));
                if (exchange is null)
                {
                    _unexpected.Enqueue(selected is null ? command : $"{command}   (in \"{selected}\")");
                    await WriteAsync(stream, [$"{tag} BAD Unexpected command: not in the recorded transcript"], tag, transcript, _stop.Token);
                    continue;
                }
                foreach (var step in exchange.Steps)
                {
                    if (step.AwaitLine is { } expected)
                    {
                        string? got = await reader.ReadLineAsync(_stop.Token);
                        if (got != expected)
                        {
                            _unexpected.Enqueue($"expected '{expected}' after {command}, got '{got}'");
                            return;
                        }
                    }
                    else
                    {
                        await WriteAsync(stream, [step.Line!], tag, transcript, _stop.Token);
                    }
                }
                if (SelectCommand().Match(command) is { Success: true } select)
                {
                    selected = Unquote(select.Groups["mailbox"].Value);
                    _selected.Enqueue(selected);
                }
                else if (command is "UNSELECT" or "CLOSE")
                {
                    selected = null;
                }
                else if (command == "LOGOUT")
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client hung up (or the test ended): nothing more to replay.
        }
    }

    private static async Task WriteAsync(Stream stream, IEnumerable<string> lines, string tag, Transcript transcript, CancellationToken cancellationToken)
    {
        var output = new MemoryStream();
        foreach (var line in lines)
        {
            string text = line.Replace("{tag}", tag);
            text = SizeMacro().Replace(text, m => transcript.File(m.Groups[1].Value).Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            int at = 0;
            foreach (Match literal in LiteralMacro().Matches(text))
            {
                var bytes = literal.Groups["kind"].Value == "literal"
                    ? transcript.File(literal.Groups["file"].Value)
                    : transcript.MessageIdHeader(literal.Groups["file"].Value);
                output.Write(Encoding.UTF8.GetBytes(text[at..literal.Index] + "{" + bytes.Length + "}\r\n"));
                output.Write(bytes);
                at = literal.Index + literal.Length;
            }
            output.Write(Encoding.UTF8.GetBytes(text[at..] + "\r\n"));
        }
        await stream.WriteAsync(output.ToArray(), cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    private static string Unquote(string s) => s.Length >= 2 && s[0] == '"' ? Regex.Unescape(s[1..^1]) : s;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] sessions;
        lock (_sessions) sessions = [.. _sessions];
        await Task.WhenAll(sessions);
        _stop.Dispose();
    }

    [GeneratedRegex("""^(?:SELECT|EXAMINE) (?<mailbox>"(?:[^"\\]|\\.)*"|\S+)""")]
    private static partial Regex SelectCommand();

    [GeneratedRegex(@"\{size:([^}]+)\}")]
    private static partial Regex SizeMacro();

    [GeneratedRegex(@"\{(?<kind>literal|message-id):(?<file>[^}]+)\}")]
    private static partial Regex LiteralMacro();

    private sealed record Step(string? Line, string? AwaitLine);

    private sealed record Exchange(string? Mailbox, Regex Command, List<Step> Steps);

    private sealed partial class Transcript(string directory, List<string> greeting, List<Exchange> exchanges)
    {
        private readonly ConcurrentDictionary<string, byte[]> _files = new();

        public List<string> Greeting { get; } = greeting;
        public List<Exchange> Exchanges { get; } = exchanges;

        /// <summary>A file the transcript sends, with CRLF line ends as on the wire.</summary>
        public byte[] File(string name) => _files.GetOrAdd(name, n =>
        {
            string text = System.IO.File.ReadAllText(Path.Combine(directory, n));
            return Encoding.UTF8.GetBytes(text.Replace("\r\n", "\n").Replace("\n", "\r\n"));
        });

        /// <summary>What a server answers to BODY[HEADER.FIELDS (MESSAGE-ID)]: the file's Message-ID field, then the blank line.</summary>
        public byte[] MessageIdHeader(string name)
        {
            string text = Encoding.UTF8.GetString(File(name));
            string head = text[..Math.Max(0, text.IndexOf("\r\n\r\n", StringComparison.Ordinal))];
            var field = new StringBuilder();
            foreach (string line in head.Split("\r\n"))
            {
                bool continuation = line.Length > 0 && (line[0] == ' ' || line[0] == '\t');
                if (continuation && field.Length > 0) field.Append(line).Append("\r\n");
                else if (field.Length > 0) break;
                else if (line.StartsWith("Message-ID:", StringComparison.OrdinalIgnoreCase)) field.Append(line).Append("\r\n");
            }
            return Encoding.UTF8.GetBytes(field + "\r\n");
        }

        public static Transcript Load(string path)
        {
            var greeting = new List<string>();
            var exchanges = new List<Exchange>();
            int number = 0;
            foreach (var raw in System.IO.File.ReadAllLines(path))
            {
                number++;
                if (raw.Length == 0 || raw.StartsWith('#')) continue;
                if (CommandLine().Match(raw) is { Success: true } c)
                {
                    string pattern = "^" + string.Join(".*", c.Groups["command"].Value.Split("{*}").Select(Regex.Escape)) + "$";
                    exchanges.Add(new Exchange(c.Groups["mailbox"].Success ? c.Groups["mailbox"].Value : null, new Regex(pattern, RegexOptions.CultureInvariant), []));
                }
                else if (raw.StartsWith("S: ", StringComparison.Ordinal))
                {
                    if (exchanges.Count == 0) greeting.Add(raw[3..]);
                    else exchanges[^1].Steps.Add(new Step(raw[3..], null));
                }
                else if (raw.StartsWith("R: ", StringComparison.Ordinal) && exchanges.Count > 0)
                {
                    exchanges[^1].Steps.Add(new Step(null, raw[3..]));
                }
                else
                {
                    throw new FormatException($"{path}:{number}: expected 'C: ', 'C in \"mailbox\": ', 'S: ', 'R: ' or '#', got: {raw}");
                }
            }
            return new Transcript(Path.GetDirectoryName(Path.GetFullPath(path))!, greeting, exchanges);
        }

        [GeneratedRegex("""^C(?: in "(?<mailbox>[^"]+)")?: (?<command>.*)$""")]
        private static partial Regex CommandLine();
    }

    /// <summary>Reads CRLF lines; a command line ending in a literal <c>{n}</c> / <c>{n+}</c> continues after the literal.</summary>
    private sealed partial class LineReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start, _end;

        public async Task<string?> ReadCommandAsync(CancellationToken cancellationToken)
        {
            var command = new StringBuilder();
            while (true)
            {
                string? line = await ReadLineAsync(cancellationToken);
                if (line is null) return null;
                command.Append(line);
                if (LiteralStart().Match(line) is not { Success: true } literal) return command.ToString();
                int length = int.Parse(literal.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (!literal.Groups[2].Success)
                {
                    await stream.WriteAsync("+ go ahead\r\n"u8.ToArray(), cancellationToken);
                }
                command.Append("\r\n").Append(Encoding.UTF8.GetString(await ReadBytesAsync(length, cancellationToken)));
            }
        }

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new MemoryStream();
            while (true)
            {
                if (_start == _end)
                {
                    _start = 0;
                    _end = await stream.ReadAsync(_buffer, cancellationToken);
                    if (_end == 0) return null;
                }
                int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline < 0)
                {
                    line.Write(_buffer, _start, _end - _start);
                    _start = _end;
                    continue;
                }
                line.Write(_buffer, _start, newline - _start);
                _start = newline + 1;
                return Encoding.UTF8.GetString(line.ToArray()).TrimEnd('\r');
            }
        }

        private async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancellationToken)
        {
            var bytes = new byte[count];
            int filled = 0;
            while (filled < count)
            {
                if (_start == _end)
                {
                    _start = 0;
                    _end = await stream.ReadAsync(_buffer, cancellationToken);
                    if (_end == 0) throw new IOException("The client hung up inside a literal.");
                }
                int n = Math.Min(count - filled, _end - _start);
                Array.Copy(_buffer, _start, bytes, filled, n);
                _start += n;
                filled += n;
            }
            return bytes;
        }

        [GeneratedRegex(@"\{(\d+)(\+)?\}$")]
        private static partial Regex LiteralStart();
    }
}
