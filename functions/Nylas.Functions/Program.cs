using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nylas.Engine;
using Nylas.Engine.Storage;
using Nylas.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddHostedService<StoragePreparationService>();
builder.Services.AddNylasEngine(builder.Configuration);
builder.Services.AddDurableSyncControl(_ => DurableClientScope.Require);
builder.Build().Run();
