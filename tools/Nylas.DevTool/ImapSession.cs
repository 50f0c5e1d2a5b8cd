using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;

namespace Nylas.DevTool;

/// <summary>Opens plain-IMAP sessions to the dev Dovecot and turns failures into clear errors.</summary>
internal static class ImapSession
{
    public static async Task<ImapClient> OpenAsync(ImapSettings imap, CancellationToken ct)
    {
        var client = new ImapClient { Timeout = 30_000 };
        try
        {
            try
            {
                // The dev Dovecot listens on loopback: plain IMAP, no STARTTLS needed.
                await client.ConnectAsync(imap.Host, imap.Port, SecureSocketOptions.None, ct);
            }
            catch (Exception ex) when (ex is SocketException or IOException or ImapProtocolException or TimeoutException)
            {
                throw new ToolException($"cannot connect to IMAP server at {imap.Host}:{imap.Port}: {ex.Message}", ex);
            }

            try
            {
                await client.AuthenticateAsync(imap.User, imap.Password, ct);
            }
            catch (Exception ex) when (ex is AuthenticationException or ImapCommandException or ImapProtocolException or IOException)
            {
                throw new ToolException($"IMAP login failed for {imap.User} at {imap.Host}:{imap.Port}: {ex.Message}", ex);
            }
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Closes the session politely. Runs in finally blocks, so it neither takes the (possibly
    /// cancelled) caller's token nor throws: a failing LOGOUT does not matter any more.
    /// </summary>
    public static async Task CloseAsync(ImapClient client)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            if (client.IsConnected)
                await client.DisconnectAsync(quit: true, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or ImapProtocolException or SocketException or OperationCanceledException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    /// <summary>Number of messages in INBOX (STATUS, no SELECT needed).</summary>
    public static async Task<int> CountInboxAsync(ImapSettings imap, CancellationToken ct)
    {
        var client = await OpenAsync(imap, ct);
        try
        {
            await client.Inbox.StatusAsync(StatusItems.Count, ct);
            return client.Inbox.Count;
        }
        finally
        {
            await CloseAsync(client);
        }
    }
}

/// <summary>Where and as whom to log in over plain IMAP.</summary>
internal sealed record ImapSettings(string Host, int Port, string User, string Password);
