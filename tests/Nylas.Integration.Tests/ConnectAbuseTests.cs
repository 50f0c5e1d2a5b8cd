using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Accounts;
using Nylas.Testing;
using Xunit;
using Nylas.Engine.Connect;
using Nylas.Engine.MailSessions;

namespace Nylas.Integration.Tests;

/// <summary>
/// POST /connect/authorize needs only a client id: it must not tell a caller more about a host and port than a
/// login there would, or let one caller try many.
/// </summary>
public class ConnectFailureMessageTests(ConnectFixture host) : IClassFixture<ConnectFixture>
{
    private async Task<JsonElement> RefusedAsync(JsonObject settings)
    {
        string email = TestStack.NewMailbox("p");
        using var response = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, settings).ToJsonString());
        return await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
    }

    private static JsonObject Imap(string hostName, int port, string security, bool pin = true)
    {
        var settings = ConnectFixture.ImapSettings(TestStack.NewMailbox("p"));
        settings["imap_host"] = hostName;
        settings["imap_port"] = port;
        settings["imap_security"] = security;
        if (!pin) settings.Remove("trusted_certificate_sha256");
        return settings;
    }

    [Fact]
    public async Task A_closed_port_a_failed_tls_handshake_another_protocol_and_an_unknown_host_answer_the_same_message()
    {
        string oauthPort = Environment.GetEnvironmentVariable("NYLAS_TEST_OAUTH_PORT")!;
        OAuthIntrospection.EnsureStarted();
        var imapCases = new (string What, string Host, int Port, JsonObject Settings)[]
        {
            ("nothing listens", "127.0.0.1", 1, Imap("127.0.0.1", 1, "ssl")),
            ("TLS to the plain-text port", TestStack.ImapHost, TestStack.ImapPort, Imap(TestStack.ImapHost, TestStack.ImapPort, "ssl")),
            ("a certificate not trusted", TestStack.ImapHost, TestStack.ImapsPort, Imap(TestStack.ImapHost, TestStack.ImapsPort, "ssl", pin: false)),
            ("an HTTP server", "127.0.0.1", int.Parse(oauthPort), Imap("127.0.0.1", int.Parse(oauthPort), "none")),
            ("no such host", "mail.host.invalid", 993, Imap("mail.host.invalid", 993, "ssl")),
        };
        foreach (var (what, hostName, port, settings) in imapCases)
        {
            var error = await RefusedAsync(settings);
            Assert.True(AccountConnector.CouldNotConnect("IMAP", hostName, port) == error.GetProperty("message").GetString(), $"{what}: {error}");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        }

        // SMTP is tried only after an IMAP login succeeded: the same rule, or the SMTP host would be the scanner's target.
        var smtpCases = new (string What, int Port, string Security)[]
        {
            ("nothing listens", 1, "none"),
            ("TLS to the plain-text port", TestStack.SubmissionPort, "ssl"),
            ("an HTTP server", int.Parse(oauthPort), "none"),
        };
        foreach (var (what, port, security) in smtpCases)
        {
            var settings = ConnectFixture.ImapSettings(TestStack.NewMailbox("p"));
            settings["smtp_host"] = "127.0.0.1";
            settings["smtp_port"] = port;
            settings["smtp_security"] = security;
            var error = await RefusedAsync(settings);
            Assert.True(AccountConnector.CouldNotConnect("SMTP", "127.0.0.1", port) == error.GetProperty("message").GetString(), $"{what}: {error}");
        }
    }

    [Fact]
    public async Task A_token_endpoint_answer_larger_than_the_cap_is_an_error_naming_the_cap()
    {
        var options = new NylasOptions();
        using var provider = new OAuthTokenProvider(Options.Create(options), TimeProvider.System, new ConnectTargetGuard(Options.Create(options)),
            NullLogger<OAuthTokenProvider>.Instance);
        foreach (string refreshToken in new[] { OAuthIntrospection.OversizedAnswerToken, OAuthIntrospection.OversizedChunkedAnswerToken })
        {
            var error = await Assert.ThrowsAsync<OAuthProviderUnavailableException>(
                () => provider.GetAccessTokenAsync(new OAuthGrant(OAuthIntrospection.TokenUrl, "test-client", "test-client-secret", refreshToken), default));
            Assert.Contains("64 KiB", error.Message);
        }
        // An ordinary answer still comes through.
        string email = TestStack.NewMailbox("p");
        var (refresh, _) = OAuthIntrospection.IssueRefreshToken(email, "test-client", "test-client-secret", TimeSpan.FromMinutes(5));
        Assert.NotEmpty(await provider.GetAccessTokenAsync(new OAuthGrant(OAuthIntrospection.TokenUrl, "test-client", "test-client-secret", refresh), default));

        // At /connect/authorize: a 400, without the cause.
        var settings = ConnectFixture.OAuthSettings(email, OAuthIntrospection.OversizedChunkedAnswerToken);
        using var response = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, settings, "gmail").ToJsonString());
        var body = await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("OAuth2 token endpoint", body.GetProperty("message").GetString());
        Assert.DoesNotContain("KiB", body.GetProperty("message").GetString());
    }
}

/// <summary>The local host with the default-sized per-address limit lowered to 2 attempts a minute.</summary>
public sealed class ConnectAttemptLimitFixture : ConnectFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Connect:AttemptsPerMinutePerAddress"] = "2";
    }
}

public class ConnectAttemptLimitTests(ConnectAttemptLimitFixture host) : IClassFixture<ConnectAttemptLimitFixture>
{
    [Fact]
    public async Task Connect_attempts_from_one_address_beyond_the_limit_answer_429_with_retry_after()
    {
        // Malformed requests contact nothing and are not counted.
        using (var malformed = await host.PostJsonAsync("/connect/authorize", "{\"client_id\":\"" + host.ClientId + "\"}"))
            await ApiErrors.AssertAsync(malformed, HttpStatusCode.BadRequest);

        var settings = ConnectFixture.ImapSettings(TestStack.NewMailbox("l"));
        settings["imap_host"] = "127.0.0.1";
        settings["imap_port"] = 1;
        string body = host.AuthorizeBody(TestStack.NewMailbox("l"), settings).ToJsonString();
        for (int attempt = 1; attempt <= 2; attempt++)
        {
            using var allowed = await host.PostJsonAsync("/connect/authorize", body);
            await ApiErrors.AssertAsync(allowed, HttpStatusCode.BadRequest);
        }
        using var limited = await host.PostJsonAsync("/connect/authorize", body);
        Assert.Equal("30", limited.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var error = await ApiErrors.AssertAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Contains("2 a minute", error.GetProperty("message").GetString());

        // A valid mailbox is limited the same: the limit is per address, not per target.
        string email = TestStack.NewMailbox("l");
        using var valid = await host.PostJsonAsync("/connect/authorize", host.AuthorizeBody(email, ConnectFixture.ImapSettings(email)).ToJsonString());
        await ApiErrors.AssertAsync(valid, HttpStatusCode.TooManyRequests);
    }
}

/// <summary>Which callers share a bucket of the per-address limit (no server: a DefaultHttpContext per request).</summary>
public class ConnectAttemptBucketTests
{
    private static Nylas.Engine.Api.RateLimits.ApiRateLimiter Limiter(int perMinute)
    {
        var options = new NylasOptions();
        options.Connect.AttemptsPerMinutePerAddress = perMinute;
        return new Nylas.Engine.Api.RateLimits.ApiRateLimiter(Options.Create(options));
    }

    private static bool Allowed(Nylas.Engine.Api.RateLimits.ApiRateLimiter limiter, string? address)
    {
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Connection.RemoteIpAddress = address is null ? null : IPAddress.Parse(address);
        return limiter.AcquireConnectAttempt(http) is null;
    }

    [Fact]
    public void Addresses_count_alone_ipv6_per_64_and_ipv4_mapped_as_ipv4()
    {
        using var limiter = Limiter(1);
        Assert.True(Allowed(limiter, "203.0.113.7"));
        Assert.False(Allowed(limiter, "203.0.113.7"));
        Assert.False(Allowed(limiter, "::ffff:203.0.113.7"));
        Assert.True(Allowed(limiter, "203.0.113.8"));

        Assert.True(Allowed(limiter, "2001:db8:1:2::1"));
        Assert.False(Allowed(limiter, "2001:db8:1:2:ffff::9")); // same /64
        Assert.True(Allowed(limiter, "2001:db8:1:3::1"));
    }

    [Fact]
    public void Zero_turns_the_limit_off_and_an_unknown_address_is_not_limited()
    {
        using var off = Limiter(0);
        for (int i = 0; i < 20; i++) Assert.True(Allowed(off, "203.0.113.7"));
        using var on = Limiter(1);
        for (int i = 0; i < 3; i++) Assert.True(Allowed(on, null));
    }
}
