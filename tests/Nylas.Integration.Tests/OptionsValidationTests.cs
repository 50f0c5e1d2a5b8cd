using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Storage;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>A malformed setting stops a host with a message naming it, in every section (not only the top level).</summary>
public class OptionsValidationTests
{
    private static NylasOptions Resolve(Dictionary<string, string?> overrides)
    {
        using var provider = Build(overrides);
        return provider.GetRequiredService<IOptions<NylasOptions>>().Value;
    }

    private static ServiceProvider Build(Dictionary<string, string?> overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Nylas:Database:Global"] = "Server=127.0.0.1;Database=g",
            ["Nylas:Database:Shards:0"] = "Server=127.0.0.1;Database=s0",
            ["Nylas:Storage:ConnectionString"] = "UseDevelopmentStorage=true",
            ["Nylas:Security:EncryptionKey"] = Convert.ToBase64String(new byte[32]),
        };
        foreach (var (key, value) in overrides) settings[key] = value;
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddNylasEngine(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Valid_settings_resolve()
    {
        var options = Resolve([]);
        Assert.Equal(20, options.Api.RateLimitPerSecond);
        Assert.Equal(100, options.Ingest.MessagesPerQueueMessage);
    }

    [Theory]
    [InlineData("Nylas:Sync:MaxBatchMessages", "0", "MaxBatchMessages")]
    [InlineData("Nylas:Ingest:MessagesPerQueueMessage", "500", "MessagesPerQueueMessage")]
    [InlineData("Nylas:Api:RateLimitPerSecond", "-1", "RateLimitPerSecond")]
    [InlineData("Nylas:Security:EncryptionKey", "", "EncryptionKey")]
    [InlineData("Nylas:Security:EncryptionKey", "c2hvcnQ=", "EncryptionKey")]
    [InlineData("Nylas:Security:PreviousKeys:0", "not a key", "PreviousKeys")]
    [InlineData("Nylas:Connect:AttemptsPerMinutePerAddress", "-1", "AttemptsPerMinutePerAddress")]
    [InlineData("Nylas:Connect:AllowedPrivateNetworks", "10.20.0.0/16, my-server", "AllowedPrivateNetworks")]
    [InlineData("Nylas:Storage:SweepGraceMinutes", "-5", "SweepGraceMinutes")]
    [InlineData("Nylas:Storage:BlobStore", "Disk", "Nylas:Storage:BlobStore must be Azure or FileSystem")]
    [InlineData("Nylas:Storage:BlobStore", "FileSystem", "Nylas:Storage:BlobDirectory is required")]
    public void An_out_of_range_setting_in_a_section_is_refused_by_name(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new() { [key] = value }));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void The_blob_store_is_Azure_by_default_and_FileSystem_with_a_directory()
    {
        using (var azure = Build([]))
            Assert.IsType<AzureBlobContainer>(azure.GetRequiredService<RawMailStore>().Container);
        using var files = Build(new() { ["Nylas:Storage:BlobStore"] = "filesystem", ["Nylas:Storage:BlobDirectory"] = "/var/lib/nylas/blobs" });
        Assert.Equal("/var/lib/nylas/blobs/raw-mail", Assert.IsType<FileSystemBlobContainer>(files.GetRequiredService<RawMailStore>().Container).Directory);
        Assert.Equal("/var/lib/nylas/blobs/files", Assert.IsType<FileSystemBlobContainer>(files.GetRequiredService<FileStore>().Container).Directory);
    }
}
