using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>Auth, tenant scoping, account connection errors and bad input: each a clear 4xx JSON error, never a 500.</summary>
public class ApiContractTests(LocalHostFixture host) : IClassFixture<LocalHostFixture>
{
    [Fact]
    public async Task Health_checks_every_dependency_for_real()
    {
        using var http = host.Client();
        using var response = await http.GetAsync("/health");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", body.GetProperty("status").GetString());
        var checks = body.GetProperty("checks");
        foreach (var name in new[] { "mysql_global", "mysql_shard0", "mysql_shard1", "blob", "queue", "durable" })
            Assert.True(checks.GetProperty(name).GetProperty("ok").GetBoolean(), name);
    }

    [Fact]
    public async Task Paths_answer_with_and_without_a_trailing_slash()
    {
        // The open-source engine declared its routes with a trailing slash, and clients written against it send one.
        var (_, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        foreach (string path in new[] { "/account", "/messages", "/threads", "/folders", "/contacts", "/calendars", "/events", "/files" })
        {
            var plain = await http.GetAsync(path);
            var slashed = await http.GetAsync(path + "/");
            Assert.True(plain.StatusCode == HttpStatusCode.OK, $"{path}: {(int)plain.StatusCode}");
            Assert.True(slashed.StatusCode == HttpStatusCode.OK, $"{path}/: {(int)slashed.StatusCode}");
            Assert.Equal(await plain.Content.ReadAsStringAsync(), await slashed.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Account_endpoints_need_a_valid_token_basic_or_bearer()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();

        using (var anonymous = host.Client())
            await ApiErrors.AssertAsync(await anonymous.GetAsync("/messages"), HttpStatusCode.Unauthorized);
        using (var wrong = host.Client("not-a-real-token"))
            await ApiErrors.AssertAsync(await wrong.GetAsync("/account"), HttpStatusCode.Unauthorized);

        using var bearer = host.Client();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var account = await bearer.GetFromJsonAsync<JsonElement>("/account");
        Assert.Equal(accountId, account.GetProperty("id").GetString());
        Assert.Equal(email, account.GetProperty("email_address").GetString());
        Assert.Equal("folder", account.GetProperty("organization_unit").GetString());
        Assert.Equal("running", account.GetProperty("sync_state").GetString());
    }

    [Fact]
    public async Task One_accounts_token_never_sees_another_accounts_messages()
    {
        var a = await host.ConnectNewAccountAsync();
        var b = await host.ConnectNewAccountAsync();
        await TestStack.AppendAsync(a.Email, TestStack.SimpleMessage(a.Email, "for A only"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(a.Token) == 1, TimeSpan.FromSeconds(30)));

        using var httpA = host.Client(a.Token);
        string idOfA = (await httpA.GetFromJsonAsync<JsonElement>("/messages"))[0].GetProperty("id").GetString()!;

        using var httpB = host.Client(b.Token);
        Assert.Equal(0, await host.CountMessagesAsync(b.Token));
        Assert.Empty((await httpB.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray());
        await ApiErrors.AssertAsync(await httpB.GetAsync($"/messages/{idOfA}"), HttpStatusCode.NotFound);
        using var raw = new HttpRequestMessage(HttpMethod.Get, $"/messages/{idOfA}");
        raw.Headers.Accept.ParseAdd("message/rfc822");
        await ApiErrors.AssertAsync(await httpB.SendAsync(raw), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_by_name_and_nothing_is_created()
    {
        string email = TestStack.NewMailbox();
        using var response = await host.PostAccountAsync(email, password: "wrong-password");
        var error = await ApiErrors.AssertAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_credentials", error.GetProperty("type").GetString());
        Assert.Contains("authentication failed", error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("wrong-password", error.GetProperty("message").GetString());

        using var app = host.AppClient();
        var accounts = await app.GetFromJsonAsync<JsonElement>($"/a/{host.ClientId}/accounts");
        Assert.DoesNotContain(accounts.EnumerateArray(), a => a.GetProperty("email_address").GetString() == email);
    }

    [Fact]
    public async Task A_self_signed_certificate_is_refused_unless_pinned()
    {
        using var response = await host.PostAccountAsync(TestStack.NewMailbox(), pinCertificate: false);
        var error = await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("trusted_certificate_sha256", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Starttls_on_the_plain_port_works_with_a_pinned_certificate_and_is_refused_without()
    {
        string email = TestStack.NewMailbox();
        using (var refused = await host.PostAccountAsync(email, pinCertificate: false, security: "starttls"))
            Assert.Contains("trusted_certificate_sha256", (await ApiErrors.AssertAsync(refused, HttpStatusCode.BadRequest)).GetProperty("message").GetString());
        using var accepted = await host.PostAccountAsync(email, security: "starttls");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Xoauth2_with_an_access_token_connects_and_syncs_and_a_bad_token_is_refused()
    {
        string email = TestStack.NewMailbox();
        string accessToken = OAuthIntrospection.IssueToken(email); // also starts the provider's introspection endpoint
        using (var refused = await host.PostAccountAsync(email, accessToken: "not-a-token-the-provider-issued"))
            Assert.Equal("invalid_credentials", (await ApiErrors.AssertAsync(refused, HttpStatusCode.Unauthorized)).GetProperty("type").GetString());

        using var accepted = await host.PostAccountAsync(email, accessToken: accessToken);
        var account = await accepted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        string token = account.GetProperty("access_token").GetString()!;
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "over xoauth2"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == 1, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task An_identity_provider_outage_is_not_reported_as_invalid_credentials()
    {
        OAuthIntrospection.EnsureStarted();
        using var response = await host.PostAccountAsync(TestStack.NewMailbox(), accessToken: OAuthIntrospection.OutageToken);
        var error = await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.NotEqual("invalid_credentials", error.GetProperty("type").GetString());
        Assert.Contains("UNAVAILABLE", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Application_endpoints_need_the_client_secret()
    {
        using var anonymous = host.Client();
        await ApiErrors.AssertAsync(await anonymous.GetAsync($"/a/{host.ClientId}/accounts"), HttpStatusCode.Unauthorized);
        using var wrongApp = host.AppClient();
        await ApiErrors.AssertAsync(await wrongApp.GetAsync("/a/someoneelse/accounts"), HttpStatusCode.Unauthorized);
        // An account token is not an application secret.
        var (_, token, _) = await host.ConnectNewAccountAsync();
        using var accountClient = host.Client(token);
        await ApiErrors.AssertAsync(await accountClient.GetAsync($"/a/{host.ClientId}/accounts"), HttpStatusCode.Unauthorized);
    }

    /// <summary>Routes anyone may call: they carry no account or application data (the connect flow checks the client secret in its body).</summary>
    private static readonly string[] PublicRoutes = ["/health", "/openapi.json", "/connect/authorize", "/connect/token"];

    [Fact]
    public async Task Every_route_refuses_a_missing_or_wrong_credential_with_a_401()
    {
        // Read from the host's route table, so a route added later is checked too, slashed and not.
        var routes = host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !e.RoutePattern.RawText!.Contains("{*")) // the 404 fallback
            // Operations endpoints (GET /metrics) are not the API: their own access rule is tested in TelemetryTests.
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Pattern: "/" + e.RoutePattern.RawText!.TrimStart('/'))))
            .Where(r => !PublicRoutes.Contains(r.Pattern))
            .ToList();
        Assert.Contains(routes, r => r.Pattern == "/messages/search");
        Assert.Contains(routes, r => r.Pattern.StartsWith("/a/"));

        var (_, accountToken, _) = await host.ConnectNewAccountAsync();
        foreach (var (method, pattern) in routes)
        {
            string path = pattern.Replace("{clientId}", host.ClientId).Replace("{id}", "0123456789abcdefghij");
            Assert.DoesNotContain("{", path); // a new route parameter: teach this test its value
            bool application = pattern.StartsWith("/a/");
            // An account route refuses the client secret, an application route an account token.
            var credentials = new (string Name, HttpClient Client)[]
            {
                ("none", host.Client()), ("unknown token", host.Client("not-a-real-token")),
                (application ? "account token" : "client secret", application ? host.Client(accountToken) : host.Client(host.ClientSecret)),
            };
            foreach (var (name, client) in credentials)
                foreach (string p in new[] { path, path + "/" })
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), p);
                    if (method is "POST" or "PUT" or "DELETE") request.Content = new StringContent("{}"); // text/plain, as the SDK sends
                    using var response = await client.SendAsync(request);
                    string text = await response.Content.ReadAsStringAsync();
                    Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {p} with {name}: {(int)response.StatusCode} {text}");
                    Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(text).RootElement.GetProperty("message").GetString()));
                }
            foreach (var (_, client) in credentials) client.Dispose();
        }
    }

    [Theory]
    [InlineData("/messages?limit=abc")]
    [InlineData("/messages?limit=-1")]
    [InlineData("/messages?limit=100000")]
    [InlineData("/messages?offset=x")]
    [InlineData("/messages?view=everything")]
    [InlineData("/messages?no_such_filter=1")]
    [InlineData("/messages/NOT-AN-ID")]
    [InlineData("/messages/abc'%20OR%201=1")]
    public async Task Bad_queries_get_a_400_with_a_v2_error_body(string path)
    {
        var (_, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await ApiErrors.AssertAsync(await http.GetAsync(path), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("[]", "JSON object")]
    [InlineData("{}", "email_address")]
    [InlineData("""{"email_address":"x@example.com","settings":{"imap_host":"127.0.0.1","imap_port":99999,"imap_password":"p"}}""", "imap_port")]
    [InlineData("""{"email_address":"x@example.com","provider":"exchange","settings":{"imap_host":"h","imap_password":"p"}}""", "provider")]
    public async Task Bad_connect_requests_get_a_400_naming_the_problem(string body, string mentioned)
    {
        using var app = host.AppClient();
        using var response = await app.PostAsync($"/a/{host.ClientId}/accounts", new StringContent(body));
        var error = await ApiErrors.AssertAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(mentioned, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Unknown_paths_answer_404_json_and_trailing_slashes_work()
    {
        var (_, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await ApiErrors.AssertAsync(await http.GetAsync("/no/such/endpoint"), HttpStatusCode.NotFound);
        using var slash = await http.GetAsync("/messages/");
        Assert.Equal(HttpStatusCode.OK, slash.StatusCode);
    }

}
