using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Calendars;

/// <summary>GET /calendars and GET /calendars/{id}, read-only (the calendar of invitations found in mail).</summary>
public sealed class CalendarsApi(ShardDirectory shards)
{
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest();
        if (request is null) return error!;
        var (account, query) = request;
        // An account has a handful of calendars: one query, paged here.
        var all = await LoadAsync(account, null, ct);
        var page = all.Skip(query.Offset).Take(query.Limit);
        return query.View switch
        {
            "count" => ApiResult.Json(new ApiCount(all.Count)),
            "ids" => ApiResult.Json(page.Select(c => c.Id).ToList()),
            _ => ApiResult.Json(page.ToList()),
        };
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("calendar", id);
        if (request is null) return error!;
        var (account, query) = request;
        var calendar = (await LoadAsync(account, id, ct)).FirstOrDefault();
        return calendar is null ? ApiResult.NotFound($"Couldn't find calendar {id}") : ApiResult.Json(calendar);
    }

    /// <summary>All calendars, or the one with <paramref name="publicId"/> (also what /delta renders).</summary>
    internal async Task<List<ApiCalendar>> LoadAsync(Account account, string? publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand($"""
            SELECT public_id, name, description, read_only FROM calendars
            WHERE account_id = @account{(publicId is null ? "" : " AND public_id = @pid")} ORDER BY id
            """);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        var calendars = new List<ApiCalendar>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            calendars.Add(new ApiCalendar { Id = r.GetString(0), AccountId = account.PublicId, Name = r.GetString(1), Description = r.GetString(2), ReadOnly = r.GetBoolean(3) });
        return calendars;
    }
}
