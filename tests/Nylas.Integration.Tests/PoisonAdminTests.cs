using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Accounts;
using Nylas.Engine.Hosting;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.Webhooks;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>A local host that parks a message after two failed deliveries of its own.</summary>
public sealed class PoisonAdminHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Ingest:MaxDequeueCount"] = "2";
        // Its own webhook queue (the fixture gives each host its own ingest queue only): the poison queue is listed whole.
        settings["Nylas:Storage:WebhookQueue"] = "webhooks-" + Guid.NewGuid().ToString("N")[..12];
    }
}

/// <summary>
/// Parked work listed and replayed (issue 11, scope item 1) through GET/POST /a/{client_id}/poison and the local host's
/// <c>admin poison</c> command, on Storage Queues; and the metrics that count it.
/// </summary>
public sealed class PoisonAdminTests(PoisonAdminHostFixture host) : IClassFixture<PoisonAdminHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>A message whose raw blob is not there yet (a failure of its own, not the infrastructure's): parked after two deliveries.</summary>
    private async Task<(string Token, string AccountId, string Sha, byte[] Raw)> ParkOneAsync(string subject)
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(accountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {dbId}");
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.Databases.ScalarAsync($"shard{shard}",
            $"SELECT COUNT(*) FROM folders WHERE account_id = {dbId} AND role = 'inbox'") == 1, Timeout));
        long inbox = await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {dbId} AND role = 'inbox'");
        using var raw = new MemoryStream();
        await TestStack.SimpleMessage(email, subject).WriteToAsync(raw);
        string sha = Convert.ToHexStringLower(SHA256.HashData(raw.ToArray()));
        await host.App.Services.GetRequiredService<IIngestQueue>().EnqueueAsync(
            [new IngestMessage(dbId, shard, inbox, 0, 7001, RawMailStore.BlobName(sha), sha, raw.Length, [], 1_790_000_000)]);
        return (token, accountId, sha, raw.ToArray());
    }

    private async Task<JsonElement[]> ListAsync(HttpClient app, string clientId, string queue = "ingest")
    {
        using var response = await app.GetAsync($"/a/{clientId}/poison?queue={queue}");
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("messages").EnumerateArray()];
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "text/plain");

    [Fact]
    public async Task A_parked_message_is_listed_for_its_application_only_counted_and_replayed_once_its_cause_is_fixed()
    {
        var (token, accountId, sha, raw) = await ParkOneAsync("parked, then replayed");
        using var app = host.AppClient();
        JsonElement parked = default;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var listed = (await ListAsync(app, host.ClientId)).Where(m => m.GetProperty("account_ids")[0].GetString() == accountId).ToList();
            if (listed.Count == 1) parked = listed[0];
            return listed.Count == 1;
        }, Timeout));
        Assert.StartsWith("RequestFailedException", parked.GetProperty("reason").GetString());
        Assert.Contains("BlobNotFound", parked.GetProperty("error").GetString());
        Assert.Equal(2, parked.GetProperty("delivery_count").GetInt64());
        string id = parked.GetProperty("id").GetString()!;

        // Another application of this server neither sees nor replays it.
        var (other, otherSecret) = await host.App.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("another application");
        using var otherApp = host.Client();
        otherApp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(otherSecret + ":")));
        Assert.DoesNotContain(await ListAsync(otherApp, other.ClientId), m => m.GetProperty("id").GetString() == id);
        using (var refused = await otherApp.PostAsync($"/a/{other.ClientId}/poison/replay", Json($$"""{"ids":["{{id}}"]}""")))
            Assert.Equal(0, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());

        // Counted: the parked delivery and the poison queue's size.
        using var metricsClient = host.Client();
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await metricsClient.GetStringAsync("/metrics"),
            @"(?m)^nylas_ingest_deliveries_total\{[^}]*nylas_outcome=""parked""[^}]*\} [1-9]"), Timeout));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            System.Text.RegularExpressions.Regex.IsMatch(await metricsClient.GetStringAsync("/metrics"), @"(?m)^nylas_ingest_poison_depth(\{[^}]*\})? [1-9]"), Timeout));

        // The cause fixed (the blob written), the replay stores it.
        await host.App.Services.GetRequiredService<RawMailStore>().PutAsync(sha, new MemoryStream(raw));
        using (var replay = await app.PostAsync($"/a/{host.ClientId}/poison/replay", Json($$"""{"queue":"ingest","ids":["{{id}}"]}""")))
        {
            var answer = await replay.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
            Assert.Equal(1, answer.GetProperty("replayed").GetInt32());
            Assert.Equal(id, answer.GetProperty("ids")[0].GetString());
        }
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, Timeout));
        Assert.DoesNotContain(await ListAsync(app, host.ClientId), m => m.GetProperty("id").GetString() == id);
        // The exporter caches a scrape for a moment (300 ms): a scrape just after the previous one may not show it yet.
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await metricsClient.GetStringAsync("/metrics"),
            @"(?m)^nylas_poison_replayed_total\{[^}]*nylas_queue=""ingest""[^}]*\} [1-9]"), Timeout));
    }

    [Fact]
    public async Task Bad_replay_requests_are_a_400_with_a_reason()
    {
        using var app = host.AppClient();
        foreach (string body in new[] { "{}", """{"all":true,"ids":["1"]}""", """{"queue":"outbox","all":true}""", """{"ids":"1"}""", """{"every":true}""" })
        {
            using var response = await app.PostAsync($"/a/{host.ClientId}/poison/replay", Json(body));
            await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        }
        using var list = await app.GetAsync($"/a/{host.ClientId}/poison?queue=outbox");
        await ApiErrors.AssertAsync(list, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Parked_webhook_work_is_listed_and_replayed_through_the_same_channel()
    {
        var (_, _, accountId) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(accountId);
        // What the webhook delivery policy writes when it parks a work item.
        var webhooks = host.App.Services.GetRequiredService<StorageQueueWebhookQueue>();
        string body = WebhookWorkCodec.Encode(new WebhookWork(424242, dbId));
        await webhooks.PoisonQueue.SendMessageAsync(StorageQueueDelivery.PoisonEnvelope(body, DeliveryFailure.From(new InvalidOperationException("receiver gone"), 5)));

        using var app = host.AppClient();
        var parked = Assert.Single(await ListAsync(app, host.ClientId, "webhooks"), m => m.GetProperty("account_ids")[0].GetString() == accountId);
        using (var replay = await app.PostAsync($"/a/{host.ClientId}/poison/replay", Json("""{"queue":"webhooks","all":true}""")))
            Assert.Contains((await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids").EnumerateArray(), i => i.GetString() == parked.GetProperty("id").GetString());
        Assert.DoesNotContain(await ListAsync(app, host.ClientId, "webhooks"), m => m.GetProperty("account_ids")[0].GetString() == accountId);
    }

    [Fact]
    public async Task The_admin_command_lists_and_replays_what_was_parked_whatever_its_application()
    {
        var (token, accountId, sha, raw) = await ParkOneAsync("replayed by the operator");
        long dbId = await host.Databases.AccountRowIdAsync(accountId);
        string? line = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            var (code, output, _) = await AdminAsync("poison", "list", "--queue", "ingest");
            Assert.Equal(0, code);
            line = output.Split('\n').FirstOrDefault(l => l.Contains($"accounts={dbId}\t", StringComparison.Ordinal));
            return line is not null;
        }, Timeout));
        string id = line!.Split('\t')[0];
        Assert.Contains("RequestFailedException", line);

        await host.App.Services.GetRequiredService<RawMailStore>().PutAsync(sha, new MemoryStream(raw));
        var (replayCode, replayOutput, replayErrors) = await AdminAsync("poison", "replay", id);
        Assert.True(replayCode == 0, replayErrors);
        Assert.Contains($"replayed {id}", replayOutput);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, Timeout));

        // An id that is not (or no longer) parked: exit code 1.
        Assert.Equal(1, (await AdminAsync("poison", "replay", id)).Code);
    }

    /// <summary>Runs <c>Nylas.LocalHost admin …</c> as an operator would, with this host's settings as environment variables.</summary>
    private async Task<(int Code, string Output, string Errors)> AdminAsync(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Nylas.LocalHost.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("admin");
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in host.App.Services.GetRequiredService<IConfiguration>().AsEnumerable())
            if (key.StartsWith("Nylas:", StringComparison.Ordinal) && value is not null) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await errors);
    }
}

/// <summary>The same listing and replay on the Service Bus transport: the dead-letter sub-queue of the in-process test broker.</summary>
public sealed class ServiceBusPoisonTests(ServiceBusHostFixture host) : IClassFixture<ServiceBusHostFixture>
{
    [Fact]
    public async Task A_dead_lettered_message_is_listed_and_replayed_onto_the_queue_once_its_cause_is_fixed()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        long dbId = await host.Databases.AccountRowIdAsync(accountId);
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {dbId}");
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.Databases.ScalarAsync($"shard{shard}",
            $"SELECT COUNT(*) FROM folders WHERE account_id = {dbId} AND role = 'inbox'") == 1, TimeSpan.FromSeconds(60)));
        long inbox = await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {dbId} AND role = 'inbox'");
        using var raw = new MemoryStream();
        await TestStack.SimpleMessage(email, "dead-lettered, then replayed").WriteToAsync(raw);
        string sha = Convert.ToHexStringLower(SHA256.HashData(raw.ToArray()));
        await host.App.Services.GetRequiredService<IIngestQueue>().EnqueueAsync(
            [new IngestMessage(dbId, shard, inbox, 0, 7101, RawMailStore.BlobName(sha), sha, raw.Length, [], 1_790_000_000)]);

        var poison = host.App.Services.GetRequiredService<PoisonQueues>();
        PoisonedMessage? parked = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (parked = (await poison.ListAsync(PoisonQueues.Ingest, 100, CancellationToken.None)).FirstOrDefault(p => p.AccountIds.Contains(dbId))) is not null,
            TimeSpan.FromSeconds(60)));
        Assert.StartsWith("RequestFailedException", parked!.Reason);
        Assert.Equal(2, parked.DeliveryCount);

        await host.App.Services.GetRequiredService<RawMailStore>().PutAsync(sha, new MemoryStream(raw.ToArray()));
        using var app = host.AppClient();
        using (var replay = await app.PostAsync($"/a/{host.ClientId}/poison/replay",
            new StringContent($$"""{"ids":["{{parked.Id}}"]}""", Encoding.UTF8, "text/plain")))
            Assert.Equal(1, (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32());
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain(await poison.ListAsync(PoisonQueues.Ingest, 100, CancellationToken.None), p => p.Id == parked.Id);
    }
}
