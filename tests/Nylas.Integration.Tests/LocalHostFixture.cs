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
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;
using Nylas.LocalHost;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// The whole local host (API, durable sync on Azurite, ingest pump) in this process on a free port,
/// with its own databases and task hub, against the test Dovecot. One per test class.
/// </summary>
public class LocalHostFixture : IAsyncLifetime
{
    public WebApplication App { get; private set; } = null!;
    public TestDatabases Databases { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public string ClientId { get; private set; } = "";
    public string ClientSecret { get; private set; } = "";
    /// <summary>The host's last warnings and errors (across restarts), for a failing test's output.</summary>
    public RecentLog RecentLog { get; } = new();

    public async Task InitializeAsync()
    {
        Databases = await TestStack.CreateDatabasesAsync();
        var settings = Databases.EngineSettings();
        settings["Nylas:Durable:TaskHub"] = "t" + Guid.NewGuid().ToString("N")[..12];
        settings["Nylas:Durable:MaxQueuePollingIntervalMs"] = "200";
        settings["Nylas:Sync:IdleSeconds"] = "30";
        // Test classes run in parallel against one Azurite: each host gets its own ingest queue.
        settings["Nylas:Storage:IngestQueue"] = "ingest-" + Guid.NewGuid().ToString("N")[..12];
        // Every test connects from 127.0.0.1: the default 10 connect attempts a minute per address would throttle a
        // class's tests. The limit's own test sets it low.
        settings["Nylas:Connect:AttemptsPerMinutePerAddress"] = "1000";
        Configure(settings);
        _settings = settings;
        await StartAppAsync();

        var (application, secret) = await App.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("integration tests");
        ClientId = application.ClientId;
        ClientSecret = secret;
    }

    private Dictionary<string, string?> _settings = null!;

    private async Task StartAppAsync()
    {
        App = LocalHostApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(_settings);
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddProvider(RecentLog);
        });
        await App.Services.PrepareStorageAsync();
        await App.StartAsync();
        string address = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    /// <summary>
    /// Stops the host, runs <paramref name="whileStopped"/>, and starts a new one over the same databases, storage and
    /// task hub (a restart of the process). It listens on another port: make new clients afterwards.
    /// </summary>
    public async Task RestartAsync(Func<Task>? whileStopped = null)
    {
        await App.StopAsync();
        await App.DisposeAsync();
        if (whileStopped is not null) await whileStopped();
        await StartAppAsync();
    }

    /// <summary>Settings a fixture for one kind of test changes (e.g. a short IDLE so changes outside INBOX are seen quickly).</summary>
    protected virtual void Configure(Dictionary<string, string?> settings) { }

    public virtual async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public HttpClient Client(string? accessToken = null)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (accessToken is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(accessToken + ":")));
        return http;
    }

    public HttpClient AppClient()
    {
        var http = Client();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(ClientSecret + ":")));
        return http;
    }

    /// <summary>POST /a/{client_id}/accounts for a test mailbox over IMAPS with the test certificate pinned.</summary>
    public async Task<HttpResponseMessage> PostAccountAsync(string email, string? password = null, bool pinCertificate = true, string security = "ssl", string? accessToken = null)
    {
        var settings = new JsonObject
        {
            ["imap_host"] = TestStack.ImapHost,
            ["imap_port"] = security == "ssl" ? TestStack.ImapsPort : TestStack.ImapPort,
            ["imap_username"] = email,
            ["imap_security"] = security,
        };
        if (accessToken is not null) settings["imap_access_token"] = accessToken;
        else settings["imap_password"] = password ?? TestStack.ImapPassword;
        if (pinCertificate) settings["trusted_certificate_sha256"] = TestStack.TlsCertSha256();
        var body = new JsonObject { ["email_address"] = email, ["name"] = "Test User", ["provider"] = "imap", ["settings"] = settings };
        using var http = AppClient();
        // The v2 SDK sends JSON as text/plain; the API must accept it.
        return await http.PostAsync($"/a/{ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
    }

    /// <summary>Connects a fresh mailbox and returns (address, access token, account id).</summary>
    public async Task<(string Email, string Token, string AccountId)> ConnectNewAccountAsync()
    {
        string email = TestStack.NewMailbox();
        // Log in once so that Dovecot creates the mailbox before the account is connected.
        using (var imap = await TestStack.ConnectImapAsync(email)) await imap.DisconnectAsync(true);
        using var response = await PostAccountAsync(email);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"connect failed: {(int)response.StatusCode} {text}");
        var json = JsonNode.Parse(text)!;
        return (email, json["access_token"]!.GetValue<string>(), json["id"]!.GetValue<string>());
    }

    public async Task<long> CountMessagesAsync(string token)
    {
        using var http = Client(token);
        var json = await http.GetFromJsonAsync<JsonElement>("/messages?view=count");
        return json.GetProperty("count").GetInt64();
    }

    /// <summary>
    /// Suspends the account's sync orchestration and waits until it reports Suspended: no step starts after this (one
    /// already under way runs to its end). Answers the durable client and the instance id, to resume or inspect it.
    /// </summary>
    public async Task<(DurableTaskClient Durable, string InstanceId)> SuspendSyncAsync(long accountDbId, string reason, TimeSpan timeout)
    {
        var durable = App.Services.GetRequiredService<DurableTaskClient>();
        string instanceId = DurableAccountSyncControl.InstanceId(accountDbId);
        await durable.SuspendInstanceAsync(instanceId, reason);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await durable.GetInstanceAsync(instanceId))?.RuntimeStatus == OrchestrationRuntimeStatus.Suspended, timeout));
        return (durable, instanceId);
    }
}
