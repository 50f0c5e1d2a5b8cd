using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;
using Nylas.Engine.Api.Routing;

namespace Nylas.Functions;

/// <summary>
/// The v2 JSON error for an HTTP invocation that throws before its trigger's body runs (binding its parameters), which
/// the Functions host would otherwise answer with its own non-JSON 500. The decision is the engine's
/// (<see cref="ApiPipeline.AnswerUnhandled"/>); the ASP.NET Core integration's proxying middleware, outside this one,
/// writes an <c>IActionResult</c> invocation result to the response.
/// </summary>
public sealed class ApiErrorMiddleware(ILogger<ApiErrorMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex)
        {
            // Not an HTTP invocation (queue, timer, orchestration), or too late to answer: the host's own handling stands.
            if (context.GetHttpContext() is not { } http || ApiPipeline.AnswerUnhandled(http, ex, logger) is not { } answer) throw;
            context.GetInvocationResult().Value = answer;
        }
    }
}
