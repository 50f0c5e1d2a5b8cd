using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nylas.Engine.Accounts;
using Nylas.Testing;
using Xunit;

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

        settings["imap_host"] = "localhost";
        Assert.Contains("localhost", (await AuthorizeErrorAsync(settings)).GetProperty("message").GetString());
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

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("2001:4860:4860::8888", false)]
    public void Private_addresses_are_recognized(string address, bool isPrivate)
        => Assert.Equal(isPrivate, ConnectTargetGuard.IsPrivate(IPAddress.Parse(address)));
}
