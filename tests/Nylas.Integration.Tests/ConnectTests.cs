using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Core.Connect;
using Nylas.Engine.Accounts;
using Nylas.Testing;
using Xunit;
using Nylas.Engine.Connect;

namespace Nylas.Integration.Tests;

/// <summary>
/// The local host with MX lookups sent to the test DNS server (dnsmasq, started by ./dev test) and an OAuth2
/// refresh margin of five seconds, so short-lived access tokens of the test provider expire within a test.
/// </summary>
public class ConnectFixture : LocalHostFixture
{
    public static string DnsServer => Environment.GetEnvironmentVariable("NYLAS_TEST_DNS") is { Length: > 0 } dns
        ? dns
        : throw new InvalidOperationException("NYLAS_TEST_DNS is not set: run the tests with `./dev test`, which starts the test DNS server (dnsmasq).");

    protected override void Configure(Dictionary<string, string?> settings)
    {
        // Without it only the tests that look up MX records fail (naming the variable); the rest need no DNS.
        if (Environment.GetEnvironmentVariable("NYLAS_TEST_DNS") is { Length: > 0 } dns) settings["Nylas:Connect:DnsServer"] = dns;
        settings["Nylas:OAuth:RefreshMarginSeconds"] = "5";
        // One test connects to a real provider's host name, which may be unreachable from here: fail fast, but leave room for a loaded machine.
        settings["Nylas:Sync:ConnectTimeoutSeconds"] = "10";
    }

    /// <summary>POSTs a JSON body as the v2 SDK does: a string with Content-Type text/plain.</summary>
    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json, HttpClient? client = null)
    {
        using var own = client is null ? Client() : null;
        return await (client ?? own!).PostAsync(path, new StringContent(json, Encoding.UTF8, "text/plain"));
    }

    public static JsonObject ImapSettings(string email, string? password = null) => new()
    {
        // The plain port with ssl_required: STARTTLS, the test server's certificate pinned.
        ["imap_host"] = TestStack.ImapHost,
        ["imap_port"] = TestStack.ImapPort,
        ["imap_username"] = email,
        ["imap_password"] = password ?? TestStack.ImapPassword,
        ["ssl_required"] = true,
        ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
    };

    public JsonObject AuthorizeBody(string email, JsonObject settings, string provider = "imap", string? clientId = null) => new()
    {
        ["client_id"] = clientId ?? ClientId,
        ["name"] = "Connect Test",
        ["email_address"] = email,
        ["provider"] = provider,
        ["settings"] = settings,
        ["scopes"] = "email.read_only,email.send",
    };

    public async Task<string> AuthorizeAsync(JsonObject body)
    {
        using var response = await PostJsonAsync("/connect/authorize", body.ToJsonString());
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"authorize: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["code"]!.GetValue<string>();
    }

    public async Task<HttpResponseMessage> TokenAsync(string code, string? clientId = null, string? clientSecret = null)
        => await PostJsonAsync("/connect/token", new JsonObject
        {
            ["client_id"] = clientId ?? ClientId,
            ["client_secret"] = clientSecret ?? ClientSecret,
            ["code"] = code,
        }.ToJsonString());

    /// <summary>authorize + token for a fresh mailbox over IMAP; answers the account JSON.</summary>
    public async Task<JsonElement> ConnectAsync(string email, JsonObject? settings = null, string provider = "imap")
    {
        string code = await AuthorizeAsync(AuthorizeBody(email, settings ?? ImapSettings(email), provider));
        using var response = await TokenAsync(code);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"token: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    public async Task<long> GlobalCountAsync(string sql) => await Databases.ScalarAsync("global", sql);

    /// <summary>SMTP settings for Postfix's submission service (the IMAP certificate pin covers it: same certificate).</summary>
    public static void AddSubmission(JsonObject settings, string email, string? password)
    {
        settings["smtp_host"] = TestStack.ImapHost;
        settings["smtp_port"] = TestStack.SubmissionPort;
        settings["smtp_security"] = "starttls";
        settings["smtp_username"] = email;
        if (password is not null) settings["smtp_password"] = password;
    }

    public static JsonObject OAuthSettings(string email, string refreshToken, string clientId = "test-client", string clientSecret = "test-client-secret") => new()
    {
        // The v2 names for Gmail, with the server and token endpoint moved to the test stack.
        ["google_client_id"] = clientId,
        ["google_client_secret"] = clientSecret,
        ["google_refresh_token"] = refreshToken,
        ["oauth_token_url"] = OAuthIntrospection.TokenUrl,
        ["imap_host"] = TestStack.ImapHost,
        ["imap_port"] = TestStack.ImapsPort,
        ["imap_security"] = "ssl",
        ["trusted_certificate_sha256"] = TestStack.TlsCertSha256(),
    };
}

/// <summary>POST /connect/authorize + /connect/token (Nylas v2 native auth), provider autodetection and OAuth2 refresh, over HTTP.</summary>
public class ConnectTests(ConnectFixture host) : IClassFixture<ConnectFixture>
{
    private static string Sha256Hex(string s) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    [Fact]
    public async Task Authorize_then_token_connects_an_imap_account_and_its_mail_syncs()
    {
        string email = TestStack.NewMailbox("c");
        var settings = ConnectFixture.ImapSettings(email);
        // SMTP is verified too: a login to Postfix's submission service after STARTTLS.
        ConnectFixture.AddSubmission(settings, email, TestStack.ImapPassword);

        string code = await host.AuthorizeAsync(host.AuthorizeBody(email, settings));
        Assert.True(code.Length >= 32, code);
        // Only the code's hash is stored, with the credentials sealed.
        Assert.Equal(1, await host.GlobalCountAsync($"SELECT COUNT(*) FROM connect_codes WHERE HEX(code_hash) = '{Sha256Hex(code)}' AND used_at IS NULL"));
        var sealedRequest = (byte[])(await host.Databases.QueryScalarAsync("global", $"SELECT request_sealed FROM connect_codes WHERE HEX(code_hash) = '{Sha256Hex(code)}'"))!;
        Assert.DoesNotContain(email, Encoding.UTF8.GetString(sealedRequest));
        Assert.Equal(0, await host.GlobalCountAsync($"SELECT COUNT(*) FROM accounts WHERE email_address = '{email}'"));

        using var response = await host.TokenAsync(code);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var account = JsonDocument.Parse(text).RootElement;
        Assert.Equal("account", account.GetProperty("object").GetString());
        Assert.Equal(email, account.GetProperty("email_address").GetString());
        Assert.Equal("Connect Test", account.GetProperty("name").GetString());
        Assert.Equal("imap", account.GetProperty("provider").GetString());
        Assert.Equal("running", account.GetProperty("sync_state").GetString());
        Assert.Equal(account.GetProperty("id").GetString(), account.GetProperty("account_id").GetString());
        string token = account.GetProperty("access_token").GetString()!;

        // The code is spent and its sealed credentials wiped; the account keeps its SMTP settings.
        Assert.Equal(1, await host.GlobalCountAsync($"SELECT COUNT(*) FROM connect_codes WHERE HEX(code_hash) = '{Sha256Hex(code)}' AND used_at IS NOT NULL AND request_sealed IS NULL"));
        Assert.Equal(1, await host.GlobalCountAsync($"SELECT COUNT(*) FROM accounts WHERE email_address = '{email}' AND smtp_host = '{TestStack.ImapHost}' AND smtp_port = {TestStack.SubmissionPort} AND smtp_security = 'starttls' AND imap_security = 'starttls'"));

        using var http = host.Client(token);
        var me = JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement;
        Assert.Equal(account.GetProperty("id").GetString(), me.GetProperty("id").GetString());
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after connect"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_code_is_redeemed_once_by_its_own_application_with_its_secret_before_it_expires()
    {
        string email = TestStack.NewMailbox("c");
        string code = await host.AuthorizeAsync(host.AuthorizeBody(email, ConnectFixture.ImapSettings(email)));

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.TokenAsync(code, clientSecret: "wrong-secret")).StatusCode);
        var (other, otherSecret) = await host.App.Services.GetRequiredService<AccountStore>().CreateApplicationAsync("another app");
        await ApiErrors.AssertAsync(await host.TokenAsync(code, other.ClientId, otherSecret), HttpStatusCode.BadRequest);
        // Neither attempt spent it.
        using (var first = await host.TokenAsync(code)) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var reuse = await ApiErrors.AssertAsync(await host.TokenAsync(code), HttpStatusCode.BadRequest);
        Assert.Contains("already used", reuse.GetProperty("message").GetString());
        Assert.Equal(1, await host.GlobalCountAsync($"SELECT COUNT(*) FROM access_tokens t JOIN accounts a ON a.id = t.account_id WHERE a.email_address = '{email}'"));

        // An expired code (its stored expiry moved into the past) is refused, and stays unused.
        string late = await host.AuthorizeAsync(host.AuthorizeBody(email, ConnectFixture.ImapSettings(email)));
        await host.Databases.QueryScalarAsync("global", $"UPDATE connect_codes SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE HEX(code_hash) = '{Sha256Hex(late)}'");
        await ApiErrors.AssertAsync(await host.TokenAsync(late), HttpStatusCode.BadRequest);
        Assert.Equal(1, await host.GlobalCountAsync($"SELECT COUNT(*) FROM connect_codes WHERE HEX(code_hash) = '{Sha256Hex(late)}' AND used_at IS NULL"));
        await ApiErrors.AssertAsync(await host.TokenAsync("not-a-code"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_wrong_password_or_an_unreachable_smtp_server_is_refused_by_name_and_creates_nothing()
    {
        string email = TestStack.NewMailbox("c");
        long codesBefore = await host.GlobalCountAsync("SELECT COUNT(*) FROM connect_codes");

        using (var wrong = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, ConnectFixture.ImapSettings(email, "wrong-password")).ToJsonString()))
        {
            var error = await ApiErrors.AssertAsync(wrong, HttpStatusCode.Unauthorized);
            Assert.Equal("invalid_credentials", error.GetProperty("type").GetString());
            Assert.Contains("IMAP authentication failed", error.GetProperty("message").GetString());
            Assert.DoesNotContain("wrong-password", error.GetProperty("message").GetString());
        }

        // The right IMAP password, the wrong SMTP one: Postfix refuses the login (Dovecot checks it).
        var wrongSmtp = ConnectFixture.ImapSettings(email);
        ConnectFixture.AddSubmission(wrongSmtp, email, "wrong-smtp-password");
        using (var smtpLogin = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, wrongSmtp).ToJsonString()))
        {
            var error = await ApiErrors.AssertAsync(smtpLogin, HttpStatusCode.Unauthorized);
            Assert.Equal("invalid_credentials", error.GetProperty("type").GetString());
            Assert.Contains($"SMTP authentication failed for {email} at {TestStack.ImapHost}:{TestStack.SubmissionPort}", error.GetProperty("message").GetString());
            Assert.DoesNotContain("wrong-smtp-password", error.GetProperty("message").GetString());
        }

        var settings = ConnectFixture.ImapSettings(email);
        settings["smtp_host"] = "127.0.0.1";
        settings["smtp_port"] = 1; // nothing listens there
        settings["smtp_security"] = "none";
        using (var smtp = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, settings).ToJsonString()))
            Assert.Equal(AccountConnector.CouldNotConnect("SMTP", "127.0.0.1", 1), (await ApiErrors.AssertAsync(smtp, HttpStatusCode.BadRequest)).GetProperty("message").GetString());

        Assert.Equal(codesBefore, await host.GlobalCountAsync("SELECT COUNT(*) FROM connect_codes"));
        Assert.Equal(0, await host.GlobalCountAsync($"SELECT COUNT(*) FROM accounts WHERE email_address = '{email}'"));
    }

    [Fact]
    public async Task Malformed_connect_requests_are_4xx_json_errors()
    {
        string email = TestStack.NewMailbox("c");
        string good = host.AuthorizeBody(email, ConnectFixture.ImapSettings(email)).ToJsonString();
        JsonObject With(Action<JsonObject> change)
        {
            var body = JsonNode.Parse(good)!.AsObject();
            change(body);
            return body;
        }
        var authorizeBodies = new List<string>
        {
            "", "not json", "[]", "null", "42", "{\"client_id\":", new string('[', 5000),
            With(b => b.Remove("client_id")).ToJsonString(),
            With(b => b["client_id"] = 12).ToJsonString(),
            With(b => b["client_id"] = "no-such-app").ToJsonString(),
            With(b => b.Remove("email_address")).ToJsonString(),
            With(b => b["email_address"] = "not-an-address").ToJsonString(),
            With(b => b["email_address"] = new JsonArray()).ToJsonString(),
            With(b => b["provider"] = "exchange").ToJsonString(),
            With(b => b["provider"] = "carrier-pigeon").ToJsonString(),
            With(b => b.Remove("settings")).ToJsonString(),
            With(b => b["settings"] = "imap").ToJsonString(),
            With(b => b["settings"]!["imap_port"] = 70000).ToJsonString(),
            With(b => b["settings"]!["imap_port"] = "abc").ToJsonString(),
            With(b => b["settings"]!["imap_port"] = -1).ToJsonString(),
            With(b => b["settings"]!["ssl_required"] = "maybe").ToJsonString(),
            With(b => b["settings"]!["imap_security"] = "quantum").ToJsonString(),
            With(b => b["settings"]!["trusted_certificate_sha256"] = "abc").ToJsonString(),
            With(b => b["settings"]!["imap_password"] = null).ToJsonString(),
            With(b => b["settings"]!["imap_password"] = new JsonObject()).ToJsonString(),
            With(b => b["settings"]!["refresh_token"] = "also-a-refresh-token").ToJsonString(),
            With(b => { b["settings"]!.AsObject().Remove("imap_password"); b["settings"]!["refresh_token"] = "rt"; }).ToJsonString(),
            With(b => { b["settings"]!.AsObject().Remove("imap_password"); b["settings"]!["refresh_token"] = "rt"; b["settings"]!["oauth_client_id"] = "c"; b["settings"]!["oauth_client_secret"] = "s"; }).ToJsonString(),
            With(b => { b["settings"]!.AsObject().Remove("imap_password"); b["settings"]!["refresh_token"] = "rt"; b["settings"]!["oauth_client_id"] = "c"; b["settings"]!["oauth_client_secret"] = "s"; b["settings"]!["oauth_token_url"] = "file:///etc/passwd"; }).ToJsonString(),
            With(b => { b["settings"]!.AsObject().Remove("imap_password"); b["settings"]!["refresh_token"] = "rt"; b["settings"]!["oauth_client_id"] = "c"; b["settings"]!["oauth_client_secret"] = "s"; b["settings"]!["oauth_token_url"] = "http://tokens.example.org/token"; }).ToJsonString(),
            With(b => b["settings"]!["imap_host"] = new string('h', 300)).ToJsonString(),
            With(b => b["settings"]!["imap_host"] = "host.invalid").ToJsonString(),
            // No hosts, and a domain no provider serves: autodetection asks for them.
            With(b => { b["email_address"] = "someone@self-hosted.nylas.test"; b["settings"]!.AsObject().Remove("imap_host"); }).ToJsonString(),
            With(b => { b["email_address"] = "someone@nomx.nylas.test"; b["settings"]!.AsObject().Remove("imap_host"); }).ToJsonString(),
        };
        foreach (string body in authorizeBodies)
        {
            using var response = await host.PostJsonAsync("/connect/authorize", body);
            int status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500, $"authorize {Shorten(body)}: {status} {await response.Content.ReadAsStringAsync()}");
            await ApiErrors.AssertAsync(response, response.StatusCode);
        }

        var tokenBodies = new[]
        {
            "", "{", "[]", "{}", "{\"client_id\":1,\"client_secret\":2,\"code\":3}",
            $"{{\"client_id\":\"{host.ClientId}\",\"client_secret\":\"{host.ClientSecret}\"}}",
            $"{{\"client_id\":\"{host.ClientId}\",\"client_secret\":\"{host.ClientSecret}\",\"code\":\"\"}}",
            $"{{\"client_id\":\"{host.ClientId}\",\"client_secret\":\"{host.ClientSecret}\",\"code\":\"{new string('x', 5000)}\"}}",
            $"{{\"client_id\":\"{new string('x', 500)}\",\"client_secret\":\"s\",\"code\":\"c\"}}",
        };
        foreach (string body in tokenBodies)
        {
            using var response = await host.PostJsonAsync("/connect/token", body);
            int status = (int)response.StatusCode;
            Assert.True(status is >= 400 and < 500, $"token {Shorten(body)}: {status} {await response.Content.ReadAsStringAsync()}");
            await ApiErrors.AssertAsync(response, response.StatusCode);
        }
        Assert.Equal(0, await host.GlobalCountAsync($"SELECT COUNT(*) FROM accounts WHERE email_address = '{email}'"));
    }

    private static string Shorten(string s) => s.Length > 120 ? s[..120] + "…" : s;

    [Fact]
    public async Task Providers_are_detected_from_mx_records_served_by_a_real_dns_server()
    {
        _ = ConnectFixture.DnsServer;
        var detector = host.App.Services.GetRequiredService<MailProviderDetector>();
        // These domains exist only in the test DNS server's records (scripts/dev/dnsmasq.sh).
        Assert.Equal(["aspmx.l.google.com", "alt1.aspmx.l.google.com"],
            (await detector.LookupMxAsync("google-hosted.nylas.test", default)).OrderBy(m => m.Preference).Select(m => m.Host));
        Assert.Same(MailProviders.Gmail, await detector.DetectAsync("ann@google-hosted.nylas.test", default));
        Assert.Same(MailProviders.Office365, await detector.DetectAsync("bob@microsoft-hosted.nylas.test", default));
        Assert.Same(MailProviders.Fastmail, await detector.DetectAsync("cy@fastmail-hosted.nylas.test", default));
        // The preferred MX host (lowest preference) decides.
        Assert.Same(MailProviders.Office365, await detector.DetectAsync("di@mixed.nylas.test", default));
        Assert.Null(await detector.DetectAsync("ed@self-hosted.nylas.test", default));
        Assert.Empty(await detector.LookupMxAsync("nomx.nylas.test", default));
        Assert.Null(await detector.DetectAsync("fay@nomx.nylas.test", default));
        // Known domains need no lookup.
        Assert.Same(MailProviders.Gmail, await detector.DetectAsync("gus@googlemail.com", default));
    }

    [Fact]
    public async Task Without_hosts_the_detected_providers_servers_are_the_ones_tried()
    {
        // MX says Google: the connection goes to imap.gmail.com. Whether or not this machine can reach it, the
        // answer names that server (refused credentials, or unreachable) and nothing is created.
        _ = ConnectFixture.DnsServer;
        string email = $"x{Guid.NewGuid():N}"[..12] + "@google-hosted.nylas.test";
        var settings = new JsonObject { ["imap_password"] = "not-the-password" };
        using var response = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, settings).ToJsonString());
        int status = (int)response.StatusCode;
        Assert.True(status is 400 or 401, $"{status}");
        Assert.Contains("imap.gmail.com", (await ApiErrors.AssertAsync(response, response.StatusCode)).GetProperty("message").GetString());
        Assert.Equal(0, await host.GlobalCountAsync($"SELECT COUNT(*) FROM accounts WHERE email_address = '{email}'"));
    }

    [Fact]
    public async Task A_refresh_token_connects_over_xoauth2_and_access_tokens_are_refreshed_before_they_expire()
    {
        string email = TestStack.NewMailbox("o");
        var (refresh, grant) = OAuthIntrospection.IssueRefreshToken(email, "test-client", "test-client-secret", TimeSpan.FromSeconds(10));

        // A wrong client secret is the provider's invalid_client: refused like a wrong password.
        using (var badClient = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, ConnectFixture.OAuthSettings(email, refresh, clientSecret: "nope"), "gmail").ToJsonString()))
            Assert.Equal("invalid_credentials", (await ApiErrors.AssertAsync(badClient, HttpStatusCode.Unauthorized)).GetProperty("type").GetString());

        // SMTP is verified with the same access token: XOAUTH2 to Postfix's submission service, which asks Dovecot's
        // oauth2 passdb. A token for another user than the SMTP login is refused there, naming SMTP.
        var otherUser = ConnectFixture.OAuthSettings(email, refresh);
        ConnectFixture.AddSubmission(otherUser, TestStack.NewMailbox("o"), password: null);
        using (var mismatch = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, otherUser, "gmail").ToJsonString()))
            Assert.Contains("SMTP authentication failed", (await ApiErrors.AssertAsync(mismatch, HttpStatusCode.Unauthorized)).GetProperty("message").GetString());

        // The same settings with the SMTP login matching the token: accepted by both servers.
        var settings = ConnectFixture.OAuthSettings(email, refresh);
        ConnectFixture.AddSubmission(settings, email, password: null);
        string code = await host.AuthorizeAsync(host.AuthorizeBody(email, settings, "gmail"));
        using var connected = await host.TokenAsync(code);
        var account = JsonDocument.Parse(await connected.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("gmail", account.GetProperty("provider").GetString());
        string token = account.GetProperty("access_token").GetString()!;
        // The refresh token and client secret are sealed, never stored in clear.
        var sealedSecrets = (byte[])(await host.Databases.QueryScalarAsync("global", $"SELECT secrets_sealed FROM accounts WHERE email_address = '{email}'"))!;
        Assert.DoesNotContain(refresh, Encoding.UTF8.GetString(sealedSecrets));

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "first"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        int redeemedBefore = grant.Redeemed;
        Assert.True(redeemedBefore >= 1);

        // Every access token issued so far has expired at the provider; new mail still arrives, with a new token.
        await Task.Delay(TimeSpan.FromSeconds(11));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "second"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(60)));
        Assert.True(grant.Redeemed > redeemedBefore, $"redeemed {grant.Redeemed}, before {redeemedBefore}");
        // Refreshed ahead of expiry: Dovecot was never handed an expired token.
        Assert.Equal(0, grant.ExpiredPresented);

        using var http = host.Client(token);
        Assert.Equal("running", JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task A_refresh_token_the_provider_rotates_is_stored_sealed_and_used_next_time()
    {
        string email = TestStack.NewMailbox("o");
        var (refresh, grant) = OAuthIntrospection.IssueRefreshToken(email, "test-client", "test-client-secret", TimeSpan.FromSeconds(10), rotate: true);
        var account = await host.ConnectAsync(email, ConnectFixture.OAuthSettings(email, refresh), "gmail");
        string token = account.GetProperty("access_token").GetString()!;
        long dbId = await host.GlobalCountAsync($"SELECT id FROM accounts WHERE email_address = '{email}'");
        var store = host.App.Services.GetRequiredService<AccountStore>();
        // Verifying the login redeemed the first refresh token: the account was stored with its successor.
        Assert.NotEqual(refresh, grant.CurrentRefreshToken);
        Assert.Equal(grant.CurrentRefreshToken, (await store.GetSecretsAsync(dbId)).OAuth!.RefreshToken);

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "first"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));
        string before = grant.CurrentRefreshToken;
        await Task.Delay(TimeSpan.FromSeconds(11));
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "second"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 2, TimeSpan.FromSeconds(60)));
        // Rotated again, and what the database holds is the token that works now.
        Assert.NotEqual(before, grant.CurrentRefreshToken);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => (await store.GetSecretsAsync(dbId)).OAuth!.RefreshToken == grant.CurrentRefreshToken, TimeSpan.FromSeconds(10)));
        using var http = host.Client(token);
        Assert.Equal("running", JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task A_revoked_refresh_token_puts_the_account_in_invalid_credentials()
    {
        string email = TestStack.NewMailbox("o");
        var (refresh, grant) = OAuthIntrospection.IssueRefreshToken(email, "test-client", "test-client-secret", TimeSpan.FromSeconds(8));
        var account = await host.ConnectAsync(email, ConnectFixture.OAuthSettings(email, refresh), "gmail");
        string token = account.GetProperty("access_token").GetString()!;
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "before revoke"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(60)));

        grant.Revoked = true;
        await Task.Delay(TimeSpan.FromSeconds(9)); // the last access token expires too
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after revoke"));

        using var http = host.Client(token);
        JsonElement me = default;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
        {
            me = JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement;
            return me.GetProperty("sync_state").GetString() == SyncStates.InvalidCredentials;
        }, TimeSpan.FromSeconds(120)));
        Assert.Contains("invalid_grant", me.GetProperty("sync_error").GetString());
        Assert.Equal(1, await host.CountMessagesAsync(token));
    }
}
