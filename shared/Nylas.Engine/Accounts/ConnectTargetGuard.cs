using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Accounts;

/// <summary>
/// POST /connect/authorize needs only a client id, so anyone who knows one can make this server open
/// IMAP/SMTP connections and POST to a token URL of their choosing. With
/// <c>Nylas:Connect:RefusePrivateNetworks</c> on (the Azure deployment sets it), hosts that resolve to
/// this machine or a private network are refused before anything is contacted.
/// </summary>
public sealed class ConnectTargetGuard(IOptions<NylasOptions> options)
{
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
            if (addresses.FirstOrDefault(IsPrivate) is { } address)
                return $"{setting} '{host}' is {address}, a loopback, private or link-local address; this server refuses those (Nylas:Connect:RefusePrivateNetworks).";
        }
        return null;
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
