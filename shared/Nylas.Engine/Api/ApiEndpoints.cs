using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api;

/// <summary>Maps the route table (<see cref="ApiRoutes.All"/>) for hosts that use ASP.NET Core routing: the local host.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapNylasApi(this IEndpointRouteBuilder app)
    {
        foreach (var route in ApiRoutes.All)
        {
            app.MapMethods("/" + route.Template, [route.Method], (HttpContext http, ApiPipeline pipeline) => pipeline.RunAsync(http, route))
                .WithName(route.Name)
                .WithMetadata(route);
        }
        app.MapFallback((HttpContext http, ApiPipeline pipeline) => pipeline.RunAsync(http, ApiRoutes.NotFound));
        return app;
    }
}
