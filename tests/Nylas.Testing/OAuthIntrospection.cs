using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Nylas.Testing;

/// <summary>
/// The token introspection endpoint the test Dovecot's oauth2 passdb asks (RFC 7662 style, POST token=…):
/// the stand-in for an identity provider, so XOAUTH2/OAUTHBEARER run against the real IMAP server.
/// </summary>
public static class OAuthIntrospection
{
    private static readonly ConcurrentDictionary<string, string> Tokens = new();
    private static readonly Lazy<HttpListener> Listener = new(Start);

    /// <summary>A fresh access token that Dovecot will accept for <paramref name="user"/>.</summary>
    public static string IssueToken(string user)
    {
        _ = Listener.Value;
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        Tokens[token] = user;
        return token;
    }

    public static void Revoke(string token) => Tokens.TryRemove(token, out _);

    /// <summary>A token for which the provider answers 503, as during an identity provider outage.</summary>
    public const string OutageToken = "provider-outage";

    public static void EnsureStarted() => _ = Listener.Value;

    private static HttpListener Start()
    {
        string port = Environment.GetEnvironmentVariable("NYLAS_TEST_OAUTH_PORT")
            ?? throw new InvalidOperationException("NYLAS_TEST_OAUTH_PORT is not set: run the tests with `./dev test`.");
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        _ = Task.Run(() => ServeAsync(listener));
        return listener;
    }

    private static async Task ServeAsync(HttpListener listener)
    {
        while (listener.IsListening)
        {
            var context = await listener.GetContextAsync();
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var form = System.Web.HttpUtility.ParseQueryString(await reader.ReadToEndAsync());
            string? token = form["token"];
            if (token == OutageToken)
            {
                context.Response.StatusCode = 503;
                context.Response.Close();
                continue;
            }
            object body = token is not null && Tokens.TryGetValue(token, out var user)
                ? new { active = true, username = user }
                : new { active = false, username = "" };
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(body);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = json.Length;
            await context.Response.OutputStream.WriteAsync(json);
            context.Response.Close();
        }
    }
}
