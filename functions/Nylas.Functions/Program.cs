using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nylas.Engine;
using Nylas.Engine.Hosting;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Functions;
using Nylas.Engine.Telemetry;
using Nylas.Engine.Webhooks;

// The host applies host.json without asking the app: fail at start, naming the value, rather than quietly later.
HostJsonCheck.Require(Path.Combine(AppContext.BaseDirectory, "host.json"));
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// After the ASP.NET Core integration's own middleware, so inside it: that one writes the JSON answer this one sets.
builder.UseMiddleware<ApiErrorMiddleware>();
builder.Services.AddHostedService<StoragePreparationService>();
builder.Services.AddNylasEngine(builder.Configuration);
// The webhook poller runs in every instance (safe with several); the queue trigger (WebhookFunctions) delivers.
builder.Services.AddWebhookPoller();
builder.Services.AddDurableSyncControl(_ => DurableClientScope.Require);
builder.Services.AddMailboxWatcher();
Nylas.Functions.IngestFunctions.RequireTriggerForTransport(builder.Services);
builder.Services.AddNylasTelemetry(builder.Configuration).UseFunctionsWorkerDefaults();
builder.Build().Run();
