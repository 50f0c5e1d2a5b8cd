using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nylas.Engine;
using Nylas.Engine.Storage;
using Nylas.Engine.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddHostedService<StoragePreparationService>();
builder.Services.AddNylasEngine(builder.Configuration);
builder.Services.AddNylasTelemetry(builder.Configuration).UseFunctionsWorkerDefaults();
builder.Build().Run();
