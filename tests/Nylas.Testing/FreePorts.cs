using System.Net;
using System.Net.Sockets;

namespace Nylas.Testing;

/// <summary>A loopback port nothing listens on now, chosen by the kernel (never from a fixed range that may hold the test stack's own ports).</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
