using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Delta;

/// <summary>
/// The change feed, v2 shapes: POST /delta/latest_cursor and /delta/generate_cursor, GET /delta (one page),
/// /delta/longpoll (answers as soon as something passes the filter, or at the timeout) and /delta/streaming
/// (newline-delimited deltas for as long as the client stays, a bare newline as heartbeat).
/// </summary>
public sealed partial class DeltaApi(ChangeFeed feed, ChangeNotifier notifier, DeltaObjects objects, IOptions<NylasOptions> options, ILogger<DeltaApi> logger)
{
    /// <summary>v2's long-poll default.</summary>
    private static readonly TimeSpan DefaultLongPoll = TimeSpan.FromSeconds(120);

    private readonly ConcurrentDictionary<long, int> _longRequests = new();

    private DeltaOptions Settings => options.Value.Delta;

    public async Task<ApiResult> LatestCursorAsync(HttpContext http)
    {
        var account = http.CallerAccount();
        long latest = await feed.LatestSeqAsync(account.ShardId, account.Id, http.RequestAborted);
        return ApiResult.Json(new Dictionary<string, string> { ["cursor"] = ChangeCursor.Encode(account.PublicId, latest) });
    }

    /// <summary>A cursor just before the first change at or after <c>start</c> (Unix seconds), as the open-source v2 engine offered.</summary>
    public async Task<ApiResult> GenerateCursorAsync(HttpContext http)
    {
        var account = http.CallerAccount();
        var (root, error) = await ConnectApi.ReadJsonObjectAsync(http.Request, http.RequestAborted);
        if (root is null) return error!;
        if (!root.Value.TryGetProperty("start", out var start) || start.ValueKind != JsonValueKind.Number || !start.TryGetInt64(out long unix) || unix < 0
            || unix > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            return ApiResult.BadRequest("start is required: a Unix timestamp in seconds.");
        long seq = await feed.SeqBeforeAsync(account.ShardId, account.Id, DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime, http.RequestAborted);
        return ApiResult.Json(new Dictionary<string, string> { ["cursor"] = ChangeCursor.Encode(account.PublicId, seq) });
    }

    public async Task<ApiResult> GetAsync(HttpContext http)
    {
        var account = http.CallerAccount();
        var (request, error) = await ParseAsync(http, account, takesTimeout: false, null);
        if (request is null) return error!;
        try
        {
            var (deltas, endSeq, _) = await ReadPageAsync(account, request, request.AfterSeq, http.RequestAborted);
            return ApiResult.Json(Page(account, request, endSeq, deltas));
        }
        catch (ChangeLogExpiredException ex)
        {
            return Expired(ex);
        }
    }

    public async Task<ApiResult> LongPollAsync(HttpContext http)
    {
        var account = http.CallerAccount();
        var (request, error) = await ParseAsync(http, account, takesTimeout: true, DefaultLongPoll);
        if (request is null) return error!;
        if (!TryEnterLongRequest(account)) return TooManyLongRequests();
        try
        {
            var deadline = DateTimeOffset.UtcNow + request.Timeout!.Value;
            long position = request.AfterSeq;
            while (true)
            {
                var (deltas, endSeq, full) = await ReadPageAsync(account, request, position, http.RequestAborted);
                position = endSeq;
                if (deltas.Count > 0) return ApiResult.Json(Page(account, request, position, deltas));
                if (full) continue; // everything read was filtered out and more is waiting
                var left = deadline - DateTimeOffset.UtcNow;
                if (left <= TimeSpan.Zero || !await notifier.WaitAsync(account.ShardId, account.Id, position, left, http.RequestAborted))
                    return ApiResult.Json(Page(account, request, position, []));
            }
        }
        catch (ChangeLogExpiredException ex)
        {
            return Expired(ex);
        }
        finally
        {
            LeaveLongRequest(account);
        }
    }

    public async Task<ApiResult> StreamAsync(HttpContext http)
    {
        var account = http.CallerAccount();
        var (request, error) = await ParseAsync(http, account, takesTimeout: true, null);
        if (request is null) return error!;
        // An expired cursor must be a 410, which is only possible before the 200 starts.
        try { await feed.ReadAsync(account.ShardId, account.Id, request.AfterSeq, 1, http.RequestAborted); }
        catch (ChangeLogExpiredException ex) { return Expired(ex); }
        if (!TryEnterLongRequest(account)) return TooManyLongRequests();

        return ApiResult.Streaming("application/x-ndjson", async response =>
        {
            var ct = http.RequestAborted;
            var heartbeat = TimeSpan.FromSeconds(Settings.StreamHeartbeatSeconds);
            var end = request.Timeout is { } t ? DateTimeOffset.UtcNow + t : DateTimeOffset.MaxValue;
            long position = request.AfterSeq;
            try
            {
                // Headers out at once: a client (and every proxy between) sees the stream is open before the first change.
                await response.Body.FlushAsync(ct);
                while (DateTimeOffset.UtcNow < end)
                {
                    var (deltas, endSeq, full) = await ReadPageAsync(account, request, position, ct);
                    position = endSeq;
                    foreach (var delta in deltas)
                    {
                        await JsonSerializer.SerializeAsync(response.Body, delta, ApiJson.Options, ct);
                        await response.Body.WriteAsync("\n"u8.ToArray(), ct);
                    }
                    if (deltas.Count > 0) await response.Body.FlushAsync(ct);
                    if (full) continue;
                    var wait = end - DateTimeOffset.UtcNow < heartbeat ? end - DateTimeOffset.UtcNow : heartbeat;
                    if (wait > TimeSpan.Zero && !await notifier.WaitAsync(account.ShardId, account.Id, position, wait, ct))
                    {
                        await response.Body.WriteAsync("\n"u8.ToArray(), ct);
                        await response.Body.FlushAsync(ct);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client left: the ordinary end of a stream.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Headers are out, so no error body: end the stream; the client resumes from the last cursor it saw.
                LogStreamEnded(account.Id, ex.GetType().Name);
            }
            finally
            {
                LeaveLongRequest(account);
            }
        });
    }

    private async Task<(DeltaRequest? Request, ApiResult? Error)> ParseAsync(HttpContext http, Account account, bool takesTimeout, TimeSpan? defaultTimeout)
    {
        long latest = await feed.LatestSeqAsync(account.ShardId, account.Id, http.RequestAborted);
        return DeltaRequest.Parse(http.Request.Query, account.PublicId, latest, takesTimeout, defaultTimeout, Settings.MaxLongPollSeconds);
    }

    /// <summary>One page after <paramref name="afterSeq"/>: its deltas, where it ended, and whether it was full (more may follow at once).</summary>
    private async Task<(List<ApiDelta> Deltas, long EndSeq, bool Full)> ReadPageAsync(Account account, DeltaRequest request, long afterSeq, CancellationToken ct)
    {
        var page = await feed.ReadAsync(account.ShardId, account.Id, afterSeq, request.Limit, ct);
        var deltas = await objects.RenderAsync(account, page.Entries, request.Wanted, request.Expanded, ct);
        long end = page.Entries.Count > 0 ? page.Entries[^1].Seq : afterSeq;
        return (deltas, end, page.Entries.Count == request.Limit);
    }

    /// <summary>cursor_start echoes the cursor asked for (v2 did); cursor_end is where the next request continues.</summary>
    private static ApiDeltaPage Page(Account account, DeltaRequest request, long endSeq, List<ApiDelta> deltas)
        => new(request.Cursor, endSeq == request.AfterSeq ? request.Cursor : ChangeCursor.Encode(account.PublicId, endSeq), deltas);

    private static ApiResult Expired(ChangeLogExpiredException ex) => ApiResult.Error(StatusCodes.Status410Gone, "invalid_request_error",
        $"This cursor is older than the change log's retention ({ex.Retention.TotalDays:0.#} days): the changes after it are no longer kept. " +
        "Re-read the objects you need, then continue from POST /delta/latest_cursor.");

    private ApiResult TooManyLongRequests() => ApiResult.Error(StatusCodes.Status429TooManyRequests, "rate_limit_error",
        $"This account already has {Settings.MaxLongRequestsPerAccount} long polls or streams open; close one first.");

    private bool TryEnterLongRequest(Account account)
    {
        int max = Settings.MaxLongRequestsPerAccount;
        while (true)
        {
            int open = _longRequests.GetOrAdd(account.Id, 0);
            if (open >= max) return false;
            if (_longRequests.TryUpdate(account.Id, open + 1, open)) return true;
        }
    }

    private void LeaveLongRequest(Account account) => _longRequests.AddOrUpdate(account.Id, 0, (_, open) => Math.Max(0, open - 1));

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Account {AccountId}: delta stream ended by {Error}")]
    private partial void LogStreamEnded(long accountId, string error);
}
