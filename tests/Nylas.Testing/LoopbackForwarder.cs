using System.Net;
using System.Net.Sockets;

namespace Nylas.Testing;

/// <summary>
/// A loopback TCP port that forwards to a service (of the test stack, or any host and port), and can be taken away: <see cref="Close"/>
/// resets every forwarded connection and stops listening, so a client meets a real "connection refused" until
/// <see cref="Open"/> listens on the same port again. An outage of one host's view of a service, without stopping the service.
/// </summary>
public sealed class LoopbackForwarder : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _connections = [];
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();

    /// <param name="port">The port to listen on; by default one the kernel picks (kept across <see cref="Close"/> and <see cref="Open"/>).</param>
    public LoopbackForwarder(int targetPort, string targetHost = "127.0.0.1", int port = 0)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Port = port;
        Open();
    }

    public int Port { get; private set; }

    public bool IsOpen => _listener is not null;

    public void Open()
    {
        lock (_lock)
        {
            if (_listener is not null) return;
            _stop = new CancellationTokenSource();
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            _listener = listener;
            _ = AcceptAsync(listener, _stop.Token);
        }
    }

    public void Close()
    {
        lock (_lock)
        {
            if (_listener is null) return;
            _stop.Cancel();
            _listener.Stop();
            _listener = null;
            foreach (var connection in _connections)
            {
                // A reset, not a polite close: what a client sees when the server goes away.
                if (connection.Client is { } socket)
                    try { socket.LingerState = new LingerOption(true, 0); } catch (ObjectDisposedException) { }
                connection.Dispose();
            }
            _connections.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try { inbound = await listener.AcceptTcpClientAsync(stop); }
            catch (Exception) { return; }
            var outbound = new TcpClient();
            try { await outbound.ConnectAsync(_targetHost, _targetPort, stop); }
            catch (Exception)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }
            lock (_lock)
            {
                if (stop.IsCancellationRequested)
                {
                    inbound.Dispose();
                    outbound.Dispose();
                    return;
                }
                _connections.Add(inbound);
                _connections.Add(outbound);
            }
            _ = PipeAsync(inbound, outbound, stop);
            _ = PipeAsync(outbound, inbound, stop);
        }
    }

    private static async Task PipeAsync(TcpClient from, TcpClient to, CancellationToken stop)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), stop);
            to.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Close();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
