using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Queues;
using Nylas.Engine.Sync;
using Nylas.LocalHost;
using Nylas.Testing;

namespace Nylas.SyncBench;

/// <summary>One observation of the pipeline while the initial sync runs.</summary>
public sealed record Sample(TimeSpan At, long ApiCount, long Queued, int? QueueLength, bool CheckpointsComplete, CpuSnapshot Cpu, TimeSpan? QueueCallLatency, long? AzuriteRssMb);

public sealed record FirstPage(TimeSpan VisibleAt, TimeSpan ListedAt, long CountWhenSeen, IReadOnlyList<(string Id, string? FolderName)> Messages);

public sealed record EndToEndResult(
    long AccountId, string AccountPublicId, int ShardId, TimeSpan PostTook, TimeSpan? Done, bool TimedOut, bool Stuck, TimeSpan LastProgress, long FinalCount,
    string? HostStopped, bool Stalled,
    FirstPage? First, IReadOnlyList<Sample> Samples, TimeSpan? AllQueued, TimeSpan? CheckpointsComplete, TimeSpan? Waiting,
    CpuSnapshot? CpuDuringSync, int PoisonMessages, string? SyncState, string? SyncError,
    IReadOnlyList<(string What, TimeSpan? At)> Milestones, CpuSnapshot? CpuUntilAllQueued, CpuSnapshot? CpuAfterAllQueued);

/// <summary>
/// The local host in this process (API on Kestrel, durable sync on Azurite, ingest queue pump) with its own
/// databases, task hub and ingest queue; connects the benchmark mailbox over plain IMAP and watches the API.
/// </summary>
public sealed class HostUnderTest : IAsyncDisposable
{
    private HostUnderTest(WebApplication app, TestDatabases databases, Dictionary<string, string?> settings, Uri baseAddress, string clientId, string clientSecret)
        => (App, Databases, Settings, BaseAddress, ClientId, ClientSecret) = (app, databases, settings, baseAddress, clientId, clientSecret);

    public WebApplication App { get; }
    public TestDatabases Databases { get; }
    public Dictionary<string, string?> Settings { get; }
    public Uri BaseAddress { get; }
    public string ClientId { get; }
    public string ClientSecret { get; }
    public string? AccessToken { get; set; }

    public static async Task<HostUnderTest> StartAsync(BenchLog log, int idleSeconds, IEnumerable<KeyValuePair<string, string>> extraSettings, CancellationToken cancellationToken)
    {
        TestDatabases databases;
        try
        {
            databases = await TestStack.CreateDatabasesAsync();
        }
        catch (MySqlException ex)
        {
            throw new StackUnavailableException($"cannot reach MariaDB ({ex.Message})", ex);
        }
        string id = Guid.NewGuid().ToString("N")[..12];
        var settings = databases.EngineSettings();
        settings["Nylas:Durable:TaskHub"] = "sb" + id;
        settings["Nylas:Storage:IngestQueue"] = "ingest-sb-" + id;
        settings["Nylas:Sync:IdleSeconds"] = idleSeconds.ToString();
        foreach (var (key, value) in extraSettings) settings[key] = value;

        var app = LocalHostApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(log);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Nylas", LogLevel.Information);
        });
        await app.Services.PrepareStorageAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var (application, secret) = await app.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("sync benchmark", cancellationToken);
        return new HostUnderTest(app, databases, settings, new Uri(address), application.ClientId, secret);
    }

    public HttpClient Client(bool appAuth = false)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        string? user = appAuth ? ClientSecret : AccessToken;
        if (user is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":")));
        return http;
    }

    public async Task<long> CountAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var json = await http.GetFromJsonAsync<JsonElement>("/messages?view=count", cancellationToken);
        return json.GetProperty("count").GetInt64();
    }

    public string Shard(int shardId) => shardId == 0 ? Databases.Shard0 : Databases.Shard1;

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await App.StopAsync(stop.Token); }
        catch (OperationCanceledException) { Console.WriteLine("  (host did not stop within 60 s)"); }
        await App.DisposeAsync();
    }
}

public static class EndToEnd
{
    public static async Task<EndToEndResult> RunAsync(HostUnderTest host, SeedResult seed, ProcessCpu cpu, BenchLog log, TimeSpan timeout, CancellationToken cancellationToken)
    {
        int total = seed.Items.Count;
        var sortedUids = seed.UidsByFolder.ToDictionary(kv => kv.Key, kv => kv.Value.Order().ToArray());
        var queue = host.App.Services.GetRequiredService<StorageQueueIngestQueue>();

        var body = new JsonObject
        {
            ["email_address"] = seed.User,
            ["name"] = "Sync Benchmark",
            ["provider"] = "imap",
            ["settings"] = new JsonObject
            {
                ["imap_host"] = TestStack.ImapHost,
                ["imap_port"] = TestStack.ImapPort,
                ["imap_security"] = "none",
                ["imap_username"] = seed.User,
                ["imap_password"] = TestStack.ImapPassword,
            },
        };

        var cpuStart = cpu.Snapshot();
        using var timeline = new FirstPageTimeline();
        log.ResetClock("end-to-end: POST /a/{client_id}/accounts");
        int eventsBefore = log.Events.Count;
        timeline.Start();
        var t0Utc = DateTime.UtcNow;
        var t0 = Stopwatch.StartNew();
        string accountPublicId;
        using (var appHttp = host.Client(appAuth: true))
        using (var response = await appHttp.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken))
        {
            string text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"connecting the account failed: {(int)response.StatusCode} {text}");
            var json = JsonNode.Parse(text)!;
            host.AccessToken = json["access_token"]!.GetValue<string>();
            accountPublicId = json["id"]!.GetValue<string>();
        }
        var postTook = t0.Elapsed;

        long accountId;
        int shardId;
        await using (var global = new MySqlConnection(host.Databases.Global))
        {
            await global.OpenAsync(cancellationToken);
            await using var cmd = new MySqlCommand("SELECT id, shard_id FROM accounts WHERE public_id = @p", global);
            cmd.Parameters.AddWithValue("@p", accountPublicId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            (accountId, shardId) = (r.GetInt64(0), r.GetInt32(1));
        }
        string shard = host.Shard(shardId);

        // Sampler: checkpoints (what the sync step has queued), the ingest queue's length, CPU, every 500 ms.
        long lastCount = 0;
        var samples = new List<Sample>();
        using var samplerStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            await using var db = new MySqlConnection(shard);
            await db.OpenAsync(samplerStop.Token);
            while (!samplerStop.IsCancellationRequested)
            {
                var at = t0.Elapsed;
                long queued = 0;
                bool complete = true;
                await using (var cmd = new MySqlCommand("SELECT name, synced_low_uid, synced_high_uid FROM folders WHERE account_id = @a", db))
                {
                    cmd.Parameters.AddWithValue("@a", accountId);
                    var seen = new HashSet<string>();
                    await using var r = await cmd.ExecuteReaderAsync(samplerStop.Token);
                    while (await r.ReadAsync(samplerStop.Token))
                    {
                        string name = r.GetString(0);
                        if (!sortedUids.TryGetValue(name, out var uids) || uids.Length == 0) continue;
                        seen.Add(name);
                        ulong low = Convert.ToUInt64(r.GetValue(1)), high = Convert.ToUInt64(r.GetValue(2));
                        if (low == 0 && high == 0) { complete = false; continue; }
                        queued += uids.Count(u => u > low && u <= high);
                        if (low != 0 || high < uids[^1]) complete = false;
                    }
                    if (seen.Count < sortedUids.Count(kv => kv.Value.Length > 0)) complete = false;
                }
                int? length = null;
                TimeSpan? latency = null;
                var call = Stopwatch.StartNew();
                using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(samplerStop.Token))
                {
                    // How responsive Azurite is: one tiny request, given up after 5 s so that sampling goes on.
                    bounded.CancelAfter(TimeSpan.FromSeconds(5));
                    try
                    {
                        length = (await queue.Queue.GetPropertiesAsync(bounded.Token)).Value.ApproximateMessagesCount;
                        latency = call.Elapsed;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !samplerStop.IsCancellationRequested) { }
                }
                lock (samples) samples.Add(new Sample(at, Interlocked.Read(ref lastCount), queued, length, complete, cpu.Snapshot(), latency, cpu.AzuriteRssMb()));
                try { await Task.Delay(500, samplerStop.Token); } catch (OperationCanceledException) { break; }
            }
        }, CancellationToken.None);

        using var http = host.Client();
        FirstPage? first = null;
        TimeSpan? done = null;
        bool timedOut = false, stuck = false, stalled = false;
        string? hostStopped = null;
        var lifetime = host.App.Lifetime;
        long count = 0, lastSeen = -1;
        var lastProgress = TimeSpan.Zero;
        var progress = Stopwatch.StartNew();
        while (true)
        {
            var iteration = Stopwatch.StartNew();
            count = await host.CountAsync(http, cancellationToken);
            Interlocked.Exchange(ref lastCount, count);
            var at = t0.Elapsed;
            if (first is null && count >= 100)
            {
                var page = await http.GetFromJsonAsync<JsonElement>("/messages?limit=100", cancellationToken);
                var list = page.EnumerateArray().Select(m => (m.GetProperty("id").GetString()!,
                    m.TryGetProperty("folder", out var f) && f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null)).ToList();
                first = new FirstPage(at, t0.Elapsed, count, list);
                Console.WriteLine($"  first 100 visible after {at.TotalSeconds:F2} s (count {count})");
                timeline.Stop();
                PrintTimeline(timeline, log, eventsBefore, at);
            }
            if (count >= total) { done = at; break; }
            if (count != lastSeen) { lastSeen = count; lastProgress = at; }
            if (at > timeout) { timedOut = true; break; }
            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // A background service of the host failed (BackgroundServiceExceptionBehavior.StopHost): the real local host would exit here.
                var why = log.Events.LastOrDefault(e => e.Category.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) && e.Level >= LogLevel.Error);
                hostStopped = why?.Message ?? "the host is stopping";
                Console.WriteLine($"  HOST STOPPING at {at.TotalSeconds:F0} s: {hostStopped}");
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
                count = await host.CountAsync(http, cancellationToken);
                break;
            }
            if (at - lastProgress > TimeSpan.FromMinutes(5))
            {
                stalled = true;
                break;
            }
            // Nothing left to wait for: the sync step has queued everything, the ingest queue is empty (retries
            // waiting for their next delivery still count in its length) and nothing arrived for 30 s.
            Sample? latest;
            lock (samples) latest = samples.LastOrDefault();
            if (at - lastProgress > TimeSpan.FromSeconds(30) && latest is { CheckpointsComplete: true, QueueLength: 0 } && latest.At - lastProgress > TimeSpan.FromSeconds(30))
            {
                stuck = true;
                break;
            }
            if (progress.Elapsed > TimeSpan.FromSeconds(10))
            {
                progress.Restart();
                Sample? last;
                lock (samples) last = samples.LastOrDefault();
                Console.WriteLine($"  t={at.TotalSeconds,6:F0} s  visible {count,6}/{total}  queued by sync {last?.Queued,6}  ingest queue {last?.QueueLength,6}  queue call {last?.QueueCallLatency?.TotalMilliseconds,5:F0} ms");
            }
            var wait = TimeSpan.FromMilliseconds(100) - iteration.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
        }
        var cpuEnd = cpu.Snapshot();
        Console.WriteLine(timedOut ? $"  TIMED OUT after {t0.Elapsed.TotalSeconds:F0} s with {count}/{total} visible"
            : stalled ? $"  STALLED: {count}/{total} visible, none since {lastProgress.TotalSeconds:F1} s (5 min without progress)"
            : hostStopped is not null ? $"  {count}/{total} visible when the host began to stop"
            : stuck ? $"  STUCK: {count}/{total} visible, none since {lastProgress.TotalSeconds:F1} s, the sync step has queued everything and the ingest queue is empty"
            : $"  all {total} visible after {done!.Value.TotalSeconds:F2} s");

        // Let the sync step finish its pass (checkpoints, CONDSTORE state) and the orchestration go to its wait step.
        var durable = host.App.Services.GetRequiredService<DurableTaskClient>();
        string instanceId = DurableAccountSyncControl.InstanceId(accountId);
        TimeSpan? waiting = null;
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromMinutes(timedOut || stalled || hostStopped is not null ? 0.1 : stuck ? 0.5 : 3))
        {
            var meta = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
            bool complete;
            lock (samples) complete = samples.LastOrDefault()?.CheckpointsComplete ?? false;
            if (complete && meta?.SerializedCustomStatus is { } status && status.Contains("waiting", StringComparison.OrdinalIgnoreCase))
            {
                waiting = t0.Elapsed;
                break;
            }
            await Task.Delay(200, cancellationToken);
        }
        await samplerStop.CancelAsync();
        // Stopping it may cancel a query or queue call under way: that ends the sampler, it is no failure.
        try { await sampler; }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { }

        TimeSpan? allQueued, checkpointsComplete;
        lock (samples)
        {
            allQueued = samples.FirstOrDefault(s => s.Queued >= total)?.At;
            checkpointsComplete = samples.FirstOrDefault(s => s.CheckpointsComplete)?.At;
        }

        int poison = 0;
        try { poison = (await queue.PoisonQueue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount; }
        catch (Exception ex) when (ex is not OperationCanceledException) { poison = -1; }

        string? syncState = null, syncError = null;
        await using (var global = new MySqlConnection(host.Databases.Global))
        {
            await global.OpenAsync(cancellationToken);
            await using var cmd = new MySqlCommand("SELECT sync_state, sync_error FROM accounts WHERE id = @id", global);
            cmd.Parameters.AddWithValue("@id", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            if (await r.ReadAsync(cancellationToken)) (syncState, syncError) = (r.IsDBNull(0) ? null : r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1));
        }

        // Milestones from the change log: folder rows (the sync step is logged in and has listed the folders) and
        // message rows (committed by ingest), stamped by the engine's clock.
        TimeSpan? firstFolder = null, firstMessage = null, hundredthMessage = null, lastMessage = null;
        await using (var db = new MySqlConnection(shard))
        {
            await db.OpenAsync(cancellationToken);
            TimeSpan? Rel(object? v) => v is DateTime d ? DateTime.SpecifyKind(d, DateTimeKind.Utc) - t0Utc : null;
            await using (var cmd = new MySqlCommand("SELECT MIN(created_at) FROM transactions WHERE account_id = @a AND object_type = 'folder' AND command = 'insert'", db))
            {
                cmd.Parameters.AddWithValue("@a", accountId);
                firstFolder = Rel(await cmd.ExecuteScalarAsync(cancellationToken));
            }
            await using (var cmd = new MySqlCommand("SELECT created_at FROM transactions WHERE account_id = @a AND object_type = 'message' AND command = 'insert' ORDER BY created_at, seq LIMIT 100", db))
            {
                cmd.Parameters.AddWithValue("@a", accountId);
                var times = new List<TimeSpan?>();
                await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken)) times.Add(Rel(r.GetDateTime(0)));
                firstMessage = times.FirstOrDefault();
                hundredthMessage = times.Count >= 100 ? times[99] : null;
            }
            await using (var cmd = new MySqlCommand("SELECT MAX(created_at) FROM transactions WHERE account_id = @a AND object_type = 'message' AND command = 'insert'", db))
            {
                cmd.Parameters.AddWithValue("@a", accountId);
                lastMessage = Rel(await cmd.ExecuteScalarAsync(cancellationToken));
            }
        }
        var milestones = new List<(string, TimeSpan?)>
        {
            ("POST returned (login verified, account stored, orchestration scheduled)", postTook),
            ("sync step running: first folder row written (logged in, folders listed)", firstFolder),
            ("first message row committed by ingest", firstMessage),
            ("100th message row committed by ingest", hundredthMessage),
            ("100 messages seen by the 100 ms `view=count` poll", first?.VisibleAt),
            ("sync step had queued every message (checkpoints)", allQueued),
            ("last message row committed by ingest", lastMessage),
            ("all messages seen by the poll", done),
        };
        CpuSnapshot? untilQueued = null, afterQueued = null;
        if (allQueued is { } aq && samples.FirstOrDefault(s => s.At >= aq) is { } mark)
        {
            untilQueued = mark.Cpu.Minus(cpuStart);
            afterQueued = cpuEnd.Minus(mark.Cpu);
        }

        // Keep the host (and so the API) up, but stop its sync so that nothing runs under the incremental cycles.
        try
        {
            await durable.SuspendInstanceAsync(instanceId, "sync benchmark: incremental cycles are run directly", cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Console.WriteLine($"  could not suspend the orchestration: {ex.Message}");
        }

        return new EndToEndResult(accountId, accountPublicId, shardId, postTook, done, timedOut, stuck, lastProgress, count, hostStopped, stalled, first, samples, allQueued, checkpointsComplete,
            waiting, cpuEnd.Minus(cpuStart), poison, syncState, syncError, milestones, untilQueued, afterQueued);
    }

    /// <summary>The spans and the engine's log lines until the first page was seen, on the POST's clock (console and log file).</summary>
    private static void PrintTimeline(FirstPageTimeline timeline, BenchLog log, int eventsBefore, TimeSpan until)
    {
        var lines = timeline.Lines(until).Select(l => (At: double.Parse(l[..8].Trim(), System.Globalization.CultureInfo.InvariantCulture), Line: l))
            .Concat(log.Events.Skip(eventsBefore).Where(e => e.At <= until && e.Category.StartsWith("Nylas", StringComparison.Ordinal))
                .Select(e => (At: e.At.TotalMilliseconds, Line: $"{e.At.TotalMilliseconds,8:F0} ms  log {e.Category.Split('.')[^1]}[{e.EventId}] {e.Message}")))
            .OrderBy(l => l.At);
        Console.WriteLine("  timeline until the first 100 were seen (ms since the POST; spans with the storage/MySQL requests inside them):");
        log.Write("==== first-page timeline ====");
        foreach (var (_, line) in lines)
        {
            Console.WriteLine("    " + line);
            log.Write(line);
        }
    }
}
