using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Api.RateLimits;

namespace Nylas.Engine.Api.Routing;

/// <summary>
/// What every request goes through, in both hosts, before and around its handler: a correlation id
/// (<c>X-Request-Id</c>, echoed and put in the log scope), <c>X-Content-Type-Options: nosniff</c>, the request
/// body limit (413), the per-address rate limit, authentication by the route's <see cref="ApiAccess"/> (401,
/// 403, 429), and a v2 JSON error body for whatever the handler throws. The local host runs it from each mapped
/// endpoint, the Functions app from each HTTP trigger (<see cref="DispatchAsync"/>).
/// </summary>
public sealed partial class ApiPipeline(ApiAuthenticator auth, ApiRateLimiter rateLimiter, IOptions<NylasOptions> options, ILogger<ApiPipeline> logger)
{
    public const string RequestIdHeader = "X-Request-Id";

    /// <summary>Finds the route by the table's own precedence (not the host's) and runs it.</summary>
    public Task<ApiResult> DispatchAsync(HttpContext http)
    {
        var (route, values) = ApiRoutes.Resolve(http.Request.Method, http.Request.Path);
        return RunAsync(http, route, values);
    }

    public Task<ApiResult> RunAsync(HttpContext http, ApiRoute route)
        => RunAsync(http, route, route.Match(http.Request.Path) ?? new RouteValueDictionary());

    private async Task<ApiResult> RunAsync(HttpContext http, ApiRoute route, RouteValueDictionary values)
    {
        string requestId = RequestIdOf(http);
        http.Response.Headers[RequestIdHeader] = requestId;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["RequestId"] = requestId, ["Route"] = route.Name });
        try
        {
            if (ApiRoute.HasNul(http.Request.Path.Value))
                return ApiResult.BadRequest("The request path contains a NUL character (%00).");
            if (LimitBody(http, route.MaxBodyBytes?.Invoke(options.Value) ?? options.Value.Api.MaxRequestBodyBytes) is { } tooLarge) return tooLarge;
            if (rateLimiter.AcquireAddress(http) is { } limited) return limited;
            if (await AuthenticateAsync(http, route, values) is { } denied) return denied;
            return await route.Handler(http, values);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            return ErrorFor(http, ex, logger);
        }
    }

    private async Task<ApiResult?> AuthenticateAsync(HttpContext http, ApiRoute route, RouteValueDictionary values)
    {
        var ct = http.RequestAborted;
        switch (route.Access)
        {
            case ApiAccess.Account or ApiAccess.AccountEvenStopped:
                var (account, token, accountError) = await auth.AuthenticateAccountAsync(http.Request, route.Access == ApiAccess.AccountEvenStopped, ct);
                if (account is null) return accountError;
                http.SetCaller(new ApiCaller(account, token, null));
                return null;
            case ApiAccess.Application:
                string clientId = values["clientId"] as string ?? "";
                var (application, appError) = await auth.AuthenticateApplicationAsync(http.Request, clientId, ct);
                if (application is null) return appError;
                http.SetCaller(new ApiCaller(null, null, application));
                return null;
            default:
                return null;
        }
    }

    /// <summary>A declared length over the limit is refused at once; an undeclared one is cut off while it is read.</summary>
    private static ApiResult? LimitBody(HttpContext http, long maxBytes)
    {
        if (http.Request.ContentLength > maxBytes) return TooLarge(maxBytes);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = maxBytes;
        http.Request.Body = new RequestBodyLimitStream(http.Request.Body, maxBytes);
        return null;
    }

    private static ApiResult TooLarge(long maxBytes)
        => ApiResult.Error(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", $"Request body too large: at most {maxBytes} bytes.");

    /// <summary>
    /// The answer to an exception no handler caught, as v2 JSON: a malformed body is the caller's 400 (or 413),
    /// anything else a 500 naming only the request id; the details go to the log.
    /// </summary>
    public static ApiResult ErrorFor(HttpContext http, Exception ex, ILogger logger)
    {
        switch (ex)
        {
            case RequestBodyTooLargeException tooLarge:
                return TooLarge(tooLarge.MaxBytes);
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                return ApiResult.Error(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "Request body too large.");
            case JsonException or BadHttpRequestException:
                return ApiResult.BadRequest($"Bad request: {ex.Message}");
            default:
                string requestId = http.Response.Headers[RequestIdHeader].ToString() is { Length: > 0 } id ? id : RequestIdOf(http);
                LogUnhandled(logger, http.Request.Method, http.Request.Path.Value ?? "", requestId, ex);
                return ApiResult.Error(StatusCodes.Status500InternalServerError, "api_error", $"Internal error (request id {requestId}); see the server log.");
        }
    }

    /// <summary>
    /// The answer to an exception thrown outside <see cref="DispatchAsync"/>, where no handler's pipeline ran (the
    /// Functions host binding a trigger's parameters): <see cref="ErrorFor"/>'s v2 JSON with the request id and nosniff
    /// headers. Null when nothing can be answered any more: the response has started, or the caller has gone.
    /// </summary>
    public static ApiResult? AnswerUnhandled(HttpContext http, Exception ex, ILogger logger)
    {
        if (http.Response.HasStarted || http.RequestAborted.IsCancellationRequested) return null;
        if (string.IsNullOrEmpty(http.Response.Headers[RequestIdHeader])) http.Response.Headers[RequestIdHeader] = RequestIdOf(http);
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return ErrorFor(http, ex, logger);
    }

    /// <summary>The caller's X-Request-Id when it is a plain token of at most 64 characters, else this request's trace identifier.</summary>
    private static string RequestIdOf(HttpContext http)
    {
        string given = http.Request.Headers[RequestIdHeader].ToString();
        return given.Length is > 0 and <= 64 && given.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')
            ? given
            : http.TraceIdentifier;
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path} (request id {RequestId})")]
    private static partial void LogUnhandled(ILogger logger, string method, string path, string requestId, Exception ex);
}
