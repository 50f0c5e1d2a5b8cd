using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Webhooks;

/// <summary>What one POST to a callback gave: the status code (null when no answer came) and the error, if any.</summary>
public sealed record CallbackAnswer(int? StatusCode, TimeSpan Latency, string? Error)
{
    /// <summary>Only a 2xx acknowledges a delivery; a redirect, a 4xx or 5xx, a timeout or a reset connection does not.</summary>
    public bool Acknowledged => StatusCode is >= 200 and < 300;
}

/// <summary>The requests this server makes to callbacks: the challenge when a subscription is created, and deliveries.</summary>
public sealed class CallbackClient(CallbackTargets targets, IOptions<NylasOptions> options) : IDisposable
{
    public const string SignatureHeader = "X-Nylas-Signature";
    public const string DeliveryIdHeader = "X-Nylas-Delivery-Id";
    public const string CursorStartHeader = "X-Nylas-Cursor-Start";
    public const string CursorEndHeader = "X-Nylas-Cursor-End";
    public const string AccountHeader = "X-Nylas-Account-Id";

    /// <summary>Bodies of answers are read only this far: a receiver's answer is not ours to keep.</summary>
    private const int MaxAnswerBytes = 4096;

    private readonly HttpClient _http = targets.CreateHttpClient();

    /// <summary>Lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the client secret (the v2 signature).</summary>
    public static string Sign(ReadOnlySpan<byte> body, string clientSecret)
        => Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(clientSecret), body));

    /// <summary>
    /// <c>GET callback?challenge=…</c> must answer 200 with exactly the challenge as its body within
    /// <c>ChallengeTimeoutSeconds</c>. Null when it did, else what went wrong (for a 400 naming callback_url).
    /// </summary>
    public async Task<string?> VerifyAsync(Uri callback, CancellationToken cancellationToken)
    {
        string challenge = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var url = new UriBuilder(callback) { Query = (callback.Query.Length > 1 ? callback.Query[1..] + "&" : "") + "challenge=" + challenge }.Uri;
        int seconds = options.Value.Webhooks.ChallengeTimeoutSeconds;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            string body = await ReadLimitedAsync(response.Content, challenge.Length + 64, timeout.Token);
            if ((int)response.StatusCode != 200) return $"the challenge request answered {(int)response.StatusCode}, not 200.";
            return body == challenge ? null : "the challenge request answered 200, but its body was not exactly the challenge value.";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return $"the challenge request got no answer within {seconds} s.";
        }
        catch (HttpRequestException ex)
        {
            return $"the challenge request failed: {ex.Message}";
        }
    }

    /// <summary>POSTs one signed delivery; never throws for the receiver's failure (it is the answer).</summary>
    public async Task<CallbackAnswer> PostAsync(Uri callback, byte[] body, string signature, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        int seconds = options.Value.Webhooks.ResponseTimeoutSeconds;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        using var request = new HttpRequestMessage(HttpMethod.Post, callback) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(SignatureHeader, signature);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        request.Headers.UserAgent.ParseAdd("Nylas-Engine-Webhooks/1");
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            // Read (a little of) the answer so the connection can be reused, within the same timeout.
            await ReadLimitedAsync(response.Content, MaxAnswerBytes, timeout.Token);
            int status = (int)response.StatusCode;
            string? error = status is >= 200 and < 300 ? null : status is >= 300 and < 400 ? $"redirect {status} (not followed)" : $"HTTP {status}";
            return new CallbackAnswer(status, Stopwatch.GetElapsedTime(started), error);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new CallbackAnswer(null, Stopwatch.GetElapsedTime(started), $"no answer within {seconds} s");
        }
        catch (HttpRequestException ex)
        {
            return new CallbackAnswer(null, Stopwatch.GetElapsedTime(started), ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message);
        }
    }

    private static async Task<string> ReadLimitedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxBytes];
        int total = 0;
        while (total < maxBytes)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (n == 0) break;
            total += n;
        }
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    public void Dispose() => _http.Dispose();
}
