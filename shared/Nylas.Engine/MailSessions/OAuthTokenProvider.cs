using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.MailSessions;

/// <summary>The provider refused the refresh token or the client (RFC 6749 invalid_grant, invalid_client…): new credentials are needed.</summary>
public sealed class OAuthGrantRejectedException(string message) : Exception(message);

/// <summary>An access token, and the grant it came from (with the provider's new refresh token when it rotated it).</summary>
public sealed record OAuthAccess(string AccessToken, OAuthGrant Grant);

/// <summary>The token endpoint could not be reached or failed (network, timeout, 429, 5xx): try again later.</summary>
public sealed class OAuthProviderUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Redeems OAuth2 refresh tokens for access tokens at the provider's token endpoint and caches each
/// access token until shortly before it expires (<see cref="OAuthOptions.RefreshMarginSeconds"/>).
/// One refresh at a time per grant; tokens never reach a log.
/// </summary>
public sealed partial class OAuthTokenProvider(IOptions<NylasOptions> options, TimeProvider clock, ConnectTargetGuard guard, ILogger<OAuthTokenProvider> logger)
    : IDisposable
{
    private readonly record struct CachedToken(string AccessToken, DateTimeOffset ExpiresAt);

    private readonly ConcurrentDictionary<string, CachedToken> _cache = new(StringComparer.Ordinal);
    // A grant whose refresh token the provider rotated → the grant with the new one (callers may still hold the old).
    private readonly ConcurrentDictionary<string, OAuthGrant> _successors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new(TokenEndpointHandler(guard))
    {
        Timeout = TimeSpan.FromSeconds(options.Value.OAuth.TimeoutSeconds),
    };

    private static SocketsHttpHandler TokenEndpointHandler(ConnectTargetGuard guard)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false };
        // With RefusePrivateNetworks on, the token endpoint is dialled through the guard like the mail servers.
        if (guard.Enabled)
            handler.ConnectCallback = async (context, ct)
                => new NetworkStream((await guard.OpenAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct))!, ownsSocket: true);
        return handler;
    }

    /// <summary>A valid access token for the grant: the cached one while it has more than the margin left, otherwise a new one.</summary>
    public async Task<string> GetAccessTokenAsync(OAuthGrant grant, CancellationToken cancellationToken)
        => (await GetAccessAsync(grant, cancellationToken)).AccessToken;

    /// <summary>
    /// A valid access token, and the grant as it is now: when the provider rotated the refresh token, the
    /// returned grant carries the new one and the caller must store it (the old one may no longer work).
    /// </summary>
    public async Task<OAuthAccess> GetAccessAsync(OAuthGrant grant, CancellationToken cancellationToken)
    {
        string key = CacheKey(grant);
        while (_successors.TryGetValue(key, out var next))
        {
            grant = next;
            key = CacheKey(grant);
        }
        if (TryCached(key, out string? token)) return new OAuthAccess(token!, grant);
        var gate = _gates.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (_successors.TryGetValue(key, out var rotatedMeanwhile)) return await GetAccessAsync(rotatedMeanwhile, cancellationToken);
            if (TryCached(key, out token)) return new OAuthAccess(token!, grant);
            var (fresh, newRefreshToken) = await RedeemAsync(grant, cancellationToken);
            if (newRefreshToken is { Length: > 0 } && newRefreshToken != grant.RefreshToken)
            {
                var rotated = grant with { RefreshToken = newRefreshToken };
                _cache[CacheKey(rotated)] = fresh;
                _successors[key] = rotated;
                return new OAuthAccess(fresh.AccessToken, rotated);
            }
            _cache[key] = fresh;
            return new OAuthAccess(fresh.AccessToken, grant);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// https, or plain http to this machine only (a local identity provider, the tests' one): the refresh
    /// token and the client secret travel in the request.
    /// </summary>
    public static bool IsAllowedTokenUrl(string? url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    /// <summary>Drops the cached access token (the server refused it), so the next call redeems the refresh token again.</summary>
    public void Forget(OAuthGrant grant) => _cache.TryRemove(CacheKey(grant), out _);

    private bool TryCached(string key, out string? token)
    {
        var margin = TimeSpan.FromSeconds(options.Value.OAuth.RefreshMarginSeconds);
        if (_cache.TryGetValue(key, out var cached) && cached.ExpiresAt - margin > clock.GetUtcNow())
        {
            token = cached.AccessToken;
            return true;
        }
        token = null;
        return false;
    }

    private async Task<(CachedToken Token, string? NewRefreshToken)> RedeemAsync(OAuthGrant grant, CancellationToken cancellationToken)
    {
        string endpoint = Uri.TryCreate(grant.TokenUrl, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path) : "(not a URL)";
        if (!IsAllowedTokenUrl(grant.TokenUrl))
            throw new OAuthGrantRejectedException($"The OAuth2 token URL '{endpoint}' is not an https URL (plain http only to this machine).");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = grant.RefreshToken,
            ["client_id"] = grant.ClientId,
            ["client_secret"] = grant.ClientSecret,
        });
        var requestedAt = clock.GetUtcNow();
        HttpResponseMessage response;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_http.Timeout); // HttpClient's own timeout ends with the headers: this one covers the body too
        try
        {
            // Headers only: the body is read below with a cap, not buffered whole by HttpClient.
            using var post = new HttpRequestMessage(HttpMethod.Post, uri) { Content = form };
            response = await _http.SendAsync(post, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (HttpRequestException ex) when (ex.InnerException is PrivateNetworkRefusedException refused)
        {
            throw new OAuthGrantRejectedException($"The OAuth2 token URL {refused.Message}");
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnavailable(endpoint, ex.GetType().Name);
            throw new OAuthProviderUnavailableException($"The OAuth2 token endpoint {endpoint} could not be reached: {ex.Message}", ex);
        }
        using (response)
        {
            string body;
            try
            {
                body = await ReadCappedAsync(response.Content, endpoint, timeout.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                LogUnavailable(endpoint, ex.GetType().Name);
                throw new OAuthProviderUnavailableException($"The OAuth2 token endpoint {endpoint} did not finish its answer: {ex.Message}", ex);
            }
            if (response.IsSuccessStatusCode)
            {
                var (accessToken, expiresIn, newRefreshToken) = ParseToken(body, endpoint);
                LogRefreshed(endpoint, expiresIn);
                // Anchored to when the request was sent: the token cannot have been issued earlier.
                return (new CachedToken(accessToken, requestedAt.AddSeconds(expiresIn)), newRefreshToken);
            }
            int status = (int)response.StatusCode;
            if (status == (int)HttpStatusCode.TooManyRequests || status >= 500)
            {
                LogUnavailable(endpoint, $"HTTP {status}");
                throw new OAuthProviderUnavailableException($"The OAuth2 token endpoint {endpoint} answered HTTP {status}; will retry.");
            }
            // 400/401 with an RFC 6749 error code: the grant or the client is wrong and retrying will not help.
            string error = ErrorCode(body);
            LogRejected(endpoint, status, error);
            throw new OAuthGrantRejectedException($"The OAuth2 provider at {endpoint} refused the refresh token (HTTP {status} {error}): connect the account again with a new refresh token.");
        }
    }

    /// <summary>A token response is a few hundred bytes; one bigger than this is refused before it is held in memory.</summary>
    public const int MaxResponseBytes = 64 * 1024;

    private async Task<string> ReadCappedAsync(HttpContent content, string endpoint, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxResponseBytes) throw TooLarge(endpoint);
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        byte[] buffer = new byte[MaxResponseBytes + 1];
        int total = 0, read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0) total += read;
        if (total > MaxResponseBytes) throw TooLarge(endpoint);
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    private OAuthProviderUnavailableException TooLarge(string endpoint)
    {
        LogUnavailable(endpoint, $"answer larger than {MaxResponseBytes / 1024} KiB");
        return new OAuthProviderUnavailableException($"The OAuth2 token endpoint {endpoint} answered more than {MaxResponseBytes / 1024} KiB, the most this server reads of a token response.");
    }

    /// <summary>The access token, its lifetime in seconds, and a new refresh token when the provider rotates them.</summary>
    private static (string AccessToken, int ExpiresIn, string? RefreshToken) ParseToken(string body, string endpoint)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("access_token", out var at) && at.ValueKind == JsonValueKind.String && at.GetString() is { Length: > 0 } accessToken)
            {
                // Providers send expires_in as a number (Google, Microsoft) or, rarely, a string; an hour when absent (RFC 6749 leaves it optional).
                long expiresIn = 3600;
                if (root.TryGetProperty("expires_in", out var e))
                {
                    if (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long n)) expiresIn = n;
                    else if (e.ValueKind == JsonValueKind.String && long.TryParse(e.GetString(), out long s)) expiresIn = s;
                }
                string? refreshToken = root.TryGetProperty("refresh_token", out var rt) && rt.ValueKind == JsonValueKind.String ? rt.GetString() : null;
                return (accessToken, (int)Math.Clamp(expiresIn, 0, 366L * 86400), refreshToken);
            }
        }
        catch (JsonException)
        {
        }
        throw new OAuthProviderUnavailableException($"The OAuth2 token endpoint {endpoint} answered without an access_token.");
    }

    private static string ErrorCode(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String)
                return e.GetString()!;
        }
        catch (JsonException)
        {
        }
        return "error";
    }

    // The cache is keyed by a hash of the whole grant: no token kept as a dictionary key in clear.
    private static string CacheKey(OAuthGrant grant)
        => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{grant.TokenUrl}\n{grant.ClientId}\n{grant.RefreshToken}")));

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 1301, Level = LogLevel.Debug, Message = "OAuth2 access token obtained from {Endpoint}, valid {Seconds} s")]
    private partial void LogRefreshed(string endpoint, int seconds);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "OAuth2 token endpoint {Endpoint} refused the refresh token: HTTP {Status} {Error}")]
    private partial void LogRejected(string endpoint, int status, string error);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "OAuth2 token endpoint {Endpoint} unavailable: {Reason}")]
    private partial void LogUnavailable(string endpoint, string reason);
}
