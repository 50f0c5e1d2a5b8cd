using MailKit.Net.Imap;
using MailKit.Security;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The replay server the Gmail tests rely on: a command its transcript has no answer for fails loudly.</summary>
public class RecordedImapServerTests
{
    [Fact]
    public async Task A_command_missing_from_the_transcript_is_refused_and_named()
    {
        await using var server = RecordedImapServer.Start(Path.Combine(AppContext.BaseDirectory, "Recorded", "gmail", "session1.txt"));
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync("nylas.replay@gmail.com", "app-password");
        Assert.Empty(server.Unexpected);

        await Assert.ThrowsAsync<ImapCommandException>(() => client.Inbox.OpenAsync(MailKit.FolderAccess.ReadOnly));

        Assert.Equal(["EXAMINE INBOX (CONDSTORE)"], server.Unexpected);
        var error = Assert.Throws<InvalidOperationException>(server.ThrowIfUnexpected);
        Assert.Contains("EXAMINE INBOX", error.Message);
    }
}
