using System.Net.Http.Json;
using System.Text.Json;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>Restarts the shared test Dovecot, so it runs alone, after the parallel collections.</summary>
[CollectionDefinition(nameof(ServerRestartCollection), DisableParallelization = true)]
public sealed class ServerRestartCollection;

/// <summary>Small batches and steps, so a sync is still running when the server goes away.</summary>
public sealed class SlowSyncHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:MaxBatchMessages"] = "10";
        settings["Nylas:Sync:MaxMessagesPerStep"] = "40";
        settings["Nylas:Sync:IdleSeconds"] = "2";
    }
}

[Collection(nameof(ServerRestartCollection))]
public class ServerRestartTests(SlowSyncHostFixture host, ITestOutputHelper output) : IClassFixture<SlowSyncHostFixture>
{
    [Fact]
    public async Task A_server_restart_mid_sync_resumes_from_the_checkpoint_without_duplicates_or_losses()
    {
        string email = TestStack.NewMailbox();
        const int total = 400;
        var baseDate = DateTimeOffset.UtcNow.AddDays(-10);
        await TestStack.AppendManyAsync(email, Enumerable.Range(0, total).Select(i =>
        {
            var m = TestStack.SimpleMessage(email, $"restart {i:D3}");
            m.Date = baseDate.AddMinutes(i);
            return m;
        }));
        using var response = await host.PostAccountAsync(email);
        string token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) >= 20, TimeSpan.FromSeconds(30)));
        long before = await host.CountMessagesAsync(token);
        await TestStack.RestartDovecotAsync(TimeSpan.FromSeconds(1));
        output.WriteLine($"Dovecot restarted with {before} of {total} messages synced");
        Assert.True(before < total, "the sync finished before the restart; the test did not test a restart mid-sync");

        var elapsed = await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == total, TimeSpan.FromSeconds(120));
        Assert.True(elapsed.HasValue, $"only {await host.CountMessagesAsync(token)} of {total} messages after the restart");
        output.WriteLine($"all {total} messages served {elapsed.Value.TotalSeconds:F1} s after the restart");

        using var http = host.Client(token);
        var subjects = new List<string>();
        for (int offset = 0; offset < total; offset += 100)
            subjects.AddRange((await http.GetFromJsonAsync<JsonElement>($"/messages?limit=100&offset={offset}")).EnumerateArray().Select(m => m.GetProperty("subject").GetString()!));
        Assert.Equal(total, subjects.Distinct().Count());
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await http.GetFromJsonAsync<JsonElement>("/account")).GetProperty("sync_state").GetString() == "running", TimeSpan.FromSeconds(30)));
    }
}
