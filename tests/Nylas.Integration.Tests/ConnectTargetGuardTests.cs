using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;
using Nylas.Testing;
using Xunit;
using Nylas.Engine.MailSessions;

namespace Nylas.Integration.Tests;

/// <summary>The local host as Azure runs it: /connect/authorize refuses hosts on loopback or private networks.</summary>
public sealed class GuardedConnectFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings) => settings["Nylas:Connect:RefusePrivateNetworks"] = "true";
}

public class ConnectTargetGuardTests(GuardedConnectFixture host) : IClassFixture<GuardedConnectFixture>
{
    private async Task<JsonElement> AuthorizeErrorAsync(JsonObject settings)
    {
        string email = TestStack.NewMailbox("g");
        var body = new JsonObject
        {
            ["client_id"] = host.ClientId, ["name"] = "Guard", ["email_address"] = email, ["provider"] = "imap", ["settings"] = settings.DeepClone(),
        };
        using var http = host.Client();
        using var response = await http.PostAsync("/connect/authorize", new StringContent(body.ToJsonString(), Encoding.UTF8, "text/plain"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task A_mail_server_on_this_machine_is_refused_before_it_is_contacted()
    {
        // The test Dovecot on 127.0.0.1 would accept these credentials: the refusal is the guard's.
        var settings = ConnectFixture.ImapSettings(TestStack.NewMailbox("g"));
        var error = await AuthorizeErrorAsync(settings);
        Assert.Contains("RefusePrivateNetworks", error.GetProperty("message").GetString());
        Assert.Contains("imap_host", error.GetProperty("message").GetString());

        // A name: refused without telling what it resolves to (no oracle of this network's DNS).
        settings["imap_host"] = "localhost";
        string byName = (await AuthorizeErrorAsync(settings)).GetProperty("message").GetString()!;
        Assert.Contains("'localhost' resolves to an address that is not public", byName);
        Assert.DoesNotContain("127.0.0.1", byName);
        Assert.DoesNotContain("::1", byName);
    }

    [Fact]
    public async Task A_token_url_on_a_private_network_is_refused()
    {
        var settings = new JsonObject
        {
            ["imap_host"] = "imap.example.org", ["imap_port"] = 993, ["imap_username"] = "someone@example.org",
            ["refresh_token"] = "r", ["oauth_client_id"] = "c", ["oauth_client_secret"] = "s",
            ["oauth_token_url"] = "https://169.254.169.254/token",
        };
        var error = await AuthorizeErrorAsync(settings);
        Assert.Contains("token URL", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_applications_one_step_connect_is_refused_too()
    {
        // POST /a/{client_id}/accounts has no separate check: the refusal comes from the connection itself.
        using var response = await host.PostAccountAsync(TestStack.NewMailbox("g"));
        var error = await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("RefusePrivateNetworks", error.GetProperty("message").GetString());
    }

    /// <summary>
    /// Accounts whose servers passed the check at connect time but resolve to this machine now (a changed DNS
    /// record, DNS rebinding): stored directly, as if connected earlier, then synced.
    /// </summary>
    [Fact]
    public async Task Servers_that_resolve_to_a_private_address_later_are_refused_at_sync_with_a_visible_error()
    {
        var services = host.App.Services;
        var store = services.GetRequiredService<AccountStore>();
        var app = (await store.FindApplicationAsync(host.ClientId))!;
        var imap = new ImapServer("localhost", TestStack.ImapPort, ImapSecurity.StartTls, "", TestStack.TlsCertSha256());
        string passwordUser = TestStack.NewMailbox("g"), oauthUser = TestStack.NewMailbox("g");
        var (password, _) = await store.UpsertAccountAsync(app.Id, passwordUser, "Rebound", "imap", imap with { Username = passwordUser }, new AccountSecrets(TestStack.ImapPassword));
        var (_, refreshGrant) = OAuthIntrospection.IssueRefreshToken(oauthUser, "test-client", "test-client-secret", TimeSpan.FromMinutes(5));
        var (oauth, _) = await store.UpsertAccountAsync(app.Id, oauthUser, "Rebound token URL", "gmail", imap with { Username = oauthUser },
            new AccountSecrets(null, OAuth: new OAuthGrant(OAuthIntrospection.TokenUrl, "test-client", "test-client-secret", refreshGrant.CurrentRefreshToken)));
        var syncControl = services.GetRequiredService<IAccountSyncControl>();
        await syncControl.StartAsync(password.Id);
        await syncControl.StartAsync(oauth.Id);

        using var client = host.AppClient();
        async Task<JsonElement> StateAsync(Account account)
            => JsonDocument.Parse(await client.GetStringAsync($"/a/{host.ClientId}/accounts/{account.PublicId}")).RootElement;
        async Task<string?> ErrorOnceAsync(Account account, string state)
        {
            JsonElement last = default;
            Assert.True(await TestStack.WaitUntilAsync(async () => (last = await StateAsync(account)).GetProperty("sync_state").GetString() == state, TimeSpan.FromSeconds(60)) is not null,
                $"still {last}");
            return last.GetProperty("sync_error").GetString();
        }
        string? imapRefused = await ErrorOnceAsync(password, "sync-error");
        Assert.Contains("IMAP server 'localhost' resolves to an address that is not public", imapRefused);
        Assert.Contains("RefusePrivateNetworks", imapRefused);

        // The token endpoint is reached before IMAP: its refusal is a grant that cannot work, so the account needs new credentials.
        Assert.Contains("token URL '127.0.0.1' is not a public address", await ErrorOnceAsync(oauth, "invalid-credentials"));
        Assert.Equal(0, refreshGrant.Redeemed);
    }
}

/// <summary>The guard on, with this machine's address listed in Nylas:Connect:AllowedPrivateNetworks (as for your own mail server on a private network).</summary>
public sealed class AllowedNetworkFixture : ConnectFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Connect:RefusePrivateNetworks"] = "true";
        settings["Nylas:Connect:AllowedPrivateNetworks"] = "127.0.0.1/32";
        // Only local servers here: no need for ConnectFixture's fail-fast 5 s, which a loaded CI machine's SMTP AUTH once exceeded.
        settings["Nylas:Sync:ConnectTimeoutSeconds"] = "30";
    }
}

/// <summary>Every connection goes through the guard's own socket (ConnectTargetGuard.OpenAsync), and works: Azure runs this way.</summary>
public class AllowedPrivateNetworkTests(AllowedNetworkFixture host) : IClassFixture<AllowedNetworkFixture>
{
    [Fact]
    public async Task Through_the_guard_imap_smtp_and_the_token_endpoint_connect_and_mail_syncs()
    {
        // A password over STARTTLS, to IMAP and to Postfix submission (the SMTP login is checked by Dovecot).
        string email = TestStack.NewMailbox("n");
        var settings = ConnectFixture.ImapSettings(email);
        ConnectFixture.AddSubmission(settings, email, TestStack.ImapPassword);
        string token = (await host.ConnectAsync(email, settings)).GetProperty("access_token").GetString()!;

        // A refresh token: the token endpoint over HTTP, then XOAUTH2 to IMAPS (TLS from the first byte) and to submission.
        string oauthEmail = TestStack.NewMailbox("n");
        var (refresh, grant) = OAuthIntrospection.IssueRefreshToken(oauthEmail, "test-client", "test-client-secret", TimeSpan.FromMinutes(5));
        var oauthSettings = ConnectFixture.OAuthSettings(oauthEmail, refresh);
        ConnectFixture.AddSubmission(oauthSettings, oauthEmail, password: null);
        string oauthToken = (await host.ConnectAsync(oauthEmail, oauthSettings, "gmail")).GetProperty("access_token").GetString()!;
        Assert.True(grant.Redeemed >= 1);

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "through the guard"));
        await TestStack.AppendAsync(oauthEmail, TestStack.SimpleMessage(oauthEmail, "through the guard"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1 && await host.CountMessagesAsync(oauthToken) == 1,
            TimeSpan.FromSeconds(60)));

        // Only the listed range: the rest of loopback is still refused.
        var elsewhere = ConnectFixture.ImapSettings(TestStack.NewMailbox("n"));
        elsewhere["imap_host"] = "127.0.0.2";
        using var refused = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, elsewhere).ToJsonString());
        Assert.Contains("'127.0.0.2' is not a public address", (await ApiErrors.AssertAsync(refused, HttpStatusCode.BadRequest)).GetProperty("message").GetString());
    }
}
