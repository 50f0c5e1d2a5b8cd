using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Core.Api;
using Nylas.Engine.Api;
using Nylas.Engine.Api.Routing;
using Nylas.Functions;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>A small body limit, so that 413 is cheap to provoke.</summary>
public sealed class PipelineHostFixture : LocalHostFixture
{
    public const int MaxBody = 4096;

    protected override void Configure(Dictionary<string, string?> settings)
        => settings["Nylas:Api:MaxRequestBodyBytes"] = MaxBody.ToString();
}

/// <summary>
/// What the shared request pipeline (<see cref="ApiPipeline"/>) answers on every route of the table, in both hosts:
/// over HTTP in the local host, and through the Functions app's own HTTP trigger methods (<see cref="ApiFunctions"/>)
/// called in-process with the local host's services (the Functions host itself cannot run here). Every refusal is a
/// v2 JSON error and every answer carries X-Request-Id and nosniff.
/// </summary>
public class ApiPipelineTests(PipelineHostFixture host) : IClassFixture<PipelineHostFixture>
{
    internal static string SamplePath(ApiRoute route, string clientId)
        => "/" + route.Template.Replace("{clientId}", clientId).Replace("{id}", "abc123");

    // A server may close the connection after refusing a body it did not read: each request on its own connection.
    private static HttpRequestMessage Request(ApiRoute route, string clientId, HttpContent? body = null)
        => new(new HttpMethod(route.Method), SamplePath(route, clientId)) { Content = body, Headers = { ConnectionClose = true } };

    private static void AssertPipelineHeaders(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.False(string.IsNullOrEmpty(response.Headers.GetValues(ApiPipeline.RequestIdHeader).Single()));
    }

    [Fact]
    public async Task Every_authenticated_route_answers_401_as_JSON_without_credentials_in_the_local_host()
    {
        using var http = host.Client();
        foreach (var route in ApiRoutes.All.Where(r => r.Access != ApiAccess.Anonymous))
        {
            using var response = await http.SendAsync(Request(route, host.ClientId, new StringContent("{}")));
            AssertPipelineHeaders(response);
            await ApiErrors.AssertAsync(response, HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task Every_account_route_answers_403_as_JSON_for_a_stopped_account_except_the_two_that_serve_it()
    {
        var (_, token, accountId) = await host.ConnectNewAccountAsync();
        using (var app = host.AppClient())
            (await app.PostAsync($"/a/{host.ClientId}/accounts/{accountId}/downgrade", null)).EnsureSuccessStatusCode();
        using var http = host.Client(token);
        foreach (var route in ApiRoutes.All.Where(r => r.Access == ApiAccess.Account))
        {
            using var response = await http.SendAsync(Request(route, host.ClientId));
            await ApiErrors.AssertAsync(response, HttpStatusCode.Forbidden);
        }
        // GET /account shows the stopped state; it is not refused.
        using var account = await http.GetAsync("/account");
        Assert.Equal(HttpStatusCode.OK, account.StatusCode);
        Assert.Equal("stopped", JsonDocument.Parse(await account.Content.ReadAsStringAsync()).RootElement.GetProperty("sync_state").GetString());
    }

    [Theory]
    [InlineData("GET", "/no/such/thing")]
    [InlineData("PUT", "/messages")]
    [InlineData("DELETE", "/threads")]
    [InlineData("PATCH", "/account")]
    public async Task Unknown_paths_and_methods_answer_404_as_JSON(string method, string path)
    {
        using var http = host.Client();
        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        AssertPipelineHeaders(response);
        var body = await ApiErrors.AssertAsync(response, HttpStatusCode.NotFound);
        Assert.Contains(path, body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Every_POST_route_refuses_a_body_over_the_limit_with_413_declared_or_not()
    {
        var big = new string('x', PipelineHostFixture.MaxBody + 1);
        using var http = host.AppClient();
        // A route with a limit of its own (POST /files) is tested against that limit where it is served (FileUploadTests).
        foreach (var route in ApiRoutes.All.Where(r => r.Method == "POST" && r.MaxBodyBytes is null))
        {
            // Declared: refused before anything is read.
            using (var response = await http.SendAsync(Request(route, host.ClientId, new StringContent(big, Encoding.UTF8, "text/plain"))))
            {
                AssertPipelineHeaders(response);
                await ApiErrors.AssertAsync(response, HttpStatusCode.RequestEntityTooLarge);
            }
            // Chunked, no Content-Length: cut off while read (routes that read no body answer otherwise, never a 500).
            var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"a\":\"" + big + "\"}")));
            chunked.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            var request = Request(route, host.ClientId, chunked);
            request.Headers.TransferEncodingChunked = true;
            using (var response = await http.SendAsync(request))
            {
                Assert.True((int)response.StatusCode is 413 or 401 or 400 or 404 or 200,
                    $"{route.Name}: a chunked body over the limit answered {(int)response.StatusCode}");
                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        // A route that reads its body refuses the chunked one with 413.
        var account = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"email_address\":\"" + big + "\"}")));
        var post = new HttpRequestMessage(HttpMethod.Post, $"/a/{host.ClientId}/accounts") { Content = account, Headers = { ConnectionClose = true } };
        post.Headers.TransferEncodingChunked = true;
        using var refused = await http.SendAsync(post);
        await ApiErrors.AssertAsync(refused, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task The_callers_request_id_is_echoed_and_a_made_up_one_is_replaced()
    {
        using var http = host.Client();
        using var given = new HttpRequestMessage(HttpMethod.Get, "/health");
        given.Headers.Add(ApiPipeline.RequestIdHeader, "trace-42.a_b");
        using (var response = await http.SendAsync(given))
            Assert.Equal("trace-42.a_b", response.Headers.GetValues(ApiPipeline.RequestIdHeader).Single());
        using var hostile = new HttpRequestMessage(HttpMethod.Get, "/health");
        hostile.Headers.TryAddWithoutValidation(ApiPipeline.RequestIdHeader, "<script>alert(1)</script>");
        using (var response = await http.SendAsync(hostile))
            Assert.DoesNotContain("<", response.Headers.GetValues(ApiPipeline.RequestIdHeader).Single());
    }

    /// <summary>A shard that is gone (dropped, or a broken shard map): the account's routes answer a JSON 500 that names the request id and nothing internal.</summary>
    [Fact]
    public async Task A_failing_database_answers_500_as_JSON_with_the_request_id_and_no_internals()
    {
        var (_, token, _) = await host.ConnectNewAccountAsync();
        // Both shards: the account is on one of them.
        foreach (string shard in new[] { "shard0", "shard1" })
            await host.Databases.QueryScalarAsync(shard, $"RENAME TABLE messages TO messages_gone_{shard}");
        try
        {
            using var http = host.Client(token);
            using var response = await http.GetAsync("/messages");
            var requestId = response.Headers.GetValues(ApiPipeline.RequestIdHeader).Single();
            var body = await ApiErrors.AssertAsync(response, HttpStatusCode.InternalServerError);
            string message = body.GetProperty("message").GetString()!;
            Assert.Contains(requestId, message);
            Assert.DoesNotContain("messages", message);
            Assert.DoesNotContain("MySql", message);

            // The same through the Functions app's trigger.
            var listMessages = HttpFunctions.Single(f => f.Name == "ListMessages");
            var answer = await CallFunctionAsync(listMessages, "GET", "/messages", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(token + ":")));
            AssertJsonError(answer, 500, "ListMessages");
            Assert.DoesNotContain("MySql", answer.Body!.Value.GetProperty("message").GetString());
        }
        finally
        {
            foreach (string shard in new[] { "shard0", "shard1" })
                await host.Databases.QueryScalarAsync(shard, $"RENAME TABLE messages_gone_{shard} TO messages");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The Functions app's HTTP triggers, called as the Functions worker calls them
    // ---------------------------------------------------------------------------------------------

    internal static readonly MethodInfo[] HttpFunctions = typeof(ApiFunctions).GetMethods()
        .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
        .ToArray();

    private Task<(int Status, JsonElement? Body, HttpResponse Response)> CallFunctionAsync(MethodInfo function, string method, string path,
        string? authorization = null, string? body = null)
        => CallFunctionAsync(host.App.Services, function, method, path, authorization, body);

    /// <summary>A Functions HTTP trigger method called as the worker calls it, with <paramref name="services"/> as the request's services.</summary>
    internal static async Task<(int Status, JsonElement? Body, HttpResponse Response)> CallFunctionAsync(IServiceProvider services, MethodInfo function,
        string method, string path, string? authorization = null, string? body = null)
    {
        var http = new DefaultHttpContext { RequestServices = services };
        http.Request.Method = method;
        http.Request.Path = path;
        http.Connection.RemoteIpAddress = IPAddress.Loopback;
        if (authorization is not null) http.Request.Headers.Authorization = authorization;
        if (body is not null)
        {
            http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
            http.Request.ContentLength = Encoding.UTF8.GetByteCount(body);
        }
        var output = new MemoryStream();
        http.Response.Body = output;
        var functions = ActivatorUtilities.CreateInstance<ApiFunctions>(services);
        var args = function.GetParameters().Select(p => p.ParameterType == typeof(HttpRequest) ? http.Request
            : p.ParameterType == typeof(DurableTaskClient) ? (object)services.GetRequiredService<DurableTaskClient>()
            : throw new InvalidOperationException($"unexpected parameter {p.Name}")).ToArray();
        var result = (IActionResult)await (Task<IActionResult>)function.Invoke(functions, args)!;
        await ((ApiResult)result).ExecuteAsync(http);
        string text = Encoding.UTF8.GetString(output.ToArray());
        return (http.Response.StatusCode, text.Length > 0 && http.Response.ContentType?.StartsWith("application/json") == true ? JsonDocument.Parse(text).RootElement : null, http.Response);
    }

    internal static void AssertJsonError((int Status, JsonElement? Body, HttpResponse Response) answer, int status, string function)
    {
        Assert.True(status == answer.Status, $"{function}: expected {status}, got {answer.Status}");
        Assert.True(answer.Body is { } b && b.GetProperty("type").GetString() is { Length: > 0 } && b.GetProperty("message").GetString() is { Length: > 0 },
            $"{function}: not a v2 JSON error");
        Assert.Equal("nosniff", answer.Response.Headers.XContentTypeOptions.ToString());
        Assert.False(string.IsNullOrEmpty(answer.Response.Headers[ApiPipeline.RequestIdHeader]));
    }

    [Fact]
    public async Task Functions_triggers_answer_401_403_404_and_413_as_JSON_through_the_same_pipeline()
    {
        var (_, token, accountId) = await host.ConnectNewAccountAsync();
        using (var app = host.AppClient())
            (await app.PostAsync($"/a/{host.ClientId}/accounts/{accountId}/downgrade", null)).EnsureSuccessStatusCode();
        string stoppedToken = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(token + ":"));

        foreach (var function in HttpFunctions)
        {
            string name = function.GetCustomAttribute<FunctionAttribute>()!.Name;
            if (name == ApiRoutes.NotFound.Name) continue;
            var route = ApiRoutes.Named(name);
            string path = SamplePath(route, host.ClientId);
            if (route.Access != ApiAccess.Anonymous)
                AssertJsonError(await CallFunctionAsync(function, route.Method, path), 401, name);
            if (route.Access == ApiAccess.Account)
                AssertJsonError(await CallFunctionAsync(function, route.Method, path, stoppedToken), 403, name);
            if (route.Method == "POST" && route.MaxBodyBytes is null) // POST /files has its own, larger limit (FileUploadTests)
                AssertJsonError(await CallFunctionAsync(function, route.Method, path, body: new string('x', PipelineHostFixture.MaxBody + 1)), 413, name);
        }

        var notFound = HttpFunctions.Single(f => f.GetCustomAttribute<FunctionAttribute>()!.Name == ApiRoutes.NotFound.Name);
        AssertJsonError(await CallFunctionAsync(notFound, "PUT", "/messages"), 404, "NotFound");
    }

    /// <summary>
    /// The Functions host routes /messages/search to whichever overlapping trigger sorts first by name (GetMessage);
    /// the pipeline must still answer it as a search.
    /// </summary>
    [Fact]
    public async Task A_Functions_trigger_given_another_routes_path_answers_as_that_route()
    {
        var (_, token, _) = await host.ConnectNewAccountAsync();
        var getMessage = HttpFunctions.Single(f => f.Name == "GetMessage");
        var answer = await CallFunctionAsync(getMessage, "GET", "/messages/search",
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(token + ":")));
        // A search without q is the search endpoint's own 400, not "Invalid message id 'search'".
        AssertJsonError(answer, 400, "GetMessage");
        Assert.Contains("q", answer.Body!.Value.GetProperty("message").GetString());
        Assert.DoesNotContain("Invalid message id", answer.Body!.Value.GetProperty("message").GetString());
    }

    /// <summary>
    /// The Functions host may hand the "{*path}" catch-all a path another trigger declares (it orders overlapping routes
    /// by name, and "NotFound" sorts before "UpgradeAccount"): the upgrade must still run. (Here the sync control is the
    /// local host's; that the catch-all binds the Functions durable client is checked by HostParityTests.)
    /// </summary>
    [Fact]
    public async Task The_Functions_catch_all_answers_an_upgrade_as_the_upgrade_route()
    {
        var (_, token, accountId) = await host.ConnectNewAccountAsync();
        using (var app = host.AppClient())
            (await app.PostAsync($"/a/{host.ClientId}/accounts/{accountId}/downgrade", null)).EnsureSuccessStatusCode();
        var notFound = HttpFunctions.Single(f => f.GetCustomAttribute<FunctionAttribute>()!.Name == ApiRoutes.NotFound.Name);
        var answer = await CallFunctionAsync(notFound, "POST", $"/a/{host.ClientId}/accounts/{accountId}/upgrade",
            "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(host.ClientSecret + ":")));
        Assert.Equal(200, answer.Status);
        using var http = host.Client(token);
        using var account = await http.GetAsync("/account");
        Assert.Equal("running", JsonDocument.Parse(await account.Content.ReadAsStringAsync()).RootElement.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task A_handler_that_throws_answers_500_as_JSON_in_both_entry_points()
    {
        var pipeline = host.App.Services.GetRequiredService<ApiPipeline>();
        var boom = new ApiRoute("Boom", "GET", "boom", ApiAccess.Anonymous, (_, _) => throw new InvalidOperationException("secret detail"));
        var http = new DefaultHttpContext { RequestServices = host.App.Services };
        http.Request.Method = "GET";
        http.Request.Path = "/boom";
        var result = await pipeline.RunAsync(http, boom);
        Assert.Equal(500, result.StatusCode);
        var error = Assert.IsType<ApiErrorBody>(result.Value);
        Assert.Equal("api_error", error.Type);
        Assert.DoesNotContain("secret detail", error.Message);
        Assert.Contains(http.Response.Headers[ApiPipeline.RequestIdHeader].ToString(), error.Message);
    }
}

/// <summary>A per-address bucket of 5 requests refilled at 1 per second, so a test can empty it.</summary>
public sealed class AddressLimitHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Api:RateLimitPerAddressPerSecond"] = "1";
        settings["Nylas:Api:RateLimitPerAddressBurst"] = "5";
    }
}

/// <summary>The per-address limit is counted before any credential is looked up, on every route, and answers a v2 JSON 429.</summary>
public class AddressRateLimitTests(AddressLimitHostFixture host) : IClassFixture<AddressLimitHostFixture>
{
    [Fact]
    public async Task Once_an_address_has_used_its_burst_every_route_answers_429_as_JSON()
    {
        using var http = host.Client("made-up-token");
        for (int i = 0; i < 5; i++) await http.GetAsync("/messages");
        int limited = 0;
        foreach (var route in ApiRoutes.All)
        {
            var request = new HttpRequestMessage(new HttpMethod(route.Method), ApiPipelineTests.SamplePath(route, "c1"));
            using var response = await http.SendAsync(request);
            // The bucket refills one request per second: the odd one may get through while the loop runs.
            if (response.StatusCode != HttpStatusCode.TooManyRequests) continue;
            limited++;
            Assert.Equal("1", response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString());
            var body = await ApiErrors.AssertAsync(response, HttpStatusCode.TooManyRequests);
            Assert.Equal("rate_limit_error", body.GetProperty("type").GetString());
        }
        Assert.True(limited >= ApiRoutes.All.Count - 3, $"only {limited} of {ApiRoutes.All.Count} routes were limited");

        // The Functions app's triggers share the pipeline and its buckets: the same loopback address is refused there too.
        int functionsLimited = 0;
        foreach (var function in ApiPipelineTests.HttpFunctions)
        {
            string name = function.GetCustomAttribute<FunctionAttribute>()!.Name;
            var route = name == ApiRoutes.NotFound.Name ? ApiRoutes.NotFound : ApiRoutes.Named(name);
            string path = name == ApiRoutes.NotFound.Name ? "/nothing" : ApiPipelineTests.SamplePath(route, "c1");
            var answer = await ApiPipelineTests.CallFunctionAsync(host.App.Services, function, route.Method == "*" ? "GET" : route.Method, path);
            if (answer.Status != 429) continue;
            functionsLimited++;
            ApiPipelineTests.AssertJsonError(answer, 429, name);
        }
        Assert.True(functionsLimited >= ApiPipelineTests.HttpFunctions.Length - 3, $"only {functionsLimited} Functions triggers were limited");
    }
}
