using System.Net;

namespace Nylas.Integration.Tests.Faults;

/// <summary>Requests that many at a time from one credential: a 429 is waited out (Retry-After), not counted as an answer.</summary>
public static class ApiClient
{
    public static async Task<HttpResponseMessage> SendPatientlyAsync(HttpClient http, Func<HttpRequestMessage> request)
    {
        for (int attempt = 0; ; attempt++)
        {
            var response = await http.SendAsync(request());
            if (response.StatusCode != HttpStatusCode.TooManyRequests || attempt == 30) return response;
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            response.Dispose();
            await Task.Delay(wait);
        }
    }

    public static Task<HttpResponseMessage> GetPatientlyAsync(HttpClient http, string path, string? accept = null)
        => SendPatientlyAsync(http, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (accept is not null) request.Headers.Accept.ParseAdd(accept);
            return request;
        });
}
