using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.MailSessions;

/// <summary>
/// POST /connect/authorize needs only a client id, so anyone who knows one can make this server open
/// IMAP/SMTP connections and POST to a token URL of their choosing. With
/// <c>Nylas:Connect:RefusePrivateNetworks</c> on (the Azure deployment sets it), hosts that resolve to
/// this machine, a private network or any other address that is not globally reachable are refused: named at authorize, before anything is contacted
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

    /// <summary>An address that is not globally reachable, outside the allowed ranges.</summary>
    private bool IsRefused(IPAddress address)
    {
        if (!IsPrivate(address)) return false;
        var effective = EffectiveAddress(address);
        return !_allowed.Any(n => n.Contains(address) || n.Contains(effective));
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
            if (addresses.Any(IsRefused))
                return $"{setting} {Refusal(host)}";
        }
        return null;
    }

    // The address a name resolved to is not told: it would make /connect/authorize an oracle of the internal DNS
    // (a private endpoint's name, a VNet's hosts). An address the caller gave is only echoed.
    private static string Refusal(string host)
        => (IPAddress.TryParse(host, out _) ? $"'{host}' is not a public address" : $"'{host}' resolves to an address that is not public") +
            " (loopback, private, link-local or another special-purpose range); this server refuses those " +
            "(Nylas:Connect:RefusePrivateNetworks; Nylas:Connect:AllowedPrivateNetworks lists exceptions).";

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
            return await DialAllowedAsync(host, port, IsRefused, Refusal, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Connecting to {host}:{port} timed out after {options.Value.Sync.ConnectTimeoutSeconds} s.");
        }
    }

    /// <summary>
    /// Resolves <paramref name="host"/> (an IP literal, bracketed or not, is taken as it is) and dials the addresses
    /// <paramref name="isRefused"/> lets through, in order, until one answers: what is checked is what is connected to.
    /// </summary>
    /// <exception cref="PrivateNetworkRefusedException">The name has no address, or every address is refused (<paramref name="refusal"/> says why).</exception>
    /// <exception cref="SocketException">No allowed address answered: the last one's error.</exception>
    public static async Task<Socket> DialAllowedAsync(string host, int port, Func<IPAddress, bool> isRefused, Func<string, string> refusal, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => !isRefused(a)).ToList();
        if (allowed.Count == 0)
            throw new PrivateNetworkRefusedException(addresses.Length == 0 ? $"'{host}' has no address." : refusal(host));
        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(address, port, cancellationToken);
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

    /// <summary>
    /// Not a globally reachable unicast address: an entry of <see cref="RefusedRanges"/>, judged for IPv4-mapped
    /// and NAT64 (64:ff9b::/96) addresses by the IPv4 address they stand for.
    /// </summary>
    public static bool IsPrivate(IPAddress address)
    {
        address = EffectiveAddress(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv6SiteLocal) return true; // fec0::/10, deprecated by RFC 3879
        foreach (var range in RefusedRanges)
            if (range.Network.Contains(address)) return true;
        return false;
    }

    /// <summary>
    /// The address a connection really reaches: the embedded IPv4 address of an IPv4-mapped address
    /// (::ffff:0:0/96, RFC 4291 §2.5.5.2) or of the NAT64 well-known prefix (64:ff9b::/96, RFC 6052 §2.1, the
    /// last 32 bits), so that ::ffff:10.0.0.1 or 64:ff9b::a00:1 is judged as 10.0.0.1.
    /// </summary>
    public static IPAddress EffectiveAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        if (Nat64WellKnownPrefix.Contains(address)) return new IPAddress(address.GetAddressBytes().AsSpan(12, 4));
        return address;
    }

    private static readonly IPNetwork Nat64WellKnownPrefix = IPNetwork.Parse("64:ff9b::/96");

    /// <summary>A range this server never dials (unless <c>Nylas:Connect:AllowedPrivateNetworks</c> lists it), and why.</summary>
    public sealed record RefusedRange(IPNetwork Network, string Name);

    /// <summary>
    /// Every block of the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) whose "Globally
    /// Reachable" is False or N/A, plus multicast, broadcast and Azure's platform address. Blocks the registries mark
    /// globally reachable (AS112 192.31.196.0/24 and 192.175.48.0/24, AMT 192.52.193.0/24, 2620:4f:8000::/48) are not
    /// here. The two IPv4-in-IPv6 forms that carry a usable IPv4 address (IPv4-mapped ::ffff:0:0/96 and NAT64
    /// 64:ff9b::/96, whose registry entries are not globally reachable and globally reachable) are judged by it instead
    /// (<see cref="EffectiveAddress"/>); the others (IPv4-compatible, 6to4, Teredo, local-use NAT64) are refused whole:
    /// no mail server is reached that way, and their embedded IPv4 addresses are tunnelled or obfuscated.
    /// </summary>
    public static readonly IReadOnlyList<RefusedRange> RefusedRanges =
    [
        // IPv4 (iana-ipv4-special-registry)
        new(IPNetwork.Parse("0.0.0.0/8"), "\"this network\" (RFC 791, RFC 1122 §3.2.1.3)"),
        new(IPNetwork.Parse("10.0.0.0/8"), "private-use (RFC 1918)"),
        new(IPNetwork.Parse("100.64.0.0/10"), "shared address space, carrier-grade NAT (RFC 6598)"),
        new(IPNetwork.Parse("127.0.0.0/8"), "loopback (RFC 1122 §3.2.1.3)"),
        new(IPNetwork.Parse("169.254.0.0/16"), "link-local, including the cloud metadata service 169.254.169.254 (RFC 3927)"),
        new(IPNetwork.Parse("172.16.0.0/12"), "private-use (RFC 1918)"),
        // Its few globally reachable entries (192.0.0.9 PCP and 192.0.0.10 TURN anycast) are no mail servers.
        new(IPNetwork.Parse("192.0.0.0/24"), "IETF protocol assignments: DS-Lite, NAT64 discovery, … (RFC 6890 §2.1, RFC 7335, RFC 7050)"),
        new(IPNetwork.Parse("192.0.2.0/24"), "documentation TEST-NET-1 (RFC 5737)"),
        new(IPNetwork.Parse("192.88.99.0/24"), "deprecated 6to4 relay anycast (RFC 7526)"),
        new(IPNetwork.Parse("192.168.0.0/16"), "private-use (RFC 1918)"),
        new(IPNetwork.Parse("198.18.0.0/15"), "benchmarking (RFC 2544)"),
        new(IPNetwork.Parse("198.51.100.0/24"), "documentation TEST-NET-2 (RFC 5737)"),
        new(IPNetwork.Parse("203.0.113.0/24"), "documentation TEST-NET-3 (RFC 5737)"),
        new(IPNetwork.Parse("224.0.0.0/4"), "multicast (RFC 5771)"),
        new(IPNetwork.Parse("240.0.0.0/4"), "reserved (RFC 1112 §4), including limited broadcast 255.255.255.255 (RFC 919, RFC 8190)"),
        // Not IANA's: Azure's wire server (DHCP, DNS, the VM agent's host channel) answers every VM there.
        new(IPNetwork.Parse("168.63.129.16/32"), "Azure's platform wire server"),

        // IPv6 (iana-ipv6-special-registry)
        // Unspecified ::/128, loopback ::1 and the deprecated IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.2, 2.5.3, 2.5.5.1).
        new(IPNetwork.Parse("::/96"), "unspecified, loopback or IPv4-compatible (RFC 4291)"),
        new(IPNetwork.Parse("64:ff9b:1::/48"), "local-use IPv4/IPv6 translation (RFC 8215)"),
        new(IPNetwork.Parse("100::/64"), "discard-only (RFC 6666)"),
        new(IPNetwork.Parse("100:0:0:1::/64"), "dummy IPv6 prefix (RFC 9780)"),
        // Teredo 2001::/32 (RFC 4380), benchmarking 2001:2::/48 (RFC 5180), ORCHID (RFC 4843, RFC 7343) and the rest of
        // the IETF protocol assignments; the globally reachable anycast entries there are no mail servers.
        new(IPNetwork.Parse("2001::/23"), "IETF protocol assignments: Teredo, benchmarking, ORCHID, … (RFC 2928, RFC 4380, RFC 5180)"),
        new(IPNetwork.Parse("2001:db8::/32"), "documentation (RFC 3849)"),
        new(IPNetwork.Parse("2002::/16"), "6to4, which tunnels to its embedded IPv4 address (RFC 3056)"),
        new(IPNetwork.Parse("3fff::/20"), "documentation (RFC 9637)"),
        new(IPNetwork.Parse("5f00::/16"), "segment routing SIDs (RFC 9602)"),
        new(IPNetwork.Parse("fc00::/7"), "unique-local (RFC 4193)"),
        new(IPNetwork.Parse("fe80::/10"), "link-local unicast (RFC 4291 §2.5.6)"),
        new(IPNetwork.Parse("ff00::/8"), "multicast (RFC 4291 §2.7)"),
        // Everything outside global unicast 2000::/3 is reserved by the IETF or unassigned (RFC 4291 §2.4, the IANA
        // IPv6 Address Space registry); the blocks above that lie there are listed for their names.
        new(IPNetwork.Parse("::/3"), "outside global unicast 2000::/3 (RFC 4291 §2.4)"),
        new(IPNetwork.Parse("4000::/2"), "outside global unicast 2000::/3 (RFC 4291 §2.4)"),
        new(IPNetwork.Parse("8000::/1"), "outside global unicast 2000::/3 (RFC 4291 §2.4)"),
    ];
}

/// <summary>A connection to an address that is not globally reachable, refused by <c>Nylas:Connect:RefusePrivateNetworks</c>.</summary>
public sealed class PrivateNetworkRefusedException(string message) : Exception(message);
