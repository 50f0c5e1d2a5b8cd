using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Nylas.Core.Api;

namespace Nylas.Engine.Api;

/// <summary>
/// What every handler returns. It is both an ASP.NET Core <see cref="IResult"/> (local host) and an
/// MVC <see cref="IActionResult"/> (Functions HTTP triggers), so the two hosts share handlers unchanged.
/// </summary>
public sealed class ApiResult : IResult, IActionResult
{
    private readonly Func<HttpResponse, Task> _write;

    private ApiResult(int status, Func<HttpResponse, Task> write)
    {
        StatusCode = status;
        _write = write;
    }

    public int StatusCode { get; }

    /// <summary>The body as JSON, for tests and logs; null when the body is not JSON.</summary>
    public object? Value { get; private init; }

    public static ApiResult Json(object value, int status = StatusCodes.Status200OK)
        => new(status, response => WriteJsonAsync(response, value)) { Value = value };

    private const string JsonContentType = "application/json; charset=utf-8";
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = ApiJson.Options.Encoder };
    // A page is written into the response's pipe at once and sent with one flush (the serializer's own async path
    // flushed every ~16 KB: a dozen sends and awaits per 280 KB page); a long list is flushed every this many bytes.
    private const int FlushBytes = 256 * 1024;

    /// <summary>What WriteAsJsonAsync wrote (same bytes, same Content-Type), with fewer flushes.</summary>
    private static async Task WriteJsonAsync(HttpResponse response, object value)
    {
        response.ContentType = JsonContentType;
        var body = response.BodyWriter;
        var ct = response.HttpContext.RequestAborted;
        try
        {
            await using var writer = new Utf8JsonWriter(body, WriterOptions);
            switch (value)
            {
                case IReadOnlyList<ApiMessage> messages: await WriteListAsync(writer, body, messages, ct); break;
                case IReadOnlyList<ApiThread> threads: await WriteListAsync(writer, body, threads, ct); break;
                default: JsonSerializer.Serialize(writer, value, value.GetType(), ApiJson.Options); break;
            }
            writer.Flush();
            await body.FlushAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The caller has gone: nothing to answer (as WriteAsJsonAsync did).
        }
    }

    private static async Task WriteListAsync<T>(Utf8JsonWriter writer, System.IO.Pipelines.PipeWriter body, IReadOnlyList<T> items, CancellationToken ct)
    {
        writer.WriteStartArray();
        long flushed = 0;
        foreach (var item in items)
        {
            JsonSerializer.Serialize(writer, item, ApiJson.Options);
            if (writer.BytesCommitted + writer.BytesPending - flushed > FlushBytes)
            {
                writer.Flush();
                flushed = writer.BytesCommitted;
                await body.FlushAsync(ct);
            }
        }
        writer.WriteEndArray();
    }

    public static ApiResult Error(int status, string type, string message)
        => Json(new ApiErrorBody(type, message), status);

    public static ApiResult BadRequest(string message) => Error(StatusCodes.Status400BadRequest, "invalid_request_error", message);

    public static ApiResult NotFound(string message) => Error(StatusCodes.Status404NotFound, "invalid_request_error", message);

    public static ApiResult Unauthorized(string message) => Error(StatusCodes.Status401Unauthorized, "invalid_request_error", message);

    public static ApiResult Stream(Func<Task<Stream>> open, string contentType, IReadOnlyDictionary<string, string>? headers = null)
        => new(StatusCodes.Status200OK, async response =>
        {
            response.ContentType = contentType;
            foreach (var (name, value) in headers ?? new Dictionary<string, string>()) response.Headers[name] = value;
            await using var stream = await open();
            await stream.CopyToAsync(response.Body, response.HttpContext.RequestAborted);
        });

    /// <summary>A 200 whose body the handler writes itself, for as long as it likes (/delta/streaming).</summary>
    public static ApiResult Streaming(string contentType, Func<HttpResponse, Task> write)
        => new(StatusCodes.Status200OK, async response =>
        {
            response.ContentType = contentType;
            await write(response);
        });

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        await _write(httpContext.Response);
    }

    public Task ExecuteResultAsync(ActionContext context) => ExecuteAsync(context.HttpContext);
}
