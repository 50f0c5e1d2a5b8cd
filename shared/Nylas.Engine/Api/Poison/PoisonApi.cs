using System.Text.Json;
using Microsoft.AspNetCore.Http;
using MySqlConnector;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Hosting;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Poison;

/// <summary>A parked queue message as the application sees it.</summary>
public sealed record ApiPoisonedMessage(string Id, string Queue, string Reason, string Error, long DeliveryCount, long? ParkedAt, IReadOnlyList<string> AccountIds);

public sealed record ApiPoisonList(string Queue, IReadOnlyList<ApiPoisonedMessage> Messages);

public sealed record ApiPoisonReplay(string Queue, int Replayed, IReadOnlyList<string> Ids);

/// <summary>
/// <c>/a/{client_id}/poison</c> (client-secret auth): the work the delivery policy parked (<see cref="PoisonQueues"/>), listed
/// and replayed. The queues serve every application of this server, so an application sees and replays only the messages
/// whose work is for its own accounts; a message whose body names no account is for the operator's admin command alone.
/// </summary>
public sealed class PoisonApi(PoisonQueues poison, ShardDirectory shards)
{
    private static readonly string[] ReplayFields = ["queue", "ids", "all"];

    /// <summary>GET: <c>?queue=ingest|webhooks</c> (ingest by default), the front of the poison queue.</summary>
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var (query, error) = QueryParameters.Parse(http.Request.Query, "queue");
        if (query is null) return error!;
        string queue = http.Request.Query["queue"].FirstOrDefault() ?? PoisonQueues.Ingest;
        if (!PoisonQueues.Names.Contains(queue)) return ApiResult.BadRequest($"queue must be {string.Join(" or ", PoisonQueues.Names)}.");
        var parked = await poison.ListAsync(queue, PoisonQueues.MaxListed, http.RequestAborted);
        var owned = await OwnedAccountsAsync(http, parked, http.RequestAborted);
        return ApiResult.Json(new ApiPoisonList(queue, [.. parked.Where(p => IsOwned(p, owned)).Select(p => ToApi(p, owned))]));
    }

    /// <summary>POST /replay: <c>{"queue": "ingest", "ids": ["…"]}</c> or <c>{"queue": "ingest", "all": true}</c>.</summary>
    public async Task<ApiResult> ReplayAsync(HttpContext http)
    {
        var (root, error) = await ConnectApi.ReadJsonObjectAsync(http.Request, http.RequestAborted);
        if (root is not { } body) return error!;
        foreach (var field in body.EnumerateObject())
            if (!ReplayFields.Contains(field.Name))
                return ApiResult.BadRequest($"Unknown field '{field.Name}': {string.Join(", ", ReplayFields)} are accepted.");
        string queue = PoisonQueues.Ingest;
        if (body.TryGetProperty("queue", out var q) && q.ValueKind != JsonValueKind.Null)
        {
            if (q.ValueKind != JsonValueKind.String || !PoisonQueues.Names.Contains(q.GetString()))
                return ApiResult.BadRequest($"queue must be {string.Join(" or ", PoisonQueues.Names)}.");
            queue = q.GetString()!;
        }
        bool all = body.TryGetProperty("all", out var a) && a.ValueKind == JsonValueKind.True;
        if (body.TryGetProperty("all", out a) && a.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            return ApiResult.BadRequest("all must be true or false.");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (body.TryGetProperty("ids", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array || list.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
                return ApiResult.BadRequest("ids must be an array of parked message ids (from GET /a/{client_id}/poison).");
            foreach (var id in list.EnumerateArray()) ids.Add(id.GetString()!);
        }
        if (all == (ids.Count > 0)) return ApiResult.BadRequest("Give either ids (a non-empty array) or \"all\": true.");

        var application = http.CallerApplication();
        // Ownership is checked per message as replay meets it: the account ids come from the body it replays.
        var owned = new Dictionary<long, string>();
        var replayed = await poison.ReplayAsync(queue, async (p, ct) =>
        {
            if (!all && !ids.Contains(p.Id)) return false;
            foreach (var (id, publicId) in await OwnedAccountsAsync(application.Id, [.. p.AccountIds.Where(x => !owned.ContainsKey(x))], ct))
                owned[id] = publicId;
            return IsOwned(p, owned);
        }, http.RequestAborted);
        return ApiResult.Json(new ApiPoisonReplay(queue, replayed.Count, [.. replayed.Select(p => p.Id)]));
    }

    private static bool IsOwned(PoisonedMessage p, Dictionary<long, string> owned) => p.AccountIds.Count > 0 && p.AccountIds.All(owned.ContainsKey);

    private static ApiPoisonedMessage ToApi(PoisonedMessage p, Dictionary<long, string> owned)
        => new(p.Id, p.Queue, p.Reason, p.Error, p.DeliveryCount, p.ParkedAt?.ToUnixTimeSeconds(), [.. p.AccountIds.Select(a => owned[a])]);

    private Task<Dictionary<long, string>> OwnedAccountsAsync(HttpContext http, IReadOnlyList<PoisonedMessage> parked, CancellationToken cancellationToken)
        => OwnedAccountsAsync(http.CallerApplication().Id, [.. parked.SelectMany(p => p.AccountIds).Distinct()], cancellationToken);

    /// <summary>Which of these accounts (row ids) are the application's, with their public ids.</summary>
    private async Task<Dictionary<long, string>> OwnedAccountsAsync(long applicationId, IReadOnlyList<long> accountIds, CancellationToken cancellationToken)
    {
        var owned = new Dictionary<long, string>();
        if (accountIds.Count == 0) return owned;
        await using var cmd = shards.Global.CreateCommand("");
        cmd.CommandText = $"SELECT id, public_id FROM accounts WHERE application_id = @app AND id IN ({Sql.InList(cmd, accountIds.Cast<object>().ToList(), "a")})";
        cmd.Parameters.Add(new MySqlParameter("@app", applicationId));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) owned[r.GetInt64(0)] = r.GetString(1);
        return owned;
    }
}
