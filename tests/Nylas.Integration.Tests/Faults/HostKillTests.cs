using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MailKit;
using Nylas.Testing;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>
/// The built local host as a child process (<see cref="HostProcess"/>), SIGKILLed mid-work and started again over the
/// same databases, storage and task hub. Each scenario is its own class, so that their minutes of waiting for
/// recovery run in parallel.
/// </summary>
public abstract class HostKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    protected ITestOutputHelper Output => output;

    /// <summary>
    /// A line of the test's output, also written to the host's log as it happens: xunit shows a test's output only when it
    /// ends, and the large run (ten runs of minutes each) is worth reading while it goes.
    /// </summary>
    protected void Note(string line)
    {
        output.WriteLine(line);
        _host.AppendToLog("test: " + line);
    }

    /// <summary>How long the host may take to finish after a restart: DurableTask.AzureStorage hides the queue messages the
    /// dead process had taken for their visibility timeout (minutes), so recovery is measured and printed, not timed.</summary>
    protected static readonly TimeSpan Recovery = TimeSpan.FromMinutes(12);

    /// <summary>
    /// How long a start may take before /health answers: migrations and the task hub first, while the rest of the suite
    /// starts its own hosts on the same two cores (2 min was once not enough in a clean-clone run).
    /// </summary>
    protected static readonly TimeSpan StartWait = TimeSpan.FromMinutes(5);

    protected TestDatabases _databases = null!;
    protected HostProcess _host = null!;
    protected string _clientId = "", _clientSecret = "";

    public async Task InitializeAsync()
    {
        _databases = await TestStack.CreateDatabasesAsync();
        var settings = _databases.EngineSettings();
        settings["Nylas:Durable:TaskHub"] = "k" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Durable:MaxQueuePollingIntervalMs"] = "200";
        settings["Nylas:Storage:IngestQueue"] = "ingest-" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Connect:AttemptsPerMinutePerAddress"] = "1000";
        // Small steps and batches, as the fault harness's host has them: a kill lands mid-sync, between checkpoints.
        settings["Nylas:Sync:MaxBatchMessages"] = "25";
        settings["Nylas:Sync:MaxMessagesPerStep"] = "100";
        settings["Nylas:Sync:IdleSeconds"] = "3";
        settings["Nylas:Api:RateLimitPerSecond"] = "0";
        settings["Nylas:Watch:LeaseSeconds"] = "10";
        // Quiet logs and the workstation GC: several hosts and the test process share two cores.
        settings["Logging:LogLevel:Default"] = "Warning";
        settings["DOTNET_gcServer"] = "0";
        string dll = Path.Combine(RepoRoot.Path, "functions/Nylas.LocalHost/bin/Debug/net10.0/Nylas.LocalHost.dll");
        string log = Path.Combine(Path.GetTempPath(), $"nylas-hostkill-{settings["Nylas:Durable:TaskHub"]}.log");
        _host = new HostProcess(dll, settings, log);
        output.WriteLine($"host log: {log}");
        await _host.StartAsync(StartWait);
        string created = await _host.AdminAsync(CancellationToken.None, "create-app", "--name", "host kill tests");
        _clientId = created.Split('\n').First(l => l.StartsWith("NYLAS_CLIENT_ID=", StringComparison.Ordinal))["NYLAS_CLIENT_ID=".Length..].Trim();
        _clientSecret = created.Split('\n').First(l => l.StartsWith("NYLAS_CLIENT_SECRET=", StringComparison.Ordinal))["NYLAS_CLIENT_SECRET=".Length..].Trim();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    protected HttpClient Client(string? secret)
    {
        var http = new HttpClient { BaseAddress = _host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (secret is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(secret + ":")));
        return http;
    }

    protected async Task<(string Token, string AccountId)> ConnectAsync(string email)
    {
        var body = new JsonObject
        {
            ["email_address"] = email, ["name"] = "Kill Test", ["provider"] = "imap",
            ["settings"] = new JsonObject
            {
                ["imap_host"] = TestStack.ImapHost, ["imap_port"] = TestStack.ImapsPort, ["imap_username"] = email,
                ["imap_password"] = TestStack.ImapPassword, ["imap_security"] = "ssl", ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
            },
        };
        using var http = Client(_clientSecret);
        using var response = await http.PostAsync($"/a/{_clientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"connect failed: {(int)response.StatusCode} {text}");
        var json = JsonNode.Parse(text)!;
        return (json["access_token"]!.GetValue<string>(), json["id"]!.GetValue<string>());
    }

    protected async Task<long> CountAsync(string token)
    {
        using var http = Client(token);
        try
        {
            return (await http.GetFromJsonAsync<JsonElement>("/messages?view=count")).GetProperty("count").GetInt64();
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }
}

/// <summary>An initial sync SIGKILLed at random points ends with the mirror equal to the server.</summary>
public class HostKillSyncTests(ITestOutputHelper output) : HostKillTests(output)
{
    /// <summary>
    /// A mailbox in four folders (300 messages in the regular run, 3,000 with <c>./dev test --faults</c>), its initial sync
    /// SIGKILLed at random points (2 kills in the regular run; 10 runs of one kill each in the full one), the host started
    /// again each time: the mirror ends equal to the server.
    /// </summary>
    [Fact]
    public async Task An_initial_sync_killed_at_random_points_ends_with_the_mirror_equal_to_the_server()
    {
        int seed = FaultSize.Seed;
        Output.WriteLine($"seed {seed} (NYLAS_TEST_FAULT_SEED={seed} repeats this run)");
        var random = new Random(seed);
        int runs = FaultSize.Full ? 10 : 1, killsPerRun = FaultSize.Full ? 1 : 2;
        var failures = new List<string>();
        for (int run = 0; run < runs; run++)
        {
            string email = TestStack.NewMailbox("k");
            var mailbox = await FaultMailbox.CreateAsync(email, FaultSize.Messages, seed + run);
            if (!_host.Running) await _host.StartAsync(StartWait);
            var (token, accountId) = await ConnectAsync(email);
            var connected = Stopwatch.StartNew();

            for (int kill = 0; kill < killsPerRun; kill++)
            {
                // A point of the sync: a share of the mailbox served (0 = within the first seconds after connect).
                double share = random.NextDouble() < 0.2 ? 0 : 0.05 + random.NextDouble() * 0.85;
                long target = (long)(share * mailbox.Total);
                if (!_host.Running) await _host.StartAsync(StartWait);
                long served = 0;
                if (target == 0) await Task.Delay(random.Next(500, 4000));
                else await TestStack.WaitUntilAsync(async () => (served = await CountAsync(token)) >= target, TimeSpan.FromMinutes(5));
                served = await CountAsync(token);
                await _host.KillAsync();
                Note($"run {run}: SIGKILL {kill + 1} at {served}/{mailbox.Total} served, {connected.Elapsed.TotalSeconds:F0} s after connect ({(target == 0 ? "aimed at the first seconds after a start" : $"aimed at {target}")})");
                await Task.Delay(random.Next(0, 3000));
            }

            await _host.StartAsync(StartWait);
            var restarted = Stopwatch.StartNew();
            using var api = Client(token);
            var report = await MirrorCheck.WaitForEqualAsync(email, _databases, accountId, api, Recovery);
            Note($"run {run}: after the last restart the mirror {(report.Equal ? "equals" : "does NOT equal")} the server after {restarted.Elapsed.TotalSeconds:F0} s\n{report}");
            if (!report.Equal)
                failures.Add($"run {run} ({email}): not equal {Recovery.TotalMinutes:F0} min after the last restart: {string.Join("; ", report.Problems)}");
        }
        Assert.True(failures.Count == 0, $"seed {seed}:\n{string.Join("\n", failures)}\nhost log {_host.LogPath}:\n{_host.Tail()}");
    }
}

/// <summary>Writes the API answered before a SIGKILL reach the server exactly once after the restart.</summary>
public class HostKillWriteTests(ITestOutputHelper output) : HostKillTests(output)
{
    /// <summary>
    /// Writes the API answered 200 to (folder moves, read and starred), the host SIGKILLed right after the last answer,
    /// then started again: each reaches the server exactly once, as an independent IMAP client sees it.
    /// </summary>
    [Fact]
    public async Task Writes_answered_before_a_SIGKILL_reach_the_server_exactly_once_after_the_restart()
    {
        const int count = 12;
        string email = TestStack.NewMailbox("k");
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var root = imap.GetFolder(imap.PersonalNamespaces[0]);
            await root.CreateAsync("Target", true);
            await imap.DisconnectAsync(true);
        }
        var messages = Enumerable.Range(0, count).Select(i => TestStack.SimpleMessage(email, $"kill write {i:D2}")).ToList();
        await TestStack.AppendManyAsync(email, messages);
        var (token, accountId) = await ConnectAsync(email);
        using var http = Client(token);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await CountAsync(token) == count, TimeSpan.FromMinutes(2)));
        var folders = await http.GetFromJsonAsync<JsonElement>("/folders");
        string target = folders.EnumerateArray().First(f => f.GetProperty("display_name").GetString() == "Target").GetProperty("id").GetString()!;
        var list = (await http.GetFromJsonAsync<JsonElement>("/messages?limit=100")).EnumerateArray()
            .OrderBy(m => m.GetProperty("subject").GetString(), StringComparer.Ordinal).ToList();

        // Half are moved to Target, the other half marked read and starred; all requests answered before the kill.
        for (int i = 0; i < count; i++)
        {
            string id = list[i].GetProperty("id").GetString()!;
            object body = i % 2 == 0 ? new { folder_id = target } : new { unread = false, starred = true };
            using var response = await http.PutAsJsonAsync($"/messages/{id}", body);
            Assert.True(response.IsSuccessStatusCode, $"PUT /messages/{id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await _host.KillAsync();
        var before = await ServerStateAsync(email);
        Note($"at the kill the server had {before.Moved} of {count / 2} moves and {before.Flagged} of {count / 2} flag changes");

        await _host.StartAsync(StartWait);
        var restarted = Stopwatch.StartNew();
        (int Moved, int InInbox, int Flagged, int Total) after = default;
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            after = await ServerStateAsync(email);
            return after.Moved >= count / 2 && after.Flagged >= count / 2;
        }, Recovery);
        Note($"after the restart: {after.Moved} moved, {after.Flagged} flagged, {after.Total} messages on the server, after {restarted.Elapsed.TotalSeconds:F0} s");
        Assert.True(elapsed.HasValue, $"{Recovery.TotalMinutes:F0} min after the restart the server had {after.Moved} of {count / 2} moves and {after.Flagged} of {count / 2} flag changes\n{_host.Tail()}");
        // Exactly once: no copy left behind in INBOX, none made twice.
        Assert.Equal(count / 2, after.Moved);
        Assert.Equal(count, after.Total);
        Assert.Equal(count / 2, after.InInbox);

        var report = await MirrorCheck.WaitForEqualAsync(email, _databases, accountId, http, TimeSpan.FromMinutes(2));
        Assert.True(report.Equal, report.ToString());
    }

    /// <summary>What an independent IMAP client sees: messages in Target, in INBOX, read and starred in INBOX, and in all.</summary>
    private static async Task<(int Moved, int InInbox, int Flagged, int Total)> ServerStateAsync(string email)
    {
        using var imap = await TestStack.ConnectImapAsync(email);
        var targetFolder = await imap.GetFolderAsync("Target");
        await targetFolder.OpenAsync(FolderAccess.ReadOnly);
        int moved = (await targetFolder.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("kill write"))).Count;
        await imap.Inbox.OpenAsync(FolderAccess.ReadOnly);
        int inInbox = (await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("kill write"))).Count;
        int flagged = (await imap.Inbox.SearchAsync(MailKit.Search.SearchQuery.SubjectContains("kill write").And(MailKit.Search.SearchQuery.Seen).And(MailKit.Search.SearchQuery.Flagged))).Count;
        await imap.DisconnectAsync(true);
        return (moved, inInbox, flagged, moved + inInbox);
    }
}
