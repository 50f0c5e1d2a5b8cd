using System.Diagnostics;
using System.Security.Cryptography;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;
using MySqlConnector;

namespace Nylas.Testing;

/// <summary>
/// The real servers that <c>./dev test</c> starts (MariaDB, Dovecot, Postfix, Azurite), found through
/// NYLAS_TEST_* environment variables. Tests that need them fail with a clear message without them.
/// </summary>
public static class TestStack
{
    public static string MySql => Require("NYLAS_TEST_MYSQL");
    public static string Storage => Require("NYLAS_TEST_STORAGE");
    public static string ImapHost => Environment.GetEnvironmentVariable("NYLAS_TEST_IMAP_HOST") ?? "127.0.0.1";
    public static int ImapPort => int.Parse(Require("NYLAS_TEST_IMAP_PORT"));
    public static int ImapsPort => int.Parse(Require("NYLAS_TEST_IMAPS_PORT"));
    /// <summary>Postfix's submission service: STARTTLS with the IMAP server's certificate, then AUTH checked by Dovecot.</summary>
    public static int SubmissionPort => int.Parse(Require("NYLAS_TEST_SUBMISSION_PORT"));
    public static string ImapPassword => Environment.GetEnvironmentVariable("NYLAS_TEST_IMAP_PASSWORD") ?? "secret";
    public static string TlsCertPath => Require("NYLAS_TEST_TLS_CERT");
    public static string DovecotConf => Require("NYLAS_TEST_DOVECOT_CONF");

    private static string Require(string name)
        => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{name} is not set: run the tests with `./dev test`, which starts the servers they need.");

    /// <summary>A mailbox nobody else uses (the test Dovecot accepts any user at example.com).</summary>
    public static string NewMailbox(string prefix = "t") => $"{prefix}{Guid.NewGuid():N}"[..20] + "@example.com";

    public static string TlsCertSha256()
    {
        using var cert = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(TlsCertPath);
        return cert.GetCertHashString(HashAlgorithmName.SHA256);
    }

    public static string NewEncryptionKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Creates a global and two shard databases with a unique prefix; returns their connection strings.</summary>
    public static async Task<TestDatabases> CreateDatabasesAsync()
    {
        string prefix = $"nylas_t{Guid.NewGuid():N}"[..20];
        await using var connection = new MySqlConnection(MySql);
        await connection.OpenAsync();
        foreach (var suffix in new[] { "global", "shard0", "shard1" })
        {
            await using var cmd = new MySqlCommand($"CREATE DATABASE `{prefix}_{suffix}`", connection);
            await cmd.ExecuteNonQueryAsync();
        }
        return new TestDatabases(prefix);
    }

    public static async Task<ImapClient> ConnectImapAsync(string user, string? password = null)
    {
        var client = new ImapClient();
        await client.ConnectAsync(ImapHost, ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, password ?? ImapPassword);
        return client;
    }

    /// <summary>APPENDs a message to the user's INBOX the way any IMAP client would; returns its UID.</summary>
    public static async Task<UniqueId?> AppendAsync(string user, MimeMessage message, MessageFlags flags = MessageFlags.None, string folder = "INBOX")
    {
        using var client = await ConnectImapAsync(user);
        var target = folder == "INBOX" ? client.Inbox : await client.GetFolderAsync(folder);
        // INTERNALDATE follows the Date header, as for mail delivered when it was written.
        var uid = await target.AppendAsync(new AppendRequest(message, flags) { InternalDate = message.Date });
        await client.DisconnectAsync(true);
        return uid;
    }

    /// <summary>APPENDs many messages in MULTIAPPEND batches (fast fixtures for large mailboxes).</summary>
    public static async Task AppendManyAsync(string user, IEnumerable<MimeMessage> messages, string folder = "INBOX")
    {
        using var client = await ConnectImapAsync(user);
        var target = folder == "INBOX" ? client.Inbox : await client.GetFolderAsync(folder);
        foreach (var batch in messages.Chunk(200))
            await target.AppendAsync(batch.Select(m => (IAppendRequest)new AppendRequest(m, MessageFlags.None) { InternalDate = m.Date }).ToList());
        await client.DisconnectAsync(true);
    }

    /// <summary>Stops the test Dovecot and starts it again (what a server restart looks like to a client mid-sync).</summary>
    public static async Task RestartDovecotAsync(TimeSpan downtime)
    {
        await DoveadmAsync("stop");
        await Task.Delay(downtime);
        // `doveadm stop` returns before the old master has exited; until it has, a new one refuses to start.
        var stopped = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var start = Process.Start(new ProcessStartInfo("dovecot", $"-c {DovecotConf}") { RedirectStandardError = true })!;
            // Wait for the exit first: a started dovecot daemonizes with our stderr pipe still open, so reading to the end would hang.
            await start.WaitForExitAsync();
            if (start.ExitCode == 0) break;
            string error = await start.StandardError.ReadToEndAsync();
            if (!error.Contains("already running", StringComparison.Ordinal) || DateTime.UtcNow > stopped)
                throw new InvalidOperationException($"dovecot did not start again: {error}");
            await Task.Delay(200);
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(ImapHost, ImapPort);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Runs <c>doveadm -c &lt;test conf&gt; …</c> for fixtures the IMAP protocol cannot make (UIDVALIDITY resets, raw saves).</summary>
    public static async Task<string> DoveadmAsync(string arguments, string? stdin = null)
    {
        var psi = new ProcessStartInfo("doveadm", $"-c {DovecotConf} {arguments}")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        string output = await process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"doveadm {arguments} failed ({process.ExitCode}): {error}");
        return output;
    }

    /// <summary>
    /// The body of an organizer's iTIP message to <paramref name="attendee"/> (an invitation, <c>REQUEST</c>, or a
    /// <c>CANCEL</c>), as calendar clients send it: a plain-text part and a text/calendar part for a one-hour event
    /// from <paramref name="startUtc"/>; a fresh UID unless <paramref name="uid"/> names the event to update. The
    /// organizer is Boss &lt;boss@example.org&gt; unless <paramref name="organizer"/> names another address.
    /// </summary>
    public static MimeEntity InvitationBody(string attendee, string summary, string location, DateTime startUtc, string text,
        string? uid = null, string method = "REQUEST", int sequence = 0, string organizer = "boss@example.org")
    {
        static string Utc(DateTime t) => t.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        string ics = string.Join("\r\n",
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Nylas tests//EN", $"METHOD:{method}",
            "BEGIN:VEVENT", $"UID:{uid ?? $"{Guid.NewGuid():N}@example.org"}", $"SEQUENCE:{sequence}", $"DTSTAMP:{Utc(startUtc.AddDays(-7))}",
            $"DTSTART:{Utc(startUtc)}", $"DTEND:{Utc(startUtc.AddHours(1))}", $"SUMMARY:{summary}", $"LOCATION:{location}",
            $"ORGANIZER;CN=Boss:mailto:{organizer}",
            $"ATTENDEE;CN=Me;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}",
            method == "CANCEL" ? "STATUS:CANCELLED" : "STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR", "");
        var calendar = new TextPart("calendar") { Text = ics };
        calendar.ContentType.Parameters.Add("method", method);
        return new MultipartAlternative { new TextPart("plain") { Text = text }, calendar };
    }

    public static MimeMessage SimpleMessage(string to, string subject, string body = "Hello", string from = "Sender <sender@example.org>")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId("example.org");
        message.Date = DateTimeOffset.UtcNow;
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    /// <summary>The messages in a mailbox's folder whose subject contains <paramref name="subject"/>, read by an IMAP client of its own.</summary>
    public static async Task<List<MimeMessage>> ReadFolderAsync(string user, string folderName, string subject)
    {
        using var client = await ConnectImapAsync(user);
        var folder = folderName == "INBOX" ? client.Inbox : await client.GetFolderAsync(folderName);
        await folder.OpenAsync(FolderAccess.ReadOnly);
        var found = new List<MimeMessage>();
        foreach (var uid in await folder.SearchAsync(MailKit.Search.SearchQuery.SubjectContains(subject)))
            found.Add(await folder.GetMessageAsync(uid));
        await client.DisconnectAsync(true);
        return found;
    }

    /// <summary>How many messages in a mailbox's folder have a subject containing <paramref name="subject"/>, counted by an IMAP client of its own.</summary>
    public static async Task<int> CountInFolderAsync(string user, string folderName, string subject)
    {
        using var client = await ConnectImapAsync(user);
        var folder = folderName == "INBOX" ? client.Inbox : await client.GetFolderAsync(folderName);
        await folder.OpenAsync(FolderAccess.ReadOnly);
        int count = (await folder.SearchAsync(MailKit.Search.SearchQuery.SubjectContains(subject))).Count;
        await client.DisconnectAsync(true);
        return count;
    }

    /// <summary>Polls until <paramref name="condition"/> holds or the timeout passes; returns how long it took, or null.</summary>
    public static async Task<TimeSpan?> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (await condition()) return sw.Elapsed;
            await Task.Delay(50);
        }
        return null;
    }
}

public sealed record TestDatabases(string Prefix)
{
    public string Global => $"{TestStack.MySql};Database={Prefix}_global";
    public string Shard0 => $"{TestStack.MySql};Database={Prefix}_shard0";
    public string Shard1 => $"{TestStack.MySql};Database={Prefix}_shard1";

    /// <summary>The engine's configuration keys for these databases plus the test storage and a fresh key.</summary>
    public Dictionary<string, string?> EngineSettings() => new()
    {
        ["Nylas:Database:Global"] = Global,
        ["Nylas:Database:Shards:0"] = Shard0,
        ["Nylas:Database:Shards:1"] = Shard1,
        ["Nylas:Storage:ConnectionString"] = TestStack.Storage,
        ["Nylas:Security:EncryptionKey"] = TestStack.NewEncryptionKey(),
    };

    public async Task<long> ScalarAsync(string database, string sql) => Convert.ToInt64(await QueryScalarAsync(database, sql));

    /// <summary>The row id (accounts.id) of the account with public id <paramref name="publicId"/>.</summary>
    public Task<long> AccountRowIdAsync(string publicId) => ScalarAsync("global", $"SELECT id FROM accounts WHERE public_id = '{publicId}'");

    public async Task<object?> QueryScalarAsync(string database, string sql)
    {
        await using var connection = new MySqlConnection($"{TestStack.MySql};Database={Prefix}_{database}");
        await connection.OpenAsync();
        await using var cmd = new MySqlCommand(sql, connection);
        return await cmd.ExecuteScalarAsync();
    }

    /// <summary>Every row, each value as its invariant text ("NULL" for SQL NULL).</summary>
    public async Task<List<string[]>> QueryRowsAsync(string database, string sql)
    {
        await using var connection = new MySqlConnection($"{TestStack.MySql};Database={Prefix}_{database}");
        await connection.OpenAsync();
        await using var cmd = new MySqlCommand(sql, connection);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await r.ReadAsync())
            rows.Add([.. Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? "NULL" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "")]);
        return rows;
    }
}
