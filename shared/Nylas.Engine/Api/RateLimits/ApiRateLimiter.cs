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

    public ApiRateLimiter(IOptions<NylasOptions> options)
    {
        _options = options.Value.Api;
        if (_options.RateLimitPerSecond <= 0) return; // 0 turns limiting off (benchmarks, trusted networks)
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = _options.RateLimitBurst,
            TokensPerPeriod = _options.RateLimitPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Takes one request from the credential's bucket; null when allowed, else the 429 to answer.</summary>
    public ApiResult? Acquire(HttpResponse response, string kind, string credential)
    {
        if (_limiter is null) return null;
        // The raw credential is not kept as a key in memory.
        string key = kind + ":" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(credential)), 0, 16);
        using var lease = _limiter.AttemptAcquire(key);
        long remaining = _limiter.GetStatistics(key)?.CurrentAvailablePermits ?? 0;
        double secondsToFull = (_options.RateLimitBurst - remaining) / (double)_options.RateLimitPerSecond;
        var headers = response.Headers;
        headers["X-RateLimit-Limit"] = _options.RateLimitBurst.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = DateTimeOffset.UtcNow.AddSeconds(Math.Ceiling(secondsToFull)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        if (lease.IsAcquired) return null;
        int retryAfter = (int)Math.Max(1, Math.Ceiling(1.0 / _options.RateLimitPerSecond));
        headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return ApiResult.Error(StatusCodes.Status429TooManyRequests, "rate_limit_error",
            $"Too many requests: at most {_options.RateLimitPerSecond} per second (bursts of {_options.RateLimitBurst}) per credential; retry after {retryAfter} s.");
    }

    public void Dispose() => _limiter?.Dispose();
}
