using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Nylas.Engine.MailSessions;

namespace Nylas.Engine.Webhooks;

/// <summary>
/// Where callbacks may go. A subscription makes this server send requests to a URL of the application's choosing,
/// so, as for mail servers (<see cref="ConnectTargetGuard"/>, whose ranges it uses), addresses that are not
/// globally reachable (loopback, private, link-local incl. the metadata service, …) are refused unless
/// <c>Nylas:Webhooks:AllowedPrivateNetworks</c> lists them; unlike the connect guard this is always on. The URL is
/// checked when a subscription is created, and every connection resolves the name again and dials only allowed
/// addresses (<see cref="CreateHttpClient"/>), so a record changed later (DNS rebinding) reaches nothing inside.
/// </summary>
public sealed class CallbackTargets(IOptions<NylasOptions> options)
{
    private readonly IPNetwork[] _allowed = ConnectTargetGuard.TryParseNetworks(options.Value.Webhooks.AllowedPrivateNetworks, out var allowed) ? allowed : [];

    private WebhooksOptions Settings => options.Value.Webhooks;

    private bool IsRefused(IPAddress address)
        => ConnectTargetGuard.IsPrivate(address)
            && !_allowed.Any(n => n.Contains(address) || n.Contains(ConnectTargetGuard.EffectiveAddress(address)));

    /// <summary>The callback URL, or why it is refused (a message naming callback_url). Resolves the host; contacts nothing.</summary>
    public async Task<(Uri? Url, string? Problem)> CheckAsync(string? callbackUrl, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(callbackUrl)) return (null, "callback_url is required: the https URL deliveries are POSTed to.");
        if (callbackUrl.Length > 2000) return (null, "callback_url is longer than 2000 characters.");
        if (!Uri.TryCreate(callbackUrl, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http") || string.IsNullOrEmpty(url.Host))
            return (null, $"callback_url '{callbackUrl}' is not an absolute http(s) URL.");
        if (!string.IsNullOrEmpty(url.UserInfo)) return (null, "callback_url must not carry a user name or password.");
        if (!string.IsNullOrEmpty(url.Fragment)) return (null, "callback_url must not have a fragment (#…).");

        if (url.Scheme == "http" && !Settings.AllowHttpLoopback)
            return (null, HttpRefusal);

        string host = url.IdnHost.Trim('[', ']');
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        }
        catch (SocketException)
        {
            return (null, $"callback_url: the host '{url.Host}' does not resolve.");
        }
        if (addresses.Length == 0) return (null, $"callback_url: the host '{url.Host}' has no address.");
        if (url.Scheme == "http" && !addresses.All(a => IPAddress.IsLoopback(ConnectTargetGuard.EffectiveAddress(a))))
            return (null, HttpRefusal);
        if (addresses.Any(IsRefused))
            return (null, $"callback_url: {Refusal(url.Host)}");
        return (url, null);
    }

    private const string HttpRefusal = "callback_url must be https (http is accepted only for loopback hosts, and only where Nylas:Webhooks:AllowHttpLoopback is set).";

    // As the connect guard does, the address a name resolved to is not told (no oracle of the internal DNS).
    private static string Refusal(string host)
        => (IPAddress.TryParse(host.Trim('[', ']'), out _) ? $"'{host}' is not a public address" : $"'{host}' resolves to an address that is not public") +
            " (loopback, private, link-local or another special-purpose range); callbacks there are refused unless Nylas:Webhooks:AllowedPrivateNetworks lists it.";

    /// <summary>
    /// The client callbacks are sent with: each connection resolves the host and dials only allowed addresses, within
    /// <c>ConnectTimeoutSeconds</c>; redirects are not followed (a 3xx is a failed delivery), no cookies, no proxy.
    /// The response timeout is the caller's (a cancellation token per request).
    /// </summary>
    public HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(Settings.ConnectTimeoutSeconds),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = ConnectAsync,
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = await ConnectTargetGuard.DialAllowedAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, IsRefused, Refusal, cancellationToken);
        return new NetworkStream(socket, ownsSocket: true);
    }
}
