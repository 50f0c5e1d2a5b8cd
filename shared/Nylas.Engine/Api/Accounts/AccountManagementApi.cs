using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Accounts;

/// <summary>
/// The application's management of one account (client-secret auth): read, downgrade (stop sync),
/// upgrade (resume), revoke its tokens, delete it; and POST /oauth/revoke (account-token auth). An
/// account of another application is a 404, exactly like an unknown id.
/// </summary>
public sealed class AccountManagementApi(AccountStore accounts, AccountLifecycle lifecycle, AccountDeletions deletions)
{
    /// <summary>How long DELETE waits for its job before answering anyway: a small account is gone when the client reads the answer.</summary>
    private static readonly TimeSpan DeletionAnswerWait = TimeSpan.FromSeconds(30);

    public Task<ApiResult> GetAsync(HttpContext http, string id)
        => WithAccountAsync(http, id, account => Task.FromResult(ApiResult.Json(AccountsApi.ToApi(account))));

    public Task<ApiResult> DowngradeAsync(HttpContext http, string id)
        => WithAccountAsync(http, id, async account =>
        {
            await lifecycle.DowngradeAsync(account, http.RequestAborted);
            return ApiResult.Json(new ApiSuccess(true));
        });

    public Task<ApiResult> UpgradeAsync(HttpContext http, string id)
        => WithAccountAsync(http, id, async account =>
        {
            await lifecycle.UpgradeAsync(account, http.RequestAborted);
            return ApiResult.Json(new ApiSuccess(true));
        });

    /// <summary>Body (optional): <c>{"keep_access_token": "…"}</c> keeps that one token.</summary>
    public Task<ApiResult> RevokeAllAsync(HttpContext http, string id)
        => WithAccountAsync(http, id, async account =>
        {
            var (root, error) = await ConnectApi.ReadJsonObjectAsync(http.Request, http.RequestAborted, allowEmpty: true);
            if (root is not { } body) return error!;
            string? keep = null;
            if (body.TryGetProperty("keep_access_token", out var k) && k.ValueKind != JsonValueKind.Null)
            {
                if (k.ValueKind != JsonValueKind.String) return ApiResult.BadRequest("keep_access_token must be a string (an access token of this account).");
                keep = k.GetString();
            }
            await lifecycle.RevokeAllTokensAsync(account.Id, keep, http.RequestAborted);
            return ApiResult.Json(new ApiSuccess(true));
        });

    /// <summary>
    /// Deletes the account and everything it owns. The SDK sends a JSON body (<c>{}</c>, as text/plain); it is not needed.
    /// Once the account is marked deleting the job runs under its own token (<see cref="AccountDeletions"/>): the answer
    /// waits for it, up to <see cref="DeletionAnswerWait"/>, but a client that goes away does not stop it.
    /// </summary>
    public Task<ApiResult> DeleteAsync(HttpContext http, string id)
        => WithAccountAsync(http, id, async account =>
        {
            var job = await deletions.StartAsync(account);
            try
            {
                await job.WaitAsync(DeletionAnswerWait, http.RequestAborted);
            }
            catch (TimeoutException)
            {
                // A large account: the job goes on; the account already answers 404 and its tokens are revoked.
            }
            return ApiResult.Json(new ApiSuccess(true));
        }, includeDeleting: true);

    /// <summary>POST /oauth/revoke: revokes the access token the request is made with (also for a stopped account).</summary>
    public async Task<ApiResult> RevokeTokenAsync(HttpContext http)
    {
        await lifecycle.RevokeTokenAsync(http.CallerAccessToken(), http.RequestAborted);
        return ApiResult.Json(new ApiSuccess(true));
    }

    private async Task<ApiResult> WithAccountAsync(HttpContext http, string id, Func<Account, Task<ApiResult>> action, bool includeDeleting = false)
    {
        var account = await accounts.FindForApplicationAsync(http.CallerApplication().Id, id, http.RequestAborted);
        if (account is null || (!includeDeleting && account.SyncState == SyncStates.Deleting))
            return ApiResult.NotFound($"No account '{id}' in this application.");
        return await action(account);
    }
}

/// <summary>The answer of management actions, as the v2 API gave it.</summary>
public sealed record ApiSuccess(bool Success);
