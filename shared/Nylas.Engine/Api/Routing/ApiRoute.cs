using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace Nylas.Engine.Api.Routing;

/// <summary>Who may call a route; the pipeline checks it before the handler runs.</summary>
public enum ApiAccess
{
    /// <summary>No credential (health, OpenAPI, the connect flow, which authenticates inside its body).</summary>
    Anonymous,
    /// <summary>An account's access token; a stopped (downgraded) account is refused with 403.</summary>
    Account,
    /// <summary>An account's access token, also for a stopped account (GET /account, POST /oauth/revoke).</summary>
    AccountEvenStopped,
    /// <summary>The client secret of the application named by the route's <c>{clientId}</c>.</summary>
    Application,
}

/// <summary>
/// One endpoint of the API: its name (the Functions app's function name), HTTP method, route template
/// (no leading slash, as Functions writes it), who may call it and the shared handler. Both hosts are
/// derived from <see cref="ApiRoutes.All"/>.
/// </summary>
/// <param name="UsesSyncControl">The handler starts or stops account orchestrations (the Functions adapter must bind a durable client).</param>
/// <param name="MaxBodyBytes">Largest request body the route accepts, from the options; null takes <c>Nylas:Api:MaxRequestBodyBytes</c>.</param>
public sealed record ApiRoute(
    string Name,
    string Method,
    string Template,
    ApiAccess Access,
    Func<HttpContext, RouteValueDictionary, Task<ApiResult>> Handler,
    bool UsesSyncControl = false,
    Func<NylasOptions, long>? MaxBodyBytes = null)
{
    private readonly RouteTemplate _parsed = TemplateParser.Parse(Template);
    private TemplateMatcher? _matcher;

    /// <summary>The template as parsed by ASP.NET Core routing (for precedence and matching).</summary>
    public RouteTemplate Parsed => _parsed;

    /// <summary>
    /// A NUL in the path, raw or as a "%00" the matcher would decode: TemplateMatcher throws on it, and no id holds one.
    /// </summary>
    public static bool HasNul(string? path)
        => path is not null && (path.Contains('\0', StringComparison.Ordinal) || path.Contains("%00", StringComparison.Ordinal));

    /// <summary>The route values of <paramref name="path"/> when it matches this template, else null.</summary>
    public RouteValueDictionary? Match(PathString path)
    {
        var values = new RouteValueDictionary();
        string p = path.Value is { Length: > 1 } v ? v.TrimEnd('/') : path.Value ?? "/";
        if (HasNul(p)) return null;
        // TemplateMatcher keeps no per-match state: one per route serves every request (ASP.NET Core's routing shares them too).
        _matcher ??= new TemplateMatcher(_parsed, new RouteValueDictionary());
        return _matcher.TryMatch(p, values) ? values : null;
    }
}
