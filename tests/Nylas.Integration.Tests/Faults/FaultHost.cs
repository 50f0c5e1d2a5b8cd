using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;
using Nylas.Testing;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>Fault tests that stop, hang or restart a service of the test instance: they run alone, after the parallel collections.</summary>
[CollectionDefinition(nameof(ServiceFaultCollection), DisableParallelization = true)]
public sealed class ServiceFaultCollection;

/// <summary>
/// The host for fault scenarios: small batches and steps (a sync is still running when the fault comes), a short safety
/// cycle, a short reconciliation grace, and no API rate limit (the mirror check reads every message raw).
/// </summary>
public class FaultHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:MaxBatchMessages"] = "25";
        settings["Nylas:Sync:MaxMessagesPerStep"] = "100";
        settings["Nylas:Sync:IdleSeconds"] = "3";
        settings["Nylas:Api:RateLimitPerSecond"] = "0";
        settings["Nylas:Watch:LeaseSeconds"] = "10";
        // A hole (a UID the server holds that the mirror lacks) is fetched again after this grace; the default (10 min)
        // would outlast the scenarios' deadlines. RELIABILITY.md states the default's effect.
        settings["Nylas:Sync:HoleGraceSeconds"] = "20";
    }

    /// <summary>
    /// Connects <paramref name="email"/> with IMAP through <paramref name="imap"/> (plain text, so the proxy sees the
    /// protocol) and, when given, SMTP through <paramref name="smtp"/> (in front of the submission port, STARTTLS).
    /// </summary>
    public async Task<(string Token, string AccountId)> ConnectThroughAsync(string email, FaultProxy imap, FaultProxy? smtp = null)
    {
        var settings = new JsonObject
        {
            ["imap_host"] = "127.0.0.1",
            ["imap_port"] = imap.Port,
            ["imap_username"] = email,
            ["imap_password"] = TestStack.ImapPassword,
            ["imap_security"] = "none",
            ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
        };
        if (smtp is not null)
        {
            settings["smtp_host"] = "127.0.0.1";
            settings["smtp_port"] = smtp.Port;
            settings["smtp_username"] = email;
            settings["smtp_password"] = TestStack.ImapPassword;
            settings["smtp_security"] = "starttls";
        }
        var body = new JsonObject { ["email_address"] = email, ["name"] = "Fault Test", ["provider"] = "imap", ["settings"] = settings };
        using var http = AppClient();
        using var response = await http.PostAsync($"/a/{ClientId}/accounts", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"connect failed: {(int)response.StatusCode} {text}");
        var json = JsonNode.Parse(text)!;
        return (json["access_token"]!.GetValue<string>(), json["id"]!.GetValue<string>());
    }
}

/// <summary>One scenario: a mailbox, an account syncing it through a fault proxy, an independent client changing it.</summary>
public sealed class FaultRun(FaultHostFixture host, ITestOutputHelper output) : IAsyncDisposable
{
    public FaultProxy Proxy { get; } = FaultProxy.ForImap();
    public string Email { get; } = TestStack.NewMailbox("f");
    public int Seed { get; } = FaultSize.Seed;
    public FaultMailbox Mailbox { get; private set; } = null!;
    public string Token { get; private set; } = "";
    public string AccountId { get; private set; } = "";
    public HttpClient Api { get; private set; } = null!;
    private MailboxChanger? _changer;

    /// <summary>Creates the mailbox (<see cref="FaultSize.Messages"/> unless given), then connects the account through the proxy.</summary>
    public async Task StartAsync(int? messages = null, FaultProxy? smtp = null)
    {
        output.WriteLine($"seed {Seed} (replay with NYLAS_TEST_FAULT_SEED={Seed}), mailbox {Email}");
        Mailbox = await FaultMailbox.CreateAsync(Email, messages ?? FaultSize.Messages, Seed);
        (Token, AccountId) = await host.ConnectThroughAsync(Email, Proxy, smtp);
        Api = host.Client(Token);
    }

    public void StartChanges() => _changer = MailboxChanger.Start(Email, Seed);

    public async Task StopChangesAsync()
    {
        if (_changer is null) return;
        await _changer.WaitForChangesAsync(20, TimeSpan.FromSeconds(60));
        await _changer.StopAsync();
        output.WriteLine($"independent client: {_changer}");
        _changer = null;
    }

    public Task<long> ServedAsync() => host.CountMessagesAsync(Token);

    /// <summary>Waits until the API serves at least <paramref name="count"/> messages (the fault then comes mid-sync).</summary>
    public async Task WaitForServedAsync(long count, TimeSpan? timeout = null)
    {
        var took = await TestStack.WaitUntilAsync(async () => await ServedAsync() >= count, timeout ?? TimeSpan.FromSeconds(FaultSize.Full ? 900 : 120));
        Assert.True(took.HasValue, $"only {await ServedAsync()} messages served, waited for {count}");
    }

    /// <summary>Waits until the account's sync has finished its steps and waits for a wake or its safety cycle.</summary>
    public async Task WaitForSyncWaitingAsync(TimeSpan timeout)
    {
        long id = await host.Databases.AccountRowIdAsync(AccountId);
        var control = host.App.Services.GetRequiredService<IAccountSyncControl>();
        var took = await TestStack.WaitUntilAsync(async () => (await control.GetStatusAsync(id))?.Phase == SyncPhases.Waiting, timeout);
        Assert.True(took.HasValue, $"the account's sync did not come to wait within {timeout.TotalSeconds:F0} s");
    }

    /// <summary>Stops the changes and asserts that the mirror comes to equal the server within <paramref name="timeout"/>.</summary>
    public async Task AssertMirrorEqualsServerAsync(TimeSpan timeout, IReadOnlySet<string>? onlyFolders = null)
    {
        await StopChangesAsync();
        var report = await MirrorCheck.WaitForEqualAsync(Email, host.Databases, AccountId, Api, timeout, onlyFolders);
        output.WriteLine(MirrorCheck.Describe(report, Proxy));
        var account = await Api.GetFromJsonAsync<JsonElement>("/account");
        output.WriteLine($"account: sync_state {account.GetProperty("sync_state")}");
        if (!report.Equal)
        {
            await WriteSyncStateAsync();
            WriteHostLog();
        }
        Assert.True(report.Equal, "the mirror does not equal the server:\n" + MirrorCheck.Describe(report, Proxy));
    }

    /// <summary>
    /// Where the account's sync stands (a failure's first question): its orchestration's status and phase (syncing: a step
    /// not answered; waiting: a wait no wake or timer ended) and how old its heartbeat is (a step still renewing its lease?).
    /// </summary>
    public async Task WriteSyncStateAsync()
    {
        try
        {
            long id = await host.Databases.AccountRowIdAsync(AccountId);
            var runtime = await host.App.Services.GetRequiredService<IAccountSyncControl>().GetStatusAsync(id);
            var ages = await host.App.Services.GetRequiredService<AccountLeases>().HeartbeatAgesAsync(CancellationToken.None);
            output.WriteLine($"orchestration: {runtime?.RuntimeStatus ?? "none"}, phase {runtime?.Phase ?? "?"}, {runtime?.ConsecutiveFailures ?? 0} failures; " +
                $"heartbeat {(ages.TryGetValue(id, out long age) ? $"{age} s old" : "never")}");
        }
        catch (Exception ex)
        {
            output.WriteLine($"orchestration: status not read ({ex.GetType().Name}: {ex.Message})");
        }
    }

    /// <summary>The host's last warnings and errors into the test's output (what a CI log shows of a failure).</summary>
    public void WriteHostLog(int lines = 80)
    {
        output.WriteLine($"the host's last {lines} warnings and errors (UTC):");
        foreach (string line in host.RecentLog.Tail(lines)) output.WriteLine("  " + line);
    }

    public async ValueTask DisposeAsync()
    {
        await StopChangesAsync();
        await Proxy.DisposeAsync();
        Api?.Dispose();
    }
}
