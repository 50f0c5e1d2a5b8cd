using System.Net;
using System.Net.Sockets;

namespace Nylas.Testing;

/// <summary>
/// A loopback port nothing listens on now, for a listener the caller starts later (and may restart on the same port).
/// Taken above the kernel's ephemeral range where there is room: a port the kernel hands out was seen taken by another
/// process's outgoing connection between the probe and the bind on a busy machine. Never from the test stack's own ranges.
/// </summary>
public static class FreePorts
{
    public static int Next()
    {
        var (low, high) = AboveEphemeralRange();
        if (high - low >= 1000)
        {
            for (int attempt = 0; attempt < 200; attempt++)
            {
                int port = Random.Shared.Next(low, high + 1);
                if (TryProbe(port)) return port;
            }
        }
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static bool TryProbe(int port)
    {
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The ports above Linux's ephemeral range (ip_local_port_range); an empty range elsewhere.</summary>
    private static (int Low, int High) AboveEphemeralRange()
    {
        const string RangeFile = "/proc/sys/net/ipv4/ip_local_port_range";
        try
        {
            if (!File.Exists(RangeFile)) return (0, 0);
            var parts = File.ReadAllText(RangeFile).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return parts.Length == 2 && int.TryParse(parts[1], out int ephemeralHigh) ? (ephemeralHigh + 1, 65535) : (0, 0);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }
}
