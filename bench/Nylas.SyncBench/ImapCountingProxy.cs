using System.Net;
using System.Net.Sockets;

namespace Nylas.SyncBench;

public sealed record WireCounts(long Connections, long Commands, long BytesToServer, long BytesFromServer);

/// <summary>
/// A loopback TCP relay in front of Dovecot's plain IMAP port that counts what the engine says: connections,
/// tagged commands (client lines that start with an IMAP tag, e.g. <c>A00000003 UID FETCH …</c>) and bytes
/// both ways. The engine's <c>ImapConnector</c> has no protocol-logger hook, so the account is pointed at this
/// relay for the incremental cycles instead. Commands ≈ round trips: the sync step does not pipeline.
/// </summary>
public sealed class ImapCountingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _sessions = [];
    private Task? _accept;
    private long _connections, _commands, _up, _down;

    public ImapCountingProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Start()
    {
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    public WireCounts Read() => new(Interlocked.Read(ref _connections), Interlocked.Read(ref _commands), Interlocked.Read(ref _up), Interlocked.Read(ref _down));

    public WireCounts Reset()
    {
        var c = new WireCounts(Interlocked.Exchange(ref _connections, 0), Interlocked.Exchange(ref _commands, 0), Interlocked.Exchange(ref _up, 0), Interlocked.Exchange(ref _down, 0));
        return c;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            Interlocked.Increment(ref _connections);
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
            try
            {
                await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
                var up = PumpAsync(client, server, countCommands: true);
                var down = PumpAsync(server, client, countCommands: false);
                await Task.WhenAll(up, down);
            }
            catch (Exception) when (_stop.IsCancellationRequested) { }
            catch (IOException) { }
            catch (SocketException) { }
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool countCommands)
    {
        var input = from.GetStream();
        var output = to.GetStream();
        var buffer = new byte[64 * 1024];
        // Line-start state for counting tagged commands: letters, then digits, then a space.
        bool atLineStart = true;
        int phase = 0; // 0 = letters, 1 = digits, 2 = decided
        int letters = 0, digits = 0;
        try
        {
            int n;
            while ((n = await input.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (countCommands)
                {
                    Interlocked.Add(ref _up, n);
                    for (int i = 0; i < n; i++)
                    {
                        byte b = buffer[i];
                        if (b == (byte)'\n') { atLineStart = true; continue; }
                        if (atLineStart) { atLineStart = false; phase = 0; letters = 0; digits = 0; }
                        if (phase == 2) continue;
                        if (phase == 0 && b is >= (byte)'A' and <= (byte)'Z') { letters++; continue; }
                        if (phase <= 1 && letters > 0 && b is >= (byte)'0' and <= (byte)'9') { phase = 1; digits++; continue; }
                        if (phase == 1 && b == (byte)' ' && digits > 0) Interlocked.Increment(ref _commands);
                        phase = 2;
                    }
                }
                else
                {
                    Interlocked.Add(ref _down, n);
                }
                await output.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested) { }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            try { to.Client.Shutdown(SocketShutdown.Send); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        if (_accept is not null) await _accept;
        Task[] sessions;
        lock (_sessions) sessions = [.. _sessions];
        await Task.WhenAll(sessions);
        _stop.Dispose();
    }
}
