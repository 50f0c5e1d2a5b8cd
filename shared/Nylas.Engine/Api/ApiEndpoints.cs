using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api;

/// <summary>Maps the route table (<see cref="ApiRoutes.All"/>) for hosts that use ASP.NET Core routing: the local host.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapNylasApi(this IEndpointRouteBuilder app)
    {
        // Plain RequestDelegates, not minimal-API lambdas with parameters: those are compiled per route by
        // RequestDelegateFactory (expression trees) when routing first builds its endpoints, which made a fresh
        // host's first request wait ~0.17 s (BENCHMARKS.md, "Fourth session: the local host compiled ahead of time", item 2).
        foreach (var route in ApiRoutes.All)
        {
            app.MapMethods("/" + route.Template, [route.Method], Handler(route))
                .WithName(route.Name)
                .WithMetadata(route);
        }
        app.MapFallback(Handler(ApiRoutes.NotFound));
        return app;
    }

    private static RequestDelegate Handler(ApiRoute route) => async http =>
    {
        var result = await http.RequestServices.GetRequiredService<ApiPipeline>().RunAsync(http, route);
        await result.ExecuteAsync(http);
    };
}
