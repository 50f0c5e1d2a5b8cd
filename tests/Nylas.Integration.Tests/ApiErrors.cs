using System.Net;
using System.Text.Json;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>What every API error must be: the expected status and a JSON v2 error <c>{type, message}</c>, both non-empty.</summary>
public static class ApiErrors
{
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("type").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
        response.Dispose();
        return body;
    }
}
