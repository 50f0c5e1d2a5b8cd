using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Api;

namespace Nylas.LocalHost;

/// <summary>
/// GET /metrics: the OpenTelemetry metrics in Prometheus text format, an operations endpoint beside the API (not in
/// openapi.json). Served to loopback callers only, or, when Nylas:Telemetry:MetricsToken is set, to callers from any
/// address that send it as a bearer token (and only to them).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static IEndpointConventionBuilder MapNylasMetrics(this IEndpointRouteBuilder endpoints)
        => endpoints.MapPrometheusScrapingEndpoint(Path, meterProvider: null, configureBranchedPipeline: branch => branch.Use(RefuseUnlessAllowedAsync), optionsName: null)
            .ExcludeFromDescription();

    private static async Task RefuseUnlessAllowedAsync(HttpContext http, RequestDelegate next)
    {
        string token = http.RequestServices.GetRequiredService<IOptions<NylasOptions>>().Value.Telemetry.MetricsToken;
        if (IsAllowed(http, token))
        {
            await next(http);
            return;
        }
        var refusal = token.Length > 0
            ? ApiResult.Unauthorized("GET /metrics needs Authorization: Bearer with the value of Nylas:Telemetry:MetricsToken.")
            : ApiResult.Error(StatusCodes.Status403Forbidden, "invalid_request_error", "GET /metrics is served to loopback callers only; set Nylas:Telemetry:MetricsToken to scrape from elsewhere.");
        await refusal.ExecuteAsync(http);
    }

    /// <summary>With a token: exactly that bearer token, from anywhere. Without: a loopback caller (no proxy in front of the local host decides this).</summary>
    public static bool IsAllowed(HttpContext http, string metricsToken)
    {
        if (metricsToken.Length == 0)
            return http.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
        string header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(metricsToken)));
    }
}
