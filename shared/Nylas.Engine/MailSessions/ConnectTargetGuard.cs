using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.MailSessions;

/// <summary>
/// POST /connect/authorize needs only a client id, so anyone who knows one can make this server open
/// IMAP/SMTP connections and POST to a token URL of their choosing. With
/// <c>Nylas:Connect:RefusePrivateNetworks</c> on (the Azure deployment sets it), hosts that resolve to
/// this machine or a private network are refused: named at authorize, before anything is contacted
/// (<see cref="CheckAsync"/>), and again on every connection the engine opens to an account's servers
/// (<see cref="OpenAsync"/>), because a name can resolve elsewhere later (DNS rebinding, a changed record).
/// </summary>
public sealed class ConnectTargetGuard(IOptions<NylasOptions> options)
{
    private readonly IPNetwork[] _allowed = TryParseNetworks(options.Value.Connect.AllowedPrivateNetworks, out var allowed) ? allowed : [];

    public bool Enabled => options.Value.Connect.RefusePrivateNetworks;

    /// <summary>Comma-separated CIDR ranges (<c>Nylas:Connect:AllowedPrivateNetworks</c>); false when one is not a range.</summary>
    public static bool TryParseNetworks(string? value, out IPNetwork[] networks)
    {
        var parsed = new List<IPNetwork>();
        foreach (string part in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!IPNetwork.TryParse(part, out var network))
            {
                networks = [];
                return false;
            }
            parsed.Add(network);
        }
        networks = [.. parsed];
        return true;
    }

    /// <summary>A private address outside the allowed ranges.</summary>
    private bool IsRefused(IPAddress address)
    {
        if (!IsPrivate(address)) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return !_allowed.Any(n => n.Contains(address));
    }

    /// <summary>Why the request may not be tried, or null.</summary>
    public async Task<string?> CheckAsync(ConnectRequest request, CancellationToken cancellationToken)
    {
        if (!options.Value.Connect.RefusePrivateNetworks) return null;
        var targets = new List<(string Setting, string Host)> { ("settings.imap_host", request.Imap.Host) };
        if (request.Smtp is { } smtp) targets.Add(("settings.smtp_host", smtp.Host));
        if (request.Secrets.OAuth is { } oauth && Uri.TryCreate(oauth.TokenUrl, UriKind.Absolute, out var tokenUrl))
            targets.Add(("the OAuth2 token URL", tokenUrl.Host));

        foreach (var (setting, host) in targets)
        {
            IPAddress[] addresses;
            try
            {
                addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
            }
            catch (SocketException)
            {
                continue; // unresolvable: the connection attempt itself reports that
            }
            if (addresses.FirstOrDefault(IsRefused) is { } address)
                return $"{setting} {Refusal(host, address)}";
        }
        return null;
    }

    private static string Refusal(string host, IPAddress address)
        => $"'{host}' is {address}, a loopback, private or link-local address; this server refuses those (Nylas:Connect:RefusePrivateNetworks; Nylas:Connect:AllowedPrivateNetworks lists exceptions).";

    /// <summary>
    /// Opens the TCP connection of an IMAP, SMTP or token-endpoint session: the name is resolved here and only
    /// public addresses are dialled, so what is checked is what is connected to. Null when the policy is off
    /// (the caller connects as it always does).
    /// </summary>
    /// <exception cref="PrivateNetworkRefusedException">Every address of the name is a refused one.</exception>
    public async Task<Socket?> OpenAsync(string host, int port, CancellationToken cancellationToken)
    {
        if (!Enabled) return null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.Sync.ConnectTimeoutSeconds));
        try
        {
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, timeout.Token);
            var allowed = addresses.Where(a => !IsRefused(a)).ToList();
            if (allowed.Count == 0)
                throw new PrivateNetworkRefusedException(addresses.Length == 0 ? $"'{host}' has no address." : Refusal(host, addresses[0]));
            SocketException? last = null;
            foreach (var address in allowed)
            {
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(address, port, timeout.Token);
                    return socket;
                }
                catch (SocketException ex)
                {
                    socket.Dispose();
                    last = ex;
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }
            throw last!;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Connecting to {host}:{port} timed out after {options.Value.Sync.ConnectTimeoutSeconds} s.");
        }
    }

    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal;
        byte[] b = address.GetAddressBytes();
        return b[0] == 10 || b[0] == 0
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)          // link-local, including cloud metadata at 169.254.169.254
            || (b[0] == 100 && b[1] is >= 64 and <= 127); // carrier-grade NAT
    }
}

/// <summary>A connection to a loopback, private or link-local address refused by <c>Nylas:Connect:RefusePrivateNetworks</c>.</summary>
public sealed class PrivateNetworkRefusedException(string message) : Exception(message);
