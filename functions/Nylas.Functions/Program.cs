using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nylas.Engine;
using Nylas.Engine.Storage;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddHostedService<StoragePreparationService>();
builder.Services.AddNylasEngine(builder.Configuration);
Nylas.Functions.IngestFunctions.RequireTriggerForTransport(builder.Services);
builder.Build().Run();
