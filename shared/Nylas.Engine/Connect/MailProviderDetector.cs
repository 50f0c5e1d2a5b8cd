using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Microsoft.Extensions.Options;
using Nylas.Core.Connect;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Connect;

/// <summary>
/// Finds a mailbox's provider when the app gave no server settings: the built-in table by email
/// domain first, then the domain's MX records (a custom domain whose mail Google or Microsoft receives).
/// The DNS server is configurable (<see cref="ConnectOptions.DnsServer"/>), so tests ask a real one they run.
/// </summary>
public sealed class MailProviderDetector
{
    private readonly LookupClient _dns;

    public MailProviderDetector(IOptions<NylasOptions> options)
    {
        var connect = options.Value.Connect;
        var lookup = TryParseServer(connect.DnsServer) is { } server ? new LookupClientOptions(server) : new LookupClientOptions();
        lookup.Timeout = TimeSpan.FromSeconds(connect.DnsTimeoutSeconds);
        lookup.Retries = 1;
        lookup.ThrowDnsErrors = false;
        lookup.UseCache = true;
        _dns = new LookupClient(lookup);
    }

    /// <summary><c>host</c> or <c>host:port</c> as an IP endpoint (port 53 by default); null for empty or malformed.</summary>
    public static IPEndPoint? TryParseServer(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (IPAddress.TryParse(value, out var address)) return new IPEndPoint(address, 53);
        return IPEndPoint.TryParse(value, out var endpoint) && endpoint.Port > 0 ? endpoint : null;
    }

    /// <summary>The provider of the address's domain, or null when neither the table nor its MX records name one.</summary>
    public async Task<MailProvider?> DetectAsync(string emailAddress, CancellationToken cancellationToken)
    {
        string? domain = MailProviders.DomainOf(emailAddress);
        if (domain is null) return null;
        if (MailProviders.FindByDomain(domain) is { } known) return known;
        return MailProviders.FindByMxHosts(await LookupMxAsync(domain, cancellationToken));
    }

    /// <summary>The domain's MX hosts and preferences; empty when it has none or DNS does not answer.</summary>
    public async Task<IReadOnlyList<(string Host, int Preference)>> LookupMxAsync(string domain, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _dns.QueryAsync(domain, QueryType.MX, QueryClass.IN, cancellationToken);
            if (response.HasError) return [];
            return response.Answers.OfType<MxRecord>().Select(mx => (mx.Exchange.Value.TrimEnd('.'), (int)mx.Preference)).ToList();
        }
        catch (DnsResponseException)
        {
            // No answer in time: autodetection fails with a message asking for the server settings.
            return [];
        }
    }
}
