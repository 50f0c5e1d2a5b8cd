using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Nylas.Testing;

namespace Nylas.Integration.Tests;

/// <summary>
/// A webhook receiver on a loopback port of the test process (Kestrel): answers the subscription challenge, records
/// every request with its raw body, and answers deliveries as told: 200, 500, no answer at all (the sender's
/// timeout), or not at all because it is stopped (connection refused). It can be restarted on the same port.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public enum Behaviour { Ok, Fail500, Hang }

    /// <summary>One request as it arrived, and what this receiver answered (null: it never answered).</summary>
    public sealed record Received(string Method, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body, int? Answered, DateTimeOffset At)
    {
        public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : "";
    }

    private WebApplication? _app;

    public int Port { get; } = FreePorts.Next();
    public string Url => $"http://127.0.0.1:{Port}/hook";
    public Behaviour Deliveries { get; set; } = Behaviour.Ok;
    /// <summary>What GET ?challenge= answers: the value itself, or this text instead.</summary>
    public string? ChallengeAnswer { get; set; }
    public ConcurrentQueue<Received> Requests { get; } = new();

    public IEnumerable<Received> Posts => Requests.Where(r => r.Method == "POST");
    public IEnumerable<Received> Acknowledged => Posts.Where(r => r.Answered is >= 200 and < 300);


    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        _app = app;
    }

    /// <summary>Down: connections are refused until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    private async Task HandleAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        string method = http.Request.Method, query = http.Request.QueryString.Value ?? "";
        if (HttpMethods.IsGet(method))
        {
            string challenge = http.Request.Query["challenge"].ToString();
            Requests.Enqueue(new Received(method, query, headers, buffer.ToArray(), 200, DateTimeOffset.UtcNow));
            await http.Response.WriteAsync(ChallengeAnswer ?? challenge);
            return;
        }
        switch (Deliveries)
        {
            case Behaviour.Fail500:
                Requests.Enqueue(new Received(method, query, headers, buffer.ToArray(), 500, DateTimeOffset.UtcNow));
                http.Response.StatusCode = 500;
                return;
            case Behaviour.Hang:
                Requests.Enqueue(new Received(method, query, headers, buffer.ToArray(), null, DateTimeOffset.UtcNow));
                await Task.Delay(TimeSpan.FromSeconds(30), http.RequestAborted).ContinueWith(_ => { });
                http.Abort();
                return;
            default:
                Requests.Enqueue(new Received(method, query, headers, buffer.ToArray(), 200, DateTimeOffset.UtcNow));
                http.Response.StatusCode = 200;
                return;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
