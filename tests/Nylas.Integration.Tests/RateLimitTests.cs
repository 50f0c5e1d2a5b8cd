using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>Bursts of 3 requests per credential, refilled at 1 per second, so a test can empty a bucket.</summary>
public sealed class RateLimitHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Api:RateLimitPerSecond"] = "1";
        settings["Nylas:Api:RateLimitBurst"] = "3";
    }
}

/// <summary>Rate limiting per access token and per application, with the X-RateLimit-* headers and a v2-style 429.</summary>
public class RateLimitTests(RateLimitHostFixture host) : IClassFixture<RateLimitHostFixture>
{
    private static long Header(HttpResponseMessage response, string name) => long.Parse(response.Headers.GetValues(name).Single());

    [Fact]
    public async Task A_token_that_empties_its_bucket_gets_429_and_another_token_does_not()
    {
        // Connecting goes through the application's bucket, which another test of this class may have emptied.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var (_, first, _) = await host.ConnectNewAccountAsync();
        var (_, second, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(first);

        var answers = new List<HttpResponseMessage>();
        for (int i = 0; i < 6; i++) answers.Add(await http.GetAsync("/account"));

        var ok = answers.TakeWhile(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.InRange(ok.Count, 3, 4); // 3 in the bucket, perhaps 1 refilled meanwhile
        Assert.All(answers, r => Assert.Equal(3, Header(r, "X-RateLimit-Limit")));
        Assert.Equal(2, Header(ok[0], "X-RateLimit-Remaining"));
        Assert.True(Header(ok[0], "X-RateLimit-Reset") >= DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeSeconds());

        var limited = answers.Last();
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(0, Header(limited, "X-RateLimit-Remaining"));
        Assert.NotNull(limited.Headers.RetryAfter);
        var error = await limited.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Contains("per second", error.GetProperty("message").GetString());

        // Another token has its own bucket.
        using var other = host.Client(second);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/account")).StatusCode);

        // The bucket refills.
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task A_bad_token_is_refused_as_unauthorized_not_counted_against_anyone()
    {
        using var http = host.Client("not-a-token");
        for (int i = 0; i < 5; i++)
        {
            var response = await http.GetAsync("/messages");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.False(response.Headers.Contains("X-RateLimit-Limit"));
        }
    }

    [Fact]
    public async Task Application_endpoints_are_limited_per_application()
    {
        using var http = host.AppClient();
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 6; i++) statuses.Add((await http.GetAsync($"/a/{host.ClientId}/accounts")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
    }
}
