using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Contacts;

/// <summary>GET /contacts (filter <c>email</c>: one exact address) and GET /contacts/{id}, read-only: ingest derives contacts from mail.</summary>
public sealed class ContactsApi(ShardDirectory shards)
{
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest("email");
        if (request is null) return error!;
        var (account, query) = request;
        var (email, emailError) = QueryParameters.Text(http.Request.Query, "email");
        if (emailError is not null) return emailError;

        // Ingest stores addresses lower-cased, so the filter is too.
        string where = email is null ? "" : " AND email = @email";
        await using var cmd = shards.Shard(account.ShardId).CreateCommand(query.View == "count"
            ? $"SELECT COUNT(*) FROM contacts WHERE account_id = @account{where}"
            : $"SELECT public_id, name, email FROM contacts WHERE account_id = @account{where} ORDER BY id LIMIT @limit OFFSET @offset");
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@email", email?.ToLowerInvariant());
        cmd.Parameters.AddWithValue("@limit", query.Limit);
        cmd.Parameters.AddWithValue("@offset", query.Offset);
        if (query.View == "count") return ApiResult.Json(new ApiCount(Convert.ToInt64(await cmd.ExecuteScalarAsync(ct))));

        var contacts = new List<ApiContact>();
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) contacts.Add(new ApiContact { Id = r.GetString(0), AccountId = account.PublicId, Name = r.GetString(1), Email = r.GetString(2) });
        return query.View == "ids" ? ApiResult.Json(contacts.Select(c => c.Id).ToList()) : ApiResult.Json(contacts);
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("contact", id);
        if (request is null) return error!;
        var (account, query) = request;
        var contact = await FindAsync(account, id, ct);
        return contact is null ? ApiResult.NotFound($"Couldn't find contact {id}") : ApiResult.Json(contact);
    }

    /// <summary>One contact, or null (also what /delta renders).</summary>
    internal async Task<ApiContact?> FindAsync(Account account, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("SELECT public_id, name, email FROM contacts WHERE account_id = @account AND public_id = @pid");
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken)
            ? new ApiContact { Id = r.GetString(0), AccountId = account.PublicId, Name = r.GetString(1), Email = r.GetString(2) }
            : null;
    }
}
