using System.Diagnostics.Metrics;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nylas.Engine.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// OpenTelemetry for a host: the engine's meter and spans, MailKit's spans, and the metrics of ASP.NET Core
    /// (http.server.request.duration by route), HttpClient and the runtime; exported to Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING
    /// is set; the ingest queue gauges; the periodic log summary. The host adds its own exporters to the returned builder.
    /// </summary>
    public static IOpenTelemetryBuilder AddNylasTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        // MailKit's own meters stay off (no MailKit.Telemetry.Configure): in 4.18.2, disposing a client whose connection
        // failed throws a NullReferenceException from its metrics (ClientMetrics.GetTags without a URI), which turned a
        // refused connection into a 500. Its spans need no configuration and are collected below.
        services.AddSingleton<IngestQueueGauges>();
        services.AddHostedService<TelemetrySummaryLogger>();
        // The SDK subscribes to meters by name, process-wide: keep another host's meters (tests run several hosts
        // in one process; the local host's durable sidecar is a host of its own) out of this host's metrics, or
        // equal names merge into one stream that dies with the first host to stop.
        services.ConfigureOpenTelemetryMeterProvider((sp, metrics) =>
        {
            var own = sp.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => instrument.Meter.Scope is { } scope && !ReferenceEquals(scope, own) ? MetricStreamConfiguration.Drop : null);
        });

        var builder = services.AddOpenTelemetry()
            // On Azure the site name, as the Functions worker names itself; otherwise "nylas".
            .ConfigureResource(r => r.AddService(configuration["WEBSITE_SITE_NAME"] ?? "nylas"))
            .WithMetrics(metrics => metrics
                .AddMeter(EngineTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                // Builds the gauges with the provider, so they exist before the first collection.
                .AddInstrumentation(sp => sp.GetRequiredService<IngestQueueGauges>()))
            // Spans per step, batch and connection only. No HTTP spans: the Functions host already records each
            // request, and HttpClient's would be one per blob upload, i.e. per message.
            .WithTracing(tracing => tracing
                .AddSource(EngineTelemetry.Name)
                .AddSource(MailKit.Telemetry.ImapClient.ActivitySourceName, MailKit.Telemetry.SmtpClient.ActivitySourceName));

        // Metrics and traces only: logs already reach Application Insights through the Functions host.
        if (!string.IsNullOrWhiteSpace(configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]))
        {
            // The Bicep deployment turns on Entra ID ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD): the app's managed identity.
            var credential = (configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] ?? "").Contains("Authorization=AAD", StringComparison.OrdinalIgnoreCase)
                ? new DefaultAzureCredential()
                : null;
            builder.WithMetrics(metrics => metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"], credential));
            builder.WithTracing(tracing => tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"], credential));
        }
        return builder;
    }
}
