using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging.Abstractions;
using Nylas.Engine.Api.Routing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// What the Functions app's ApiErrorMiddleware answers for an exception thrown before a trigger's body runs (a binding
/// error): the engine's decision, <see cref="ApiPipeline.AnswerUnhandled"/>, written to a request as the Functions
/// worker's ASP.NET Core integration writes an action result. The middleware itself runs only inside the Functions host.
/// </summary>
public class UnhandledErrorAnswerTests
{
    private sealed class StartedResponse : HttpResponseFeature
    {
        public override bool HasStarted => true;
    }

    private static DefaultHttpContext Request(string? requestId = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Path = "/messages";
        http.TraceIdentifier = "trace-1";
        if (requestId is not null) http.Request.Headers[ApiPipeline.RequestIdHeader] = requestId;
        http.Response.Body = new MemoryStream();
        return http;
    }

    private static async Task<JsonElement> WriteAsync(DefaultHttpContext http, Exception thrown)
    {
        var answer = ApiPipeline.AnswerUnhandled(http, thrown, NullLogger.Instance);
        Assert.NotNull(answer);
        await answer.ExecuteAsync(http);
        Assert.StartsWith("application/json", http.Response.ContentType);
        Assert.Equal("nosniff", http.Response.Headers.XContentTypeOptions.ToString());
        return JsonDocument.Parse(Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray())).RootElement;
    }

    [Fact]
    public async Task A_binding_error_is_a_JSON_500_naming_the_caller_s_request_id_and_nothing_of_the_error()
    {
        var http = Request("caller-42");
        var body = await WriteAsync(http, new InvalidOperationException("Could not bind parameter 'durable': secret detail"));
        Assert.Equal(StatusCodes.Status500InternalServerError, http.Response.StatusCode);
        Assert.Equal("caller-42", http.Response.Headers[ApiPipeline.RequestIdHeader].ToString());
        Assert.Equal("api_error", body.GetProperty("type").GetString());
        Assert.Contains("caller-42", body.GetProperty("message").GetString());
        Assert.DoesNotContain("secret detail", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Without_a_usable_request_id_the_trace_identifier_is_the_request_id()
    {
        var http = Request("not a token; " + new string('x', 80));
        var body = await WriteAsync(http, new InvalidOperationException("binding"));
        Assert.Equal("trace-1", http.Response.Headers[ApiPipeline.RequestIdHeader].ToString());
        Assert.Contains("trace-1", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_malformed_body_found_while_binding_is_the_caller_s_400_as_in_the_pipeline()
    {
        var http = Request();
        var body = await WriteAsync(http, new JsonException("'x' is an invalid start of a value."));
        Assert.Equal(StatusCodes.Status400BadRequest, http.Response.StatusCode);
        Assert.Equal("invalid_request_error", body.GetProperty("type").GetString());
    }

    [Fact]
    public void Nothing_is_answered_once_the_response_has_started_or_the_caller_has_gone()
    {
        var started = Request();
        started.Features.Set<IHttpResponseFeature>(new StartedResponse());
        Assert.Null(ApiPipeline.AnswerUnhandled(started, new InvalidOperationException("late"), NullLogger.Instance));

        var gone = Request();
        using var aborted = new CancellationTokenSource();
        aborted.Cancel();
        gone.RequestAborted = aborted.Token;
        Assert.Null(ApiPipeline.AnswerUnhandled(gone, new OperationCanceledException(aborted.Token), NullLogger.Instance));
    }
}
