using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nylas.DevTool.Api;

/// <summary>The few calls of the product's Nylas v2 HTTP API that the dev tool needs.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly string _baseUrl;

    public ApiClient(Uri baseUrl)
    {
        _baseUrl = baseUrl.ToString().TrimEnd('/');
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Nylas.DevTool", "1.0"));
    }

    public string UrlOf(string path) => _baseUrl + path;

    /// <summary>GET /account: the account an access token belongs to.</summary>
    public Task<ApiResponse> GetAccountAsync(string accessToken, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "/account", Bearer(accessToken), body: null, ct);

    /// <summary>POST /a/{client_id}/accounts: connects a mailbox; authenticated with the app's client secret.</summary>
    public Task<ApiResponse> CreateAccountAsync(string clientId, string clientSecret, JsonObject account, CancellationToken ct)
    {
        // Nylas "Basic" auth: the client secret as user name and an empty password.
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(clientSecret + ":")));
        return SendAsync(HttpMethod.Post, $"/a/{Uri.EscapeDataString(clientId)}/accounts", basic, account, ct);
    }

    /// <summary>GET /messages?view=count: {"count": N}.</summary>
    public Task<ApiResponse> CountMessagesAsync(string accessToken, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, "/messages?view=count", Bearer(accessToken), body: null, ct);

    private static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    private async Task<ApiResponse> SendAsync(
        HttpMethod method, string path, AuthenticationHeaderValue authorization, JsonNode? body, CancellationToken ct)
    {
        var url = UrlOf(path);
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = authorization;
        if (body is not null)
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");

        try
        {
            using var response = await _http.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            return new ApiResponse(method, url, response.StatusCode, text, ParseJson(text));
        }
        catch (HttpRequestException ex)
        {
            throw new ApiUnreachableException($"cannot reach the API at {url}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation.
            throw new ApiUnreachableException($"the API did not answer {method} {url} within {_http.Timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s", ex);
        }
    }

    private static JsonNode? ParseJson(string text)
    {
        try
        {
            return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null; // e.g. an HTML error page from a proxy; ApiResponse shows the raw text instead
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>An API answer: status, raw body and the body as JSON when it is JSON.</summary>
internal sealed record ApiResponse(HttpMethod Method, string Url, HttpStatusCode Status, string Body, JsonNode? Json)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>A string property of the JSON object body (numbers are accepted as text too).</summary>
    public string? GetString(string property)
    {
        if (Json is not JsonObject obj || obj[property] is not JsonValue value)
            return null;
        return value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            _ => null,
        };
    }

    /// <summary>"HTTP 401 (invalid_request_error): message" from a Nylas-style error body.</summary>
    public string Describe()
    {
        var status = $"HTTP {(int)Status}";
        var message = GetString("message");
        if (message is not null)
        {
            var type = GetString("type");
            return type is null ? $"{status}: {message}" : $"{status} ({type}): {message}";
        }
        var raw = Body.ReplaceLineEndings(" ").Trim();
        if (raw.Length > 200)
            raw = raw[..200] + "…";
        return raw.Length == 0 ? $"{status} {Status}" : $"{status}: {raw}";
    }

    public ToolException Failure(string what) => new($"{what} failed: {Method} {Url}: {Describe()}");
}
