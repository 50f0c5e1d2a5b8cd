using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Queues;
using Xunit;

namespace Nylas.Integration.Tests.ServiceBus;

/// <summary>Nylas:Transport picks the ingest transport at start-up; a wrong or incomplete choice stops a host with a message naming the setting.</summary>
public class TransportOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> overrides, bool functionsApp = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Nylas:Database:Global"] = "Server=127.0.0.1;Database=g",
            ["Nylas:Database:Shards:0"] = "Server=127.0.0.1;Database=s0",
            ["Nylas:Storage:ConnectionString"] = "UseDevelopmentStorage=true",
            ["Nylas:Security:EncryptionKey"] = Convert.ToBase64String(new byte[32]),
        };
        foreach (var (key, value) in overrides) settings[key] = value;
        var services = new ServiceCollection().AddLogging();
        services.AddNylasEngine(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        if (functionsApp) Nylas.Functions.IngestFunctions.RequireTriggerForTransport(services);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Storage_queues_are_the_default_and_Service_Bus_is_chosen_by_name_in_any_case()
    {
        await using (var storage = Build([]))
            Assert.IsType<StorageQueueIngestQueue>(storage.GetRequiredService<IIngestQueue>());
        await using var serviceBus = Build(new() { ["Nylas:Transport"] = "servicebus", ["ServiceBusConnection"] = "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=dGVzdA==;UseDevelopmentEmulator=true" });
        Assert.IsType<ServiceBusIngestQueue>(serviceBus.GetRequiredService<IIngestQueue>());
    }

    [Fact]
    public async Task Managed_identity_needs_only_the_namespace_as_the_Bicep_sets_it()
    {
        await using var provider = Build(new() { ["Nylas:Transport"] = "ServiceBus", ["ServiceBusConnection:fullyQualifiedNamespace"] = "nylas-sb.servicebus.windows.net" });
        var options = provider.GetRequiredService<IOptions<TransportOptions>>().Value;
        Assert.Equal("nylas-sb.servicebus.windows.net", options.ServiceBusNamespace);
        Assert.Equal("nylas-sb.servicebus.windows.net", provider.GetRequiredService<Azure.Messaging.ServiceBus.ServiceBusClient>().FullyQualifiedNamespace);
    }

    [Theory]
    [InlineData("Kafka", null, "Nylas:Transport must be StorageQueues or ServiceBus")]
    [InlineData("2", null, "Nylas:Transport must be StorageQueues or ServiceBus")]
    [InlineData("ServiceBus", null, "ServiceBusConnection__fullyQualifiedNamespace")]
    public void A_wrong_or_incomplete_transport_is_refused_by_name(string transport, string? connection, string named)
    {
        using var provider = Build(new() { ["Nylas:Transport"] = transport, ["ServiceBusConnection"] = connection });
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TransportOptions>>().Value);
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void A_Functions_build_without_the_Service_Bus_trigger_refuses_the_Service_Bus_transport()
    {
        Assert.False(Nylas.Functions.IngestFunctions.HasServiceBusTrigger, "this test runs on the default build");
        using var provider = Build(new() { ["Nylas:Transport"] = "ServiceBus", ["ServiceBusConnection:fullyQualifiedNamespace"] = "x.servicebus.windows.net" }, functionsApp: true);
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TransportOptions>>().Value);
        Assert.Contains("-p:NylasServiceBusTrigger=true", error.Message);
        using var storage = Build([], functionsApp: true);
        Assert.Equal(IngestTransportKind.StorageQueues, storage.GetRequiredService<IOptions<TransportOptions>>().Value.Kind);
    }
}
