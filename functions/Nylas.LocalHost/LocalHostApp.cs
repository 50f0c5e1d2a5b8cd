using Nylas.Engine.Ingest;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Grpc.Internal;
using Nylas.Engine;
using Nylas.Engine.Api;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Hosting;
using Nylas.Engine.Queues;
using Nylas.Engine.Sync;
using Nylas.Engine.Telemetry;
using Nylas.Engine.Webhooks;
using Nylas.LocalHost.Durable;
using Nylas.LocalHost.Timers;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Nylas.LocalHost;

/// <summary>Builds the local host: the API on Kestrel, the durable sync orchestrations, the ingest and webhook queue pumps, the webhook poller.</summary>
public static class LocalHostApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.DurableTask", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Azure.Core", LogLevel.Warning);

        builder.Services.AddNylasEngine(builder.Configuration);
        builder.Services.AddNylasTelemetry(builder.Configuration).WithMetrics(metrics => metrics.AddPrometheusExporter());

        // The sidecar must be registered (and so started) before the DurableTask worker that connects to it. The worker and
        // the client are built before any hosted service starts, so they get the sidecar's call invoker, not its address.
        var durableOptions = builder.Configuration.GetSection("Nylas:Durable").Get<DurableOptions>() ?? new DurableOptions();
        string storage = builder.Configuration["Nylas:Storage:ConnectionString"] ?? "";
        // The engine logs through the host's providers and filters (set above), attached once the host is built.
        var engineLogging = new HostLoggerFactory();
        var sidecar = new DurableSidecar(storage, durableOptions, engineLogging);
        builder.Services.AddSingleton(sidecar);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DurableSidecar>());
        builder.Services.AddDurableTaskWorker(b =>
        {
            b.UseGrpc(o =>
            {
                o.CallInvoker = sidecar.CallInvoker;
                // The worker reconnects after 2 min without a message, counting on the health pings the hosted backend
                // sends; the sidecar sends none, so every quiet stretch ended in a reconnect. A work item the sidecar
                // writes to the stream as it is replaced can go unanswered, and the sidecar waits for that answer without
                // a timeout (TaskHubGrpcServer), holding its orchestration. The sidecar runs in this process: detection off.
                o.SetSilentDisconnectTimeout(TimeSpan.Zero);
            });
            b.AddTasks(EngineTasks.Register);
        });
        builder.Services.AddDurableTaskClient(b => b.UseGrpc(o => o.CallInvoker = sidecar.CallInvoker));
        builder.Services.AddDurableSyncControl(sp => () => sp.GetRequiredService<DurableTaskClient>());
        builder.Services.AddMailboxWatcher();
        builder.Services.AddIngestReceivers();
        builder.Services.AddWebhookPoller().AddWebhookQueuePump();
        foreach (var timer in EngineTimers.All)
            builder.Services.AddSingleton<IHostedService>(sp => ActivatorUtilities.CreateInstance<ScheduledJob>(sp, timer));

        var app = builder.Build();
        engineLogging.Attach(app.Services.GetRequiredService<ILoggerFactory>());
        // Exceptions outside the pipeline (while an answer is written): the same JSON error.
        app.UseExceptionHandler(errorApp => errorApp.Run(WriteUnhandledError));
        app.MapNylasApi();
        app.MapNylasMetrics();
        return app;
    }

    /// <summary>Never an HTML error page: a v2-style JSON error without internals.</summary>
    private static async Task WriteUnhandledError(HttpContext http)
    {
        var error = http.Features.Get<IExceptionHandlerFeature>()?.Error ?? new InvalidOperationException("unknown error");
        var logger = http.RequestServices.GetRequiredService<ILogger<ApiPipeline>>();
        http.Response.Headers.XContentTypeOptions = "nosniff";
        await ApiPipeline.ErrorFor(http, error, logger).ExecuteAsync(http);
    }
}
