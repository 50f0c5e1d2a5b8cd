using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Hosting;
using Nylas.Functions;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// Every binding is declared once, in the engine's tables (<see cref="ApiRoutes"/>, <see cref="EngineTasks"/>,
/// <see cref="EngineTimers"/>); the Functions app's triggers and the local host's endpoints must match them exactly.
/// A route, task or timer added to one host only fails here.
/// </summary>
public class HostParityTests(LocalHostFixture host) : IClassFixture<LocalHostFixture>
{
    private static readonly MethodInfo[] Functions = typeof(ApiFunctions).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
        .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
        .ToArray();

    private static string FunctionName(MethodInfo m) => m.GetCustomAttribute<FunctionAttribute>()!.Name;

    private static T? Trigger<T>(MethodInfo m) where T : Attribute
        => m.GetParameters().Select(p => p.GetCustomAttribute<T>()).OfType<T>().SingleOrDefault();

    private static bool BindsDurableClient(MethodInfo m)
        => m.GetParameters().Any(p => p.ParameterType == typeof(DurableTaskClient) && p.GetCustomAttribute<DurableClientAttribute>() is not null);

    [Fact]
    public void Every_route_has_exactly_one_Functions_HTTP_trigger_with_its_name_method_and_template()
    {
        var http = Functions.Where(m => Trigger<HttpTriggerAttribute>(m) is not null).ToDictionary(FunctionName);
        foreach (var route in ApiRoutes.All)
        {
            Assert.True(http.TryGetValue(route.Name, out var function), $"no [Function(\"{route.Name}\")] HTTP trigger for {route.Method} /{route.Template}");
            var trigger = Trigger<HttpTriggerAttribute>(function)!;
            Assert.Equal(route.Template, trigger.Route);
            Assert.Equal([route.Method.ToLowerInvariant()], trigger.Methods!.Select(m => m.ToLowerInvariant()));
            Assert.Equal(AuthorizationLevel.Anonymous, trigger.AuthLevel);
            // A handler that starts, stops or wakes syncs needs the trigger's durable client (DurableClientScope).
            Assert.True(route.UsesSyncControl == BindsDurableClient(function),
                $"{route.Name}: UsesSyncControl is {route.UsesSyncControl}, but the function {(BindsDurableClient(function) ? "binds" : "does not bind")} [DurableClient]");
        }
        var extra = http.Keys.Except(ApiRoutes.All.Select(r => r.Name)).Except([ApiRoutes.NotFound.Name]).ToList();
        Assert.True(extra.Count == 0, $"HTTP triggers not in ApiRoutes.All: {string.Join(", ", extra)}");
        Assert.Equal("{*path}", Trigger<HttpTriggerAttribute>(http[ApiRoutes.NotFound.Name])!.Route);
        // The host may hand the catch-all any path (it orders overlapping routes by name): it must carry the durable client.
        Assert.True(BindsDurableClient(http[ApiRoutes.NotFound.Name]), "the catch-all must bind [DurableClient]");
    }

    [Fact]
    public void The_local_host_maps_exactly_the_route_table()
    {
        var endpoints = host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<ApiRoute>() is not null)
            .ToList();
        Assert.Equal(ApiRoutes.All.Select(r => r.Name).Order(), endpoints.Select(e => e.Metadata.GetMetadata<ApiRoute>()!.Name).Order());
        foreach (var endpoint in endpoints)
        {
            var route = endpoint.Metadata.GetMetadata<ApiRoute>()!;
            Assert.Equal("/" + route.Template, endpoint.RoutePattern.RawText);
            Assert.Equal([route.Method], endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods);
        }
    }

    [Fact]
    public void Every_durable_task_has_exactly_one_Functions_trigger()
    {
        var orchestrators = Functions.Where(m => Trigger<OrchestrationTriggerAttribute>(m) is not null).Select(FunctionName).Order();
        var activities = Functions.Where(m => Trigger<ActivityTriggerAttribute>(m) is not null).Select(FunctionName).Order();
        Assert.Equal(EngineTasks.Orchestrators.Keys.Order(), orchestrators);
        Assert.Equal(EngineTasks.Activities.Keys.Order(), activities);
    }

    [Fact]
    public void Every_timer_has_exactly_one_Functions_trigger_bound_to_its_schedule_setting()
    {
        var timers = Functions.Where(m => Trigger<TimerTriggerAttribute>(m) is not null).ToDictionary(FunctionName);
        Assert.Equal(EngineTimers.All.Select(t => t.Name).Order(), timers.Keys.Order());
        foreach (var timer in EngineTimers.All)
        {
            Assert.Equal($"%{timer.ScheduleSetting}%", Trigger<TimerTriggerAttribute>(timers[timer.Name])!.Schedule);
            Assert.True(EngineTimer.IsValid(timer.DefaultSchedule), $"{timer.Name}: default schedule '{timer.DefaultSchedule}' is not a six-field cron expression");
        }
        // The supervisor starts syncs, so its trigger binds the durable client.
        Assert.True(BindsDurableClient(timers[EngineTimers.SyncSupervisor.Name]));
    }

    /// <summary>
    /// The Functions host picks among overlapping HTTP triggers by function name, not by how specific the route is
    /// ("GetMessage" would win over "SearchMessages" for /messages/search), so the pipeline dispatches by the table.
    /// Its choice must be the one ASP.NET Core's routing makes in the local host, for every route.
    /// </summary>
    [Theory]
    [InlineData("GET", "/messages/search", "SearchMessages")]
    [InlineData("GET", "/threads/search", "SearchThreads")]
    [InlineData("GET", "/messages/abc123", "GetMessage")]
    [InlineData("GET", "/messages/abc123/", "GetMessage")]
    [InlineData("GET", "/files/f1/download", "DownloadFile")]
    [InlineData("POST", "/a/cid/accounts", "ConnectAccount")]
    [InlineData("GET", "/a/cid/accounts", "ListAccounts")]
    [InlineData("DELETE", "/a/cid/accounts/x1", "DeleteAccount")]
    [InlineData("POST", "/a/cid/accounts/x1/revoke-all", "RevokeAllTokens")]
    [InlineData("HEAD", "/messages", "ListMessages")]
    [InlineData("PUT", "/messages", "NotFound")]
    [InlineData("GET", "/nothing/here", "NotFound")]
    public void The_table_dispatch_picks_the_most_specific_route(string method, string path, string expected)
    {
        var (route, _) = ApiRoutes.Resolve(method, new PathString(path));
        Assert.Equal(expected, route.Name);
    }

    [Fact]
    public void The_table_dispatch_resolves_every_route_and_its_values()
    {
        foreach (var route in ApiRoutes.All)
        {
            string path = "/" + route.Template.Replace("{clientId}", "client1").Replace("{id}", "object1");
            var (resolved, values) = ApiRoutes.Resolve(route.Method, new PathString(path));
            Assert.Equal(route.Name, resolved.Name);
            if (route.Template.Contains("{id}")) Assert.Equal("object1", values["id"]);
            if (route.Template.Contains("{clientId}")) Assert.Equal("client1", values["clientId"]);
        }
    }
}
