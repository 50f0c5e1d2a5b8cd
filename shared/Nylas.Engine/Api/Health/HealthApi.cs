using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Api.Health;

/// <summary>
/// GET /health: each dependency checked for real, with its latency; 503 when any is down. The ingest transport is the
/// one in use: "queue" (the storage queue) or "servicebus" (a peek at the ingest queue).
/// </summary>
public sealed class HealthApi(ShardDirectory shards, RawMailStore rawMail, IIngestTransportCheck transport, IAccountSyncControl syncControl)
{
    public sealed record Check(bool Ok, long Ms, string? Error);

    public async Task<ApiResult> GetAsync(HttpContext http)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var ct = timeout.Token;

        var checks = new Dictionary<string, Task<Check>>
        {
            ["mysql_global"] = Run(async () => { await using var c = await shards.Global.OpenConnectionAsync(ct); await c.PingAsync(ct); }),
            ["blob"] = Run(async () => { if (!await rawMail.ContainerExistsAsync(ct)) throw new InvalidOperationException("raw-mail container missing"); }),
            [transport.Name] = Run(() => transport.CheckAsync(ct)),
            // The status of an account that cannot exist (id 0) still goes through the durable backend's storage.
            ["durable"] = Run(async () => await syncControl.GetStatusAsync(0, ct)),
        };
        foreach (int shardId in shards.ShardIds.Order())
            checks[$"mysql_shard{shardId}"] = Run(async () => { await using var c = await shards.Shard(shardId).OpenConnectionAsync(ct); await c.PingAsync(ct); });

        await Task.WhenAll(checks.Values);
        var results = checks.ToDictionary(kv => kv.Key, kv => kv.Value.Result);
        bool ok = results.Values.All(c => c.Ok);
        return ApiResult.Json(new { status = ok ? "ok" : "unavailable", checks = results },
            ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<Check> Run(Func<Task> probe)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            await probe();
            return new Check(true, sw.ElapsedMilliseconds, null);
        }
        catch (Exception ex)
        {
            return new Check(false, sw.ElapsedMilliseconds, $"{ex.GetType().Name}: {ex.Message.Split('\n', 2)[0]}");
        }
    }
}
