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
    private static readonly ConcurrentDictionary<string, (string User, DateTimeOffset Expires, RefreshGrant? Grant)> Tokens = new();
    private static readonly ConcurrentDictionary<string, RefreshGrant> Grants = new();
    private static readonly Lazy<HttpListener> Listener = new(Start);

    /// <summary>A refresh token of the test identity provider and what it has been used for.</summary>
    public sealed class RefreshGrant(string user, string clientId, string clientSecret, TimeSpan accessTokenLifetime, bool rotate = false)
    {
        /// <summary>Like Microsoft's and others': every redeem answers a new refresh token and the old one stops working.</summary>
        public bool Rotate { get; } = rotate;
        /// <summary>The refresh token that works now.</summary>
        public string CurrentRefreshToken { get; internal set; } = "";
        public string User { get; } = user;
        public string ClientId { get; } = clientId;
        public string ClientSecret { get; } = clientSecret;
        public TimeSpan AccessTokenLifetime { get; } = accessTokenLifetime;
        public bool Revoked { get; set; }
        private int _redeemed;
        /// <summary>Access tokens issued for this refresh token so far.</summary>
        public int Redeemed => Volatile.Read(ref _redeemed);
        internal void CountRedeem() => Interlocked.Increment(ref _redeemed);
        private int _expiredPresented;
        /// <summary>Logins Dovecot asked about with an access token of this grant that had already expired.</summary>
        public int ExpiredPresented => Volatile.Read(ref _expiredPresented);
        internal void CountExpiredPresented() => Interlocked.Increment(ref _expiredPresented);
    }

    /// <summary>A fresh access token that Dovecot will accept for <paramref name="user"/>.</summary>
    public static string IssueToken(string user) => IssueToken(user, TimeSpan.FromDays(1), null);

    private static string IssueToken(string user, TimeSpan lifetime, RefreshGrant? grant)
    {
        _ = Listener.Value;
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        Tokens[token] = (user, DateTimeOffset.UtcNow + lifetime, grant);
        return token;
    }

    /// <summary>The token endpoint (RFC 6749 refresh_token grant) served on the same listener.</summary>
    public static string TokenUrl
    {
        get
        {
            _ = Listener.Value;
            return $"http://127.0.0.1:{Environment.GetEnvironmentVariable("NYLAS_TEST_OAUTH_PORT")}/token";
        }
    }

    /// <summary>
    /// A refresh token for <paramref name="user"/>: POST /token redeems it (with this client) for access tokens that
    /// Dovecot accepts for <paramref name="accessTokenLifetime"/> and rejects after.
    /// </summary>
    public static (string RefreshToken, RefreshGrant Grant) IssueRefreshToken(string user, string clientId, string clientSecret, TimeSpan accessTokenLifetime, bool rotate = false)
    {
        _ = Listener.Value;
        string refresh = "rt-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var grant = new RefreshGrant(user, clientId, clientSecret, accessTokenLifetime, rotate) { CurrentRefreshToken = refresh };
        Grants[refresh] = grant;
        return (refresh, grant);
    }

    public static void Revoke(string token) => Tokens.TryRemove(token, out _);

    /// <summary>A token for which the provider answers 503, as during an identity provider outage.</summary>
    public const string OutageToken = "provider-outage";

    /// <summary>Refresh tokens whose redeem answers a 1 MiB token response, with a Content-Length or chunked (length unknown until the end).</summary>
    public const string OversizedAnswerToken = "oversized-answer", OversizedChunkedAnswerToken = "oversized-chunked-answer";

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
            if (context.Request.Url?.AbsolutePath == "/token")
            {
                await ServeTokenAsync(context, form);
                continue;
            }
            string? token = form["token"];
            (string User, DateTimeOffset Expires, RefreshGrant? Grant) issued = default;
            if (token == OutageToken)
            {
                context.Response.StatusCode = 503;
                context.Response.Close();
                continue;
            }
            bool known = token is not null && Tokens.TryGetValue(token, out issued);
            if (known && issued.Expires <= DateTimeOffset.UtcNow) issued.Grant?.CountExpiredPresented();
            object body = known && issued.Expires > DateTimeOffset.UtcNow
                ? new { active = true, username = issued.User ?? "" }
                : new { active = false, username = "" };
            await WriteJsonAsync(context, 200, body);
        }
    }

    private static async Task ServeTokenAsync(HttpListenerContext context, System.Collections.Specialized.NameValueCollection form)
    {
        if (form["grant_type"] != "refresh_token")
        {
            await WriteJsonAsync(context, 400, new { error = "unsupported_grant_type" });
            return;
        }
        if (form["refresh_token"] is OversizedAnswerToken or OversizedChunkedAnswerToken)
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(new { access_token = new string('a', 1024 * 1024), token_type = "Bearer", expires_in = 3600 });
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            if (form["refresh_token"] == OversizedChunkedAnswerToken) context.Response.SendChunked = true;
            else context.Response.ContentLength64 = json.Length;
            try
            {
                await context.Response.OutputStream.WriteAsync(json);
                context.Response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client stopped reading at its cap and hung up; the listener serves on.
                context.Response.Abort();
            }
            return;
        }
        if (form["refresh_token"] is not { } refresh || !Grants.TryGetValue(refresh, out var grant) || grant.Revoked)
        {
            await WriteJsonAsync(context, 400, new { error = "invalid_grant", error_description = "Token has been expired or revoked." });
            return;
        }
        if (form["client_id"] != grant.ClientId || form["client_secret"] != grant.ClientSecret)
        {
            await WriteJsonAsync(context, 401, new { error = "invalid_client" });
            return;
        }
        grant.CountRedeem();
        string accessToken = IssueToken(grant.User, grant.AccessTokenLifetime, grant);
        if (grant.Rotate)
        {
            string next = "rt-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            Grants[next] = grant;
            Grants.TryRemove(refresh, out _);
            grant.CurrentRefreshToken = next;
            await WriteJsonAsync(context, 200, new
            {
                access_token = accessToken,
                token_type = "Bearer",
                expires_in = (int)grant.AccessTokenLifetime.TotalSeconds,
                refresh_token = next,
            });
            return;
        }
        await WriteJsonAsync(context, 200, new
        {
            access_token = accessToken,
            token_type = "Bearer",
            expires_in = (int)grant.AccessTokenLifetime.TotalSeconds,
        });
    }

    private static async Task WriteJsonAsync(HttpListenerContext context, int status, object body)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = json.Length;
        await context.Response.OutputStream.WriteAsync(json);
        context.Response.Close();
    }
}
