using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Api.RateLimits;

/// <summary>
/// Requests per credential (an access token, or an application's client id): a token bucket of
/// <see cref="ApiOptions.RateLimitBurst"/> requests refilled at <see cref="ApiOptions.RateLimitPerSecond"/>.
/// Every answer carries <c>X-RateLimit-Limit</c>, <c>X-RateLimit-Remaining</c> and <c>X-RateLimit-Reset</c>
/// (Unix seconds when the bucket is full again); an empty bucket answers 429 with <c>Retry-After</c>.
/// The buckets live in the process: with several Functions instances each has its own.
/// </summary>
public sealed class ApiRateLimiter : IDisposable
{
    private readonly ApiOptions _options;
    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly PartitionedRateLimiter<string>? _addressLimiter;

    private readonly int _connectAttemptsPerMinute;
    private readonly PartitionedRateLimiter<string>? _connectLimiter;

    public ApiRateLimiter(IOptions<NylasOptions> options)
    {
        _options = options.Value.Api;
        _connectAttemptsPerMinute = options.Value.Connect.AttemptsPerMinutePerAddress;
        // A full minute's worth at once, then one every 60/N s.
        if (_connectAttemptsPerMinute > 0)
            _connectLimiter = TokenBuckets(_connectAttemptsPerMinute, 1, TimeSpan.FromSeconds(60.0 / _connectAttemptsPerMinute));
        if (_options.RateLimitPerSecond <= 0) return; // 0 turns limiting off (benchmarks, trusted networks)
        _limiter = TokenBuckets(_options.RateLimitBurst, _options.RateLimitPerSecond, TimeSpan.FromSeconds(1));
        if (_options.RateLimitPerAddressPerSecond <= 0) return;
        _addressLimiter = TokenBuckets(_options.RateLimitPerAddressBurst, _options.RateLimitPerAddressPerSecond, TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Takes one request from the client address's bucket, before any credential is looked up: a flood of made-up
    /// tokens from one address is refused without a database query. Null when allowed, else the 429 to answer.
    /// </summary>
    public ApiResult? AcquireAddress(HttpContext http)
    {
        if (_addressLimiter is null) return null;
        string key = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using var lease = _addressLimiter.AttemptAcquire(key);
        if (lease.IsAcquired) return null;
        http.Response.Headers.RetryAfter = "1";
        return ApiResult.Error(StatusCodes.Status429TooManyRequests, "rate_limit_error",
            $"Too many requests from this address: at most {_options.RateLimitPerAddressPerSecond} per second (bursts of {_options.RateLimitPerAddressBurst}); retry after 1 s.");
    }

    /// <summary>
    /// The 429 when the credential's bucket is already empty, without taking from it: checked before the credential
    /// is looked up, so a caller over its limit costs no query. Null otherwise (also for a credential never seen).
    /// </summary>
    public ApiResult? Exhausted(HttpResponse response, string kind, string credential)
    {
        if (_limiter is null) return null;
        string key = KeyOf(kind, credential);
        using var lease = _limiter.AttemptAcquire(key, permitCount: 0);
        return lease.IsAcquired ? null : Refuse(response, key);
    }

    // The raw credential is not kept as a key in memory.
    private static string KeyOf(string kind, string credential)
        => kind + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential)), 0, 16);

    /// <summary>Takes one request from the credential's bucket; null when allowed, else the 429 to answer.</summary>
    public ApiResult? Acquire(HttpResponse response, string kind, string credential)
    {
        if (_limiter is null) return null;
        string key = KeyOf(kind, credential);
        using var lease = _limiter.AttemptAcquire(key);
        if (!lease.IsAcquired) return Refuse(response, key);
        SetHeaders(response, key);
        return null;
    }

    private ApiResult Refuse(HttpResponse response, string key)
    {
        var headers = SetHeaders(response, key);
        int retryAfter = (int)Math.Max(1, Math.Ceiling(1.0 / _options.RateLimitPerSecond));
        headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return ApiResult.Error(StatusCodes.Status429TooManyRequests, "rate_limit_error",
            $"Too many requests: at most {_options.RateLimitPerSecond} per second (bursts of {_options.RateLimitBurst}) per credential; retry after {retryAfter} s.");
    }

    private IHeaderDictionary SetHeaders(HttpResponse response, string key)
    {
        long remaining = _limiter!.GetStatistics(key)?.CurrentAvailablePermits ?? 0;
        double secondsToFull = (_options.RateLimitBurst - remaining) / (double)_options.RateLimitPerSecond;
        var headers = response.Headers;
        headers["X-RateLimit-Limit"] = _options.RateLimitBurst.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = DateTimeOffset.UtcNow.AddSeconds(Math.Ceiling(secondsToFull)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return headers;
    }

    /// <summary>
    /// One attempt of POST /connect/authorize from the client's address (<c>Nylas:Connect:AttemptsPerMinutePerAddress</c>),
    /// on top of the application's bucket: a client id is public, so without it anyone could make this server try
    /// connections at the application's whole rate. The address is <c>HttpContext.Connection.RemoteIpAddress</c>: behind
    /// a proxy that is the proxy's unless forwarded headers are applied (the Functions host's ASP.NET Core integration
    /// applies X-Forwarded-For). IPv6 clients count per /64, the least a site is given. Null when allowed, else the 429.
    /// </summary>
    public ApiResult? AcquireConnectAttempt(HttpContext http)
    {
        if (_connectLimiter is null || http.Connection.RemoteIpAddress is not { } remote) return null;
        if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
        string key = remote.ToString();
        if (remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            byte[] prefix = remote.GetAddressBytes();
            Array.Clear(prefix, 8, 8);
            key = new System.Net.IPAddress(prefix) + "/64";
        }
        using var lease = _connectLimiter.AttemptAcquire(key);
        if (lease.IsAcquired) return null;
        int retryAfter = (int)Math.Ceiling(60.0 / _connectAttemptsPerMinute);
        http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return ApiResult.Error(StatusCodes.Status429TooManyRequests, "rate_limit_error",
            $"Too many connection attempts from this address: at most {_connectAttemptsPerMinute} a minute; retry after {retryAfter} s.");
    }

    /// <summary>One token bucket per key: <paramref name="burst"/> at once, refilled by <paramref name="perPeriod"/> every <paramref name="period"/>.</summary>
    private static PartitionedRateLimiter<string> TokenBuckets(int burst, int perPeriod, TimeSpan period)
        => PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    public void Dispose()
    {
        _limiter?.Dispose();
        _addressLimiter?.Dispose();
        _connectLimiter?.Dispose();
    }
}
