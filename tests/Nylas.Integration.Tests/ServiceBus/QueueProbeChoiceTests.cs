using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine;
using Nylas.Engine.Queues;
using Nylas.Engine.Telemetry;
using Xunit;

namespace Nylas.Integration.Tests.ServiceBus;

/// <summary>The queue-depth gauges read the transport in use: the storage queue, or nothing on Service Bus (never the idle storage queue's zero).</summary>
public class QueueProbeChoiceTests
{
    private static IIngestQueueProbe ProbeFor(string transport)
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
        var services = new ServiceCollection().AddLogging().AddNylasEngine(configuration).BuildServiceProvider();
        return services.GetRequiredService<IIngestQueueProbe>();
    }

    [Fact]
    public async Task Service_Bus_reports_no_depth_rather_than_the_storage_queue()
    {
        var probe = ProbeFor("ServiceBus");
        Assert.IsType<UnreportedQueueProbe>(probe);
        Assert.Null(await probe.ProbeAsync(CancellationToken.None));
    }

    [Fact]
    public void Storage_queues_are_read_by_the_storage_probe()
        => Assert.IsType<StorageQueueProbe>(ProbeFor("StorageQueues"));
}
