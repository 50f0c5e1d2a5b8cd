using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace Nylas.DevTool.Api;

/// <summary>Waits until the API serves as many messages as the IMAP INBOX holds.</summary>
internal static class SyncWaiter
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(2);

    public static async Task WaitAsync(ApiClient api, string accessToken, ImapSettings imap, TimeSpan timeout, CancellationToken ct)
    {
        // The first product version syncs INBOX only, so INBOX is what the API must catch up with.
        var expected = await ImapSession.CountInboxAsync(imap, ct);
        Log.Info($"waiting until the API serves all {expected} INBOX messages (timeout {Seconds(timeout)} s)");

        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long? count = null;
        string? lastError = null;
        while (true)
        {
            try
            {
                var response = await api.CountMessagesAsync(accessToken, ct);
                if (response.IsSuccess)
                {
                    count = ReadCount(response);
                    lastError = null;
                }
                else if (IsTransient(response.Status))
                    lastError = response.Describe();
                else
                    throw response.Failure("counting messages"); // e.g. 401: waiting will not help
            }
            catch (ApiUnreachableException ex)
            {
                lastError = ex.Message; // the API may still be starting
            }

            if (count >= expected)
            {
                Log.Info($"synced: API has {count} of {expected} messages after {Seconds(clock.Elapsed)} s");
                return;
            }

            var status = $"API has {count?.ToString(CultureInfo.InvariantCulture) ?? "?"} of {expected} messages" +
                         (lastError is null ? "" : $" (last error: {lastError})");
            if (clock.Elapsed >= timeout)
                throw new ToolException($"timed out: {status} after {Seconds(timeout)} s");
            if (clock.Elapsed - lastReport >= ReportInterval)
            {
                Log.Info($"{status}, {Seconds(clock.Elapsed)} s");
                lastReport = clock.Elapsed;
            }
            await Task.Delay(PollInterval, ct);
        }
    }

    // Server errors and throttling can pass while the account is being set up; client errors won't.
    private static bool IsTransient(HttpStatusCode status) =>
        (int)status >= 500 || status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;

    private static long ReadCount(ApiResponse response)
    {
        if (response.Json is JsonObject obj && obj["count"] is JsonValue value && value.TryGetValue<long>(out var count))
            return count;
        throw new ToolException($"unexpected answer from GET {response.Url}: expected {{\"count\": N}}, got {response.Body.ReplaceLineEndings(" ")}");
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}
