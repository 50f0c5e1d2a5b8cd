using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Nylas.Testing.Faults;

/// <summary>Which way bytes flow through a <see cref="FaultProxy"/> connection.</summary>
public enum FaultDirection
{
    /// <summary>From the client under test to the real server (commands).</summary>
    ToServer,
    /// <summary>From the real server to the client under test (responses).</summary>
    ToClient,
}

/// <summary>What a <see cref="FaultRule"/> does to its connection once it fires.</summary>
public enum FaultAction
{
    /// <summary>Closes both sides at once with a TCP reset, as a dropped link or a killed server looks.</summary>
    Cut,
    /// <summary>Stops forwarding both ways and keeps both sockets open: a server that stops answering without closing.</summary>
    Stall,
    /// <summary>From now on forwards the rule's direction at <see cref="FaultRule.TrickleBytesPerSecond"/>.</summary>
    Trickle,
    /// <summary>Sends FIN to the client (it reads end of stream) while keeping the rest of the connection open.</summary>
    HalfClose,
    /// <summary>Does not forward the matching command; answers it with <see cref="FaultRule.Answer"/> instead.</summary>
    Answer,
    /// <summary>Does not forward the matching line (e.g. one untagged FETCH response); everything else passes.</summary>
    DropLine,
}

/// <summary>
/// One fault: fires on the first <see cref="Times"/> connections/lines that match, in <see cref="Direction"/>, either
/// when a line matching <see cref="Line"/> passes (after it for Cut/Stall/Trickle/HalfClose, instead of it for
/// Answer/DropLine) or when <see cref="AfterBytes"/> bytes have passed on one connection in that direction.
/// </summary>
public sealed class FaultRule
{
    public required FaultDirection Direction { get; init; }
    public required FaultAction Action { get; init; }
    /// <summary>Matched against each line (Latin-1, without CRLF). Lines work on plain-text protocols only (IMAP, SMTP before STARTTLS).</summary>
    public Regex? Line { get; init; }
    /// <summary>Fires once this many bytes have passed in <see cref="Direction"/> on one connection (works on TLS too).</summary>
    public long? AfterBytes { get; init; }
    /// <summary>The matches to let pass before firing (e.g. cut at the 21st FETCH response, not the first).</summary>
    public int Skip { get; init; }
    /// <summary>How many times the rule fires in total; 0 = every time.</summary>
    public int Times { get; init; } = 1;
    /// <summary>For <see cref="FaultAction.Answer"/>: the reply line (without CRLF); <c>{tag}</c> is replaced by the command's tag.</summary>
    public string? Answer { get; init; }
    public int TrickleBytesPerSecond { get; init; } = 64;

    private int _matches;
    private int _fired;
    private readonly TaskCompletionSource _firstFired = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many times the fault was injected.</summary>
    public int Fired => Volatile.Read(ref _fired);

    /// <summary>Completes when the fault is injected the first time (for tests that act right after it).</summary>
    public Task FiredTask => _firstFired.Task;

    /// <summary>Counts a match; true when this match is one the rule fires on.</summary>
    internal bool TryFire()
    {
        if (Interlocked.Increment(ref _matches) <= Skip) return false;
        int fired = Interlocked.Increment(ref _fired);
        if (Times > 0 && fired > Times)
        {
            Interlocked.Decrement(ref _fired);
            return false;
        }
        _firstFired.TrySetResult();
        return true;
    }

    internal bool Exhausted => Times > 0 && Volatile.Read(ref _fired) >= Times;
}

/// <summary>
/// A loopback TCP relay in front of a real server (Dovecot, Postfix) that injects faults on the wire: cut, stall,
/// trickle, half-close at a byte count or when a command/response line passes, answer a command itself, or drop
/// one response line. Point the account under test at <see cref="Port"/>; rules may be added at any time.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<FaultRule> _rules = [];
    private readonly List<Connection> _connections = [];
    private readonly List<Task> _sessions = [];
    private readonly List<string> _transcript = [];
    private Task? _accept;
    private int _accepted;

    public FaultProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    /// <summary>A proxy in front of the test Dovecot's plain IMAP port.</summary>
    public static FaultProxy ForImap() => new(TestStack.ImapHost, TestStack.ImapPort);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many client connections the proxy has accepted.</summary>
    public int Connections => Volatile.Read(ref _accepted);

    /// <summary>When true, the first 200 characters of every line both ways are kept for <see cref="Transcript"/> (for diagnosing a failing test).</summary>
    public bool Record { get; set; }

    public IReadOnlyList<string> Transcript
    {
        get { lock (_transcript) return [.. _transcript]; }
    }

    public FaultRule Add(FaultRule rule)
    {
        lock (_rules) _rules.Add(rule);
        return rule;
    }

    public void Clear()
    {
        lock (_rules) _rules.Clear();
    }

    /// <summary>Cuts every open connection now (new ones are still accepted).</summary>
    public void CutAll()
    {
        foreach (var c in Snapshot()) c.Cut();
    }

    /// <summary>Stalls every open connection now: nothing more passes either way, nothing is closed.</summary>
    public void StallAll()
    {
        foreach (var c in Snapshot()) c.Stalled = true;
    }

    private List<Connection> Snapshot()
    {
        lock (_connections) return [.. _connections];
    }

    private FaultRule[] Rules(FaultDirection direction)
    {
        lock (_rules) return _rules.Where(r => r.Direction == direction && !r.Exhausted).ToArray();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            Interlocked.Increment(ref _accepted);
            var session = RelayAsync(client);
            lock (_sessions) _sessions.Add(session);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient { NoDelay = true })
        {
            client.NoDelay = true;
            var connection = new Connection(client, server);
            lock (_connections) _connections.Add(connection);
            try
            {
                await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
                var up = PumpAsync(connection, FaultDirection.ToServer);
                var down = PumpAsync(connection, FaultDirection.ToClient);
                await Task.WhenAll(up, down);
                // A stalled connection stays open (that is the fault) until the proxy goes away.
                if (connection.Stalled) await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested) { }
            catch (IOException) { }
            catch (SocketException) { }
            finally
            {
                lock (_connections) _connections.Remove(connection);
            }
        }
    }

    private async Task PumpAsync(Connection c, FaultDirection direction)
    {
        var from = direction == FaultDirection.ToServer ? c.Client : c.Server;
        var to = direction == FaultDirection.ToServer ? c.Server : c.Client;
        var input = from.GetStream();
        var output = to.GetStream();
        var buffer = new byte[64 * 1024];
        var pending = new List<byte>(); // the current line's bytes, kept back while line rules are active
        long passed = 0;
        int trickle = 0;
        var ct = _stop.Token;

        // Forwards bytes, applying byte-count rules; false once the connection has been faulted.
        async Task<bool> ForwardAsync(ReadOnlyMemory<byte> data)
        {
            while (data.Length > 0)
            {
                if (c.Stalled) return false;
                if (c.IsCut) return false;
                FaultRule? byteRule = null;
                long limit = long.MaxValue;
                foreach (var r in Rules(direction))
                    if (r.AfterBytes is long at && at >= passed && at < limit && r.Line is null) { byteRule = r; limit = at; }
                int take = byteRule is null ? data.Length : (int)Math.Min(data.Length, limit - passed);
                if (take > 0)
                {
                    await WriteAsync(data[..take]);
                    passed += take;
                    data = data[take..];
                }
                if (byteRule is not null && passed >= limit && byteRule.TryFire())
                {
                    Log($"fault {byteRule.Action} after {passed} bytes {direction}");
                    if (!await ApplyAsync(byteRule)) return false;
                }
                else if (byteRule is not null && passed >= limit && take == 0)
                {
                    // The rule did not fire (exhausted meanwhile): forward the rest.
                    await WriteAsync(data);
                    passed += data.Length;
                    return true;
                }
            }
            return true;
        }

        async Task WriteAsync(ReadOnlyMemory<byte> data)
        {
            if (trickle <= 0)
            {
                await output.WriteAsync(data, ct);
                return;
            }
            // Small slices with pauses: the peer sees a slow link, not a dead one.
            int slice = Math.Max(1, trickle / 10);
            for (int i = 0; i < data.Length; i += slice)
            {
                if (c.Stalled || c.IsCut) return;
                await output.WriteAsync(data.Slice(i, Math.Min(slice, data.Length - i)), ct);
                await Task.Delay(100, ct);
            }
        }

        // Applies a rule's action; false when nothing more may pass in this direction.
        async Task<bool> ApplyAsync(FaultRule rule)
        {
            switch (rule.Action)
            {
                case FaultAction.Cut:
                    c.Cut();
                    return false;
                case FaultAction.Stall:
                    c.Stalled = true;
                    return false;
                case FaultAction.Trickle:
                    trickle = rule.TrickleBytesPerSecond;
                    return true;
                case FaultAction.HalfClose:
                    try { c.Client.Client.Shutdown(SocketShutdown.Send); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
                    c.HalfClosed = true;
                    return direction == FaultDirection.ToServer;
                default:
                    return true;
            }
        }

        try
        {
            int n;
            while ((n = await input.ReadAsync(buffer, ct)) > 0)
            {
                if (c.Stalled) break;
                if (c.IsCut) return;
                if (direction == FaultDirection.ToClient && c.HalfClosed) continue;
                var lineRules = Rules(direction).Where(r => r.Line is not null).ToArray();
                if (lineRules.Length == 0 && pending.Count == 0)
                {
                    if (Record) RecordLines(direction, buffer.AsSpan(0, n));
                    if (!await ForwardAsync(buffer.AsMemory(0, n))) break;
                    continue;
                }
                int start = 0;
                bool stop = false;
                for (int i = 0; i < n && !stop; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    pending.AddRange(buffer.AsSpan(start, i + 1 - start).ToArray());
                    start = i + 1;
                    byte[] line = [.. pending];
                    pending.Clear();
                    stop = !await HandleLineAsync(line);
                }
                if (stop) break;
                if (start < n) pending.AddRange(buffer.AsSpan(start, n - start).ToArray());
                // Rules may have been removed meanwhile: do not keep back a partial line for nothing.
                if (pending.Count > 0 && !Rules(direction).Any(r => r.Line is not null))
                {
                    byte[] rest = [.. pending];
                    pending.Clear();
                    if (!await ForwardAsync(rest)) break;
                }
            }
        }
        catch (Exception) when (ct.IsCancellationRequested) { }
        catch (IOException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            // A clean end of stream is passed on as such; a stall keeps the other side waiting.
            if (!c.Stalled && !c.IsCut)
                try { to.Client.Shutdown(SocketShutdown.Send); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
        }

        async Task<bool> HandleLineAsync(byte[] line)
        {
            string text = Encoding.Latin1.GetString(line).TrimEnd('\r', '\n');
            if (Record) Log($"{(direction == FaultDirection.ToServer ? "C" : "S")}: {text[..Math.Min(200, text.Length)]}");
            foreach (var rule in Rules(direction))
            {
                if (rule.Line is null || !rule.Line.IsMatch(text) || !rule.TryFire()) continue;
                Log($"fault {rule.Action} on {direction} line: {text[..Math.Min(120, text.Length)]}");
                switch (rule.Action)
                {
                    case FaultAction.DropLine:
                        return true;
                    case FaultAction.Answer:
                        string tag = text.Split(' ', 2)[0];
                        string reply = (rule.Answer ?? "{tag} NO [UNAVAILABLE] refused by the fault proxy").Replace("{tag}", tag, StringComparison.Ordinal) + "\r\n";
                        // The answer goes back to the client: the server never sees the command.
                        await c.Client.GetStream().WriteAsync(Encoding.Latin1.GetBytes(reply), ct);
                        return true;
                    default:
                        if (!await ForwardAsync(line)) return false;
                        return await ApplyAsync(rule);
                }
            }
            return await ForwardAsync(line);
        }
    }

    private void RecordLines(FaultDirection direction, ReadOnlySpan<byte> data)
    {
        foreach (string line in Encoding.Latin1.GetString(data).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string t = line.TrimEnd('\r');
            Log($"{(direction == FaultDirection.ToServer ? "C" : "S")}: {t[..Math.Min(200, t.Length)]}");
        }
    }

    private void Log(string text)
    {
        lock (_transcript)
        {
            _transcript.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {text}");
            if (_transcript.Count > 20_000) _transcript.RemoveRange(0, 10_000);
        }
    }

    /// <summary>The faults injected so far, one line each (always kept, unlike the full <see cref="Transcript"/>).</summary>
    public IReadOnlyList<string> Faults
    {
        get { lock (_transcript) return _transcript.Where(l => l.Contains(" fault ", StringComparison.Ordinal)).ToList(); }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var c in Snapshot()) c.Cut();
        if (_accept is not null) await _accept;
        Task[] sessions;
        lock (_sessions) sessions = [.. _sessions];
        await Task.WhenAll(sessions);
        _stop.Dispose();
    }

    private sealed class Connection(TcpClient client, TcpClient server)
    {
        public TcpClient Client { get; } = client;
        public TcpClient Server { get; } = server;
        private int _cut;
        private volatile bool _stalled;
        public bool Stalled { get => _stalled; set => _stalled = value; }
        public volatile bool HalfClosed;
        public bool IsCut => Volatile.Read(ref _cut) == 1;

        public void Cut()
        {
            if (Interlocked.Exchange(ref _cut, 1) == 1) return;
            foreach (var tcp in new[] { Client, Server })
            {
                try
                {
                    // Linger 0: close sends RST, which is what a dropped link or a killed peer looks like.
                    if (tcp.Client is not { } socket) continue;
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
            }
        }
    }
}
