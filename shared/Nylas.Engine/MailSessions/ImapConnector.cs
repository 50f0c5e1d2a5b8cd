using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;
using Nylas.Engine.Telemetry;
using Polly;
using Polly.Retry;

namespace Nylas.Engine.MailSessions;

/// <summary>
/// Opens authenticated IMAP sessions (password, or XOAUTH2/OAUTHBEARER with an access token). TLS
/// certificates are verified unless the account pins one by SHA-256.
/// </summary>
public sealed class ImapConnector(IOptions<NylasOptions> options, OAuthTokenProvider oauth, ConnectTargetGuard guard)
{
    // Transient connect failures (refused, reset, timeouts) are retried with jittered backoff; auth and TLS failures are not.
    private static readonly ResiliencePipeline ConnectRetry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = 3,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(250),
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ImapErrors.IsTransient),
        })
        .Build();

    /// <summary>
    /// An authenticated session. With an OAuth2 grant the access token comes from <see cref="OAuthTokenProvider"/>
    /// (cached until shortly before it expires); a token the server refuses is dropped and a fresh one tried once.
    /// </summary>
    /// <param name="secretsChanged">Called with the new secrets when the OAuth2 provider rotated the refresh token: store them.</param>
    public async Task<ImapClient> ConnectAsync(ImapServer server, AccountSecrets secrets, Func<AccountSecrets, Task>? secretsChanged, CancellationToken cancellationToken)
    {
        if (secrets.OAuth is not { } grant) return await ConnectOnceAsync(server, secrets, secrets.ImapAccessToken, cancellationToken);
        async Task<string> AccessTokenAsync()
        {
            var access = await oauth.GetAccessAsync(grant, cancellationToken);
            if (access.Grant != grant)
            {
                grant = access.Grant;
                if (secretsChanged is not null) await secretsChanged(secrets with { OAuth = grant });
            }
            return access.AccessToken;
        }
        try
        {
            return await ConnectOnceAsync(server, secrets, await AccessTokenAsync(), cancellationToken);
        }
        catch (MailKit.Security.AuthenticationException)
        {
            oauth.Forget(grant);
            return await ConnectOnceAsync(server, secrets, await AccessTokenAsync(), cancellationToken);
        }
    }

    private async Task<ImapClient> ConnectOnceAsync(ImapServer server, AccountSecrets secrets, string? accessToken, CancellationToken cancellationToken)
    {
        using var activity = EngineTelemetry.Source.StartActivity("imap.connect", System.Diagnostics.ActivityKind.Client)?
            .SetTag("server.address", server.Host).SetTag("server.port", server.Port);
        try
        {
            return await ConnectWithRetryAsync(server, secrets, accessToken, cancellationToken);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
    }

    /// <summary>The capabilities named in <c>Nylas:Sync:IgnoreCapabilities</c> (checked at start-up); false when a name is not one MailKit knows.</summary>
    public static bool TryParseCapabilities(string? names, out ImapCapabilities capabilities)
    {
        capabilities = ImapCapabilities.None;
        foreach (string name in (names ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<ImapCapabilities>(name, ignoreCase: true, out var flag) || flag == ImapCapabilities.None || int.TryParse(name, out _)) return false;
            capabilities |= flag;
        }
        return true;
    }

    private async Task<ImapClient> ConnectWithRetryAsync(ImapServer server, AccountSecrets secrets, string? accessToken, CancellationToken cancellationToken)
    {
        return await ConnectRetry.ExecuteAsync(async ct =>
        {
            var responses = new ServerResponseTail();
            var client = new ImapClient(responses) { Timeout = options.Value.Sync.ConnectTimeoutSeconds * 1000 };
            MailConnections.PinCertificate(client, server.TrustedCertSha256);
            try
            {
                var socketOptions = server.Security switch
                {
                    ImapSecurity.Ssl => SecureSocketOptions.SslOnConnect,
                    ImapSecurity.StartTls => SecureSocketOptions.StartTls,
                    _ => SecureSocketOptions.None,
                };
                await MailConnections.ConnectAsync(client, guard, server.Host, server.Port, socketOptions, ct);
                if (accessToken is { Length: > 0 } token)
                    await client.AuthenticateAsync(MailConnections.OAuthMechanism(client, server.Username, token), ct);
                else
                {
                    await client.AuthenticateAsync(server.Username, secrets.ImapPassword ?? "", ct);
                }
                // MailKit chooses commands by these flags (UID MOVE or COPY, UID EXPUNGE or EXPUNGE), so clearing one takes its fallback.
                if (TryParseCapabilities(options.Value.Sync.IgnoreCapabilities, out var ignored)) client.Capabilities &= ~ignored;
                return client;
            }
            catch (MailKit.Security.AuthenticationException ex) when (responses.Contains("[UNAVAILABLE]"))
            {
                // MailKit reports every refused AUTHENTICATE alike; the server's own words tell a wrong
                // credential from an auth backend (password store, OAuth2 provider) that is down.
                client.Dispose();
                throw new ImapAuthUnavailableException($"{server.Host}:{server.Port} could not check the credentials right now (NO [UNAVAILABLE]); will retry", ex);
            }
            catch (Exception ex) when (ex is IOException or ImapProtocolException && responses.Contains("[AUTHENTICATIONFAILED]"))
            {
                // MailKit tries each mechanism in turn; a server that limits failed attempts (Dovecot: 3) may hang up
                // before answering the last one. It has already said the credentials are wrong: that is the error,
                // not a broken connection to retry (retrying a wrong password only locks the user out).
                client.Dispose();
                throw new MailKit.Security.AuthenticationException("Authentication failed: the server refused the credentials ([AUTHENTICATIONFAILED]) and closed the connection.", ex);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }, cancellationToken);
    }
}

/// <summary>Classifies IMAP failures where they surface: transient ones are retried, the rest change the account's state.</summary>
public static class ImapErrors
{
    public static bool IsTransient(Exception ex) => ex switch
    {
        ImapAuthUnavailableException => true,
        OAuthProviderUnavailableException => true,
        MailKit.Security.AuthenticationException => false,
        SslHandshakeException => false,
        SocketException => true,
        IOException => true,
        TimeoutException => true,
        ImapProtocolException => true,
        ServiceNotConnectedException => true,
        OperationCanceledException => false,
        _ => false,
    };

    /// <summary>A refused login: the credentials are wrong (not the server's auth backend being down).</summary>
    public static bool IsAuthenticationFailure(Exception ex) => ex is MailKit.Security.AuthenticationException or OAuthGrantRejectedException;

    /// <summary>One line for people: what failed and where, never the password.</summary>
    public static string Describe(Exception ex, ImapServer server) => ex switch
    {
        MailKit.Security.AuthenticationException => $"IMAP authentication failed for {server.Username} at {server.Host}:{server.Port}: {ex.Message}",
        ImapAuthUnavailableException or OAuthGrantRejectedException or OAuthProviderUnavailableException => ex.Message,
        PrivateNetworkRefusedException => $"IMAP server {ex.Message}",
        SslHandshakeException => $"TLS handshake with {server.Host}:{server.Port} failed (certificate not trusted?): {FirstLine(ex.Message)}",
        SocketException se => $"Could not connect to {server.Host}:{server.Port}: {se.SocketErrorCode}",
        _ => $"{ex.GetType().Name} talking to {server.Host}:{server.Port}: {FirstLine(ex.Message)}",
    };

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}

/// <summary>The server refused a login with RFC 5530 [UNAVAILABLE]: its authentication backend is down, not the credentials wrong.</summary>
public sealed class ImapAuthUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Keeps the last few hundred bytes the server sent (never what the client sent: that has credentials),
/// so a refused login can be told apart by the server's response code. Counts the commands sent, for the metrics.
/// </summary>
internal sealed class ServerResponseTail : IProtocolLogger, IImapCommandCounter
{
    private const int Keep = 512;
    private readonly byte[] _ring = new byte[Keep];
    private int _next;
    private int _filled;

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public bool Contains(string text)
    {
        lock (_ring)
        {
            var ordered = new byte[_filled];
            int start = (_next - _filled + Keep) % Keep;
            for (int i = 0; i < _filled; i++) ordered[i] = _ring[(start + i) % Keep];
            return System.Text.Encoding.ASCII.GetString(ordered).Contains(text, StringComparison.OrdinalIgnoreCase);
        }
    }

    public void LogConnect(Uri uri) { }

    private long _commandsSent;

    public long CommandsSent => Interlocked.Read(ref _commandsSent);

    // MailKit sends one command at a time and flushes it whole, starting with its tag ("A00000001 "): a flush
    // that starts otherwise is the rest of one (a literal, a SASL response, IDLE's DONE).
    public void LogClient(byte[] buffer, int offset, int count)
    {
        if (count >= 10 && buffer[offset] is >= (byte)'A' and <= (byte)'Z' && buffer[offset + 9] == (byte)' '
            && buffer.AsSpan(offset + 1, 8).IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0)
            Interlocked.Increment(ref _commandsSent);
    }

    // Called for every byte the server sends (message bodies too): copy only the last Keep bytes of each chunk.
    public void LogServer(byte[] buffer, int offset, int count)
    {
        int skip = Math.Max(0, count - Keep);
        lock (_ring)
        {
            for (int i = offset + skip; i < offset + count; i++)
            {
                _ring[_next] = buffer[i];
                _next = (_next + 1) % Keep;
            }
            _filled = Math.Min(Keep, _filled + count - skip);
        }
    }

    public void Dispose() { }
}
