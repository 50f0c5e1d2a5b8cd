using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine;
using Nylas.Engine.Queues;
using Nylas.Engine.Telemetry;
using Xunit;

namespace Nylas.Integration.Tests.ServiceBus;

/// <summary>/health and the queue-depth gauges read the transport in use: the storage queue, or the Service Bus queue (never the idle storage queue).</summary>
public class QueueProbeChoiceTests
{
    private static ServiceProvider EngineFor(string transport)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Nylas:Transport"] = transport,
            ["ServiceBusConnection"] = "Endpoint=sb://probe.invalid/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0",
            ["Nylas:Storage:ConnectionString"] = "UseDevelopmentStorage=true",
            // Nothing is connected: these only satisfy the options' validation.
            ["Nylas:Database:Global"] = "Server=127.0.0.1;Database=unused",
            ["Nylas:Database:Shards:0"] = "Server=127.0.0.1;Database=unused",
            ["Nylas:Security:EncryptionKey"] = Convert.ToBase64String(new byte[32]),
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddNylasEngine(configuration).BuildServiceProvider();
    }

    [Fact]
    public async Task Service_Bus_is_probed_and_checked_on_the_Service_Bus_queue()
    {
        await using var services = EngineFor("ServiceBus");
        Assert.IsType<ServiceBusQueueProbe>(services.GetRequiredService<IIngestQueueProbe>());
        var check = Assert.IsType<ServiceBusQueueProbe>(services.GetRequiredService<IIngestTransportCheck>());
        Assert.Equal("servicebus", check.Name);
    }

    [Fact]
    public async Task Storage_queues_are_probed_and_checked_on_the_storage_queue()
    {
        await using var services = EngineFor("StorageQueues");
        Assert.IsType<StorageQueueProbe>(services.GetRequiredService<IIngestQueueProbe>());
        Assert.Equal("queue", Assert.IsType<StorageQueueProbe>(services.GetRequiredService<IIngestTransportCheck>()).Name);
    }
}
