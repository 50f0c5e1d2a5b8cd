using System.Diagnostics.Metrics;
using System.Globalization;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Utils;
using Nylas.Engine.Accounts;
using Nylas.Engine.Ingest;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Sending;

/// <summary>
/// What a send produced: the id the message has in the mirror (its copy in Sent, ingested at once), or, when the
/// copy could not be made or found, null and the raw bytes that were sent.
/// </summary>
public sealed record SentMessage(string? PublicId, byte[] Raw);

/// <summary>
/// Sends a message through the account's SMTP server, then files the one copy in Sent: APPENDed with \Seen (Gmail
/// files it itself), fetched back by its UID and ingested at once, so the answer carries the id the message keeps
/// in /messages (the sync later finds the same bytes there and links the same row). A failure after the server took
/// the message does not undo the send: it is logged and counted, and the caller still answers success.
/// </summary>
public sealed partial class MessageSender(
    AccountStore accounts,
    SmtpConnector smtp,
    ImapConnector imap,
    OAuthTokenProvider oauth,
    FolderStore folders,
    FolderListMirror folderList,
    MailboxMirror mirror,
    RawMailStore rawMail,
    IngestHandler ingest,
    ShardDirectory shards,
    EngineMetrics metrics,
    TimeProvider clock,
    ILogger<MessageSender> logger)
{
    private readonly Counter<long> _sent = metrics.Meter.CreateCounter<long>("nylas.send.messages", "{message}", "Messages the SMTP server accepted from POST /send");
    private readonly Counter<long> _sentCopyFailures = metrics.Meter.CreateCounter<long>("nylas.send.sent_copy.failures", "{message}",
        "Sent messages whose copy in the Sent folder could not be made or found (the message went out; the mailbox has no copy of it)");

    /// <summary>How long a Gmail account's own copy of a sent message is looked for in All Mail.</summary>
    private static readonly TimeSpan GmailCopyWait = TimeSpan.FromSeconds(10);

    /// <exception cref="SendFailedException">The SMTP server did not take the message (nothing was sent).</exception>
    public async Task<SentMessage> SendAsync(Account account, MimeMessage message, CancellationToken cancellationToken)
    {
        var server = account.Smtp ?? throw new InvalidOperationException("The account has no SMTP settings; the API checks this first.");
        if (string.IsNullOrEmpty(message.MessageId)) message.MessageId = MimeUtils.GenerateMessageId(DomainOf(account.EmailAddress));
        string messageId = message.MessageId;
        if (!message.Headers.Contains(HeaderId.Date)) message.Date = clock.GetUtcNow();
        // Transfer encodings fixed once, so the bytes filed in Sent are the ones the SMTP server got (apart from Bcc).
        message.Prepare(EncodingConstraint.SevenBit);

        var secrets = await accounts.GetSecretsAsync(account.Id, cancellationToken);
        await SmtpSendAsync(account, server, secrets, message, cancellationToken);
        _sent.Add(1);

        // What went out, Bcc included (MailKit leaves Bcc out of what it sends; the sender's copy keeps it).
        using var raw = new MemoryStream();
        await message.WriteToAsync(FormatOptions.Default, raw, cancellationToken);
        try
        {
            string? publicId = await FileSentCopyAsync(account, secrets, message, messageId, cancellationToken);
            if (publicId is null) _sentCopyFailures.Add(1);
            return new SentMessage(publicId, raw.ToArray());
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSentCopyFailed(account.Id, messageId, ex.GetType().Name, ex.Message);
            _sentCopyFailures.Add(1);
            return new SentMessage(null, raw.ToArray());
        }
    }

    private async Task SmtpSendAsync(Account account, SmtpServer server, AccountSecrets secrets, MimeMessage message, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using var client = await smtp.ConnectAsync(server, secrets, cancellationToken);
                await client.SendAsync(message, cancellationToken);
                await client.DisconnectAsync(quit: true, cancellationToken);
                return;
            }
            catch (MailKit.Security.AuthenticationException) when (attempt == 1 && secrets.OAuth is { } grant)
            {
                // A cached access token the server no longer takes: redeem the refresh token again, once.
                oauth.Forget(grant);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var failure = SmtpFailures.Classify(ex, server);
                LogSendFailed(account.Id, server.Host, server.Port, failure.Failure, failure.Message);
                throw failure;
            }
        }
    }

    /// <summary>The Sent copy's public id, or null when it was not found (Gmail had not filed it in time).</summary>
    private async Task<string?> FileSentCopyAsync(Account account, AccountSecrets secrets, MimeMessage message, string messageId, CancellationToken cancellationToken)
    {
        using var client = await imap.ConnectAsync(account.Imap, secrets, s => accounts.UpdateSecretsAsync(account.Id, s, cancellationToken), cancellationToken);
        string? publicId;
        if (GmailLabels.IsLabelServer(client))
            publicId = await FindGmailCopyAsync(account, client, messageId, cancellationToken);
        else
        {
            var (folder, state) = await SentFolderAsync(account, client, cancellationToken);
            var uid = await folder.AppendAsync(new AppendRequest(message, MessageFlags.Seen), cancellationToken);
            await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
            // Without UIDPLUS the server does not say the new UID: the newest message with this Message-ID is it.
            uid ??= (await folder.SearchAsync(SearchQuery.HeaderContains("Message-ID", messageId), cancellationToken)).OrderBy(u => u.Id).LastOrDefault();
            publicId = uid is { IsValid: true } found ? await IngestCopyAsync(account, folder, state, found, null, cancellationToken) : null;
        }
        if (publicId is null) LogSentCopyMissing(account.Id, messageId);
        await client.DisconnectAsync(quit: true, cancellationToken);
        return publicId;
    }

    /// <summary>The folder with the role sent: from the mirror, or from the server's folder list when the mirror has none yet.</summary>
    private async Task<(ImapFolder Folder, FolderState State)> SentFolderAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        var known = (await folders.ListAsync(account.ShardId, account.Id, cancellationToken)).FirstOrDefault(f => f.Role == "sent");
        if (known is not null) return ((ImapFolder)await client.GetFolderAsync(known.Name, cancellationToken), known);
        var listed = await folderList.MirrorAsync(account, client, cancellationToken);
        return listed.FirstOrDefault(f => f.State.Role == "sent") is { Folder: not null } sent
            ? (sent.Folder, sent.State)
            : throw new InvalidOperationException("The IMAP server has no Sent folder (none with the \\Sent special use or a Sent name).");
    }

    /// <summary>Gmail files what its SMTP server sent in All Mail with the \Sent label; the copy is looked for there for a while.</summary>
    private async Task<string?> FindGmailCopyAsync(Account account, ImapClient client, string messageId, CancellationToken cancellationToken)
    {
        var states = await folders.ListAsync(account.ShardId, account.Id, cancellationToken);
        if (states.FirstOrDefault(f => f.Role == "all") is not { } allState) return null;
        var all = (ImapFolder)await client.GetFolderAsync(allState.Name, cancellationToken);
        await all.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        var deadline = clock.GetUtcNow() + GmailCopyWait;
        while (true)
        {
            var uids = await all.SearchAsync(SearchQuery.HeaderContains("Message-ID", messageId), cancellationToken);
            if (uids.Count > 0)
                return await IngestCopyAsync(account, all, allState, uids.Max(), new GmailLabels.Map(states), cancellationToken);
            if (clock.GetUtcNow() > deadline) return null;
            await Task.Delay(TimeSpan.FromMilliseconds(500), clock, cancellationToken);
            await all.CheckAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Fetches the copy as the sync would (BODY.PEEK[]), stores its bytes and ingests it now: the same bytes, so the sync
    /// links this row when it comes to the UID, and the message keeps this id.
    /// </summary>
    private async Task<string?> IngestCopyAsync(Account account, ImapFolder folder, FolderState state, UniqueId uid, GmailLabels.Map? labels, CancellationToken cancellationToken)
    {
        var items = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate | MessageSummaryItems.Size;
        if (labels is not null) items |= GmailLabels.SummaryItems;
        var summary = (await folder.FetchAsync([uid], items, cancellationToken)).FirstOrDefault();
        if (summary is null) return null;
        FetchedMessage? body = null;
        try
        {
            await folder.GetStreamsAsync([uid], async (_, _, _, stream, ct) => body = await FetchedMessage.ReadAsync(stream, SpoolThreshold, ct), cancellationToken);
            if (body is null) return null;
            string blobName;
            await using (var content = body.OpenRead())
                blobName = await rawMail.PutAsync(body.Sha256, content, cancellationToken);
            if (labels is not null && summary.GMailMessageId is ulong gmailId)
                await mirror.SaveGmailLocationsAsync(account.ShardId, account.Id, state.Id,
                    [new GmailLocation(uid.Id, gmailId, summary.GMailThreadId ?? 0, labels.Resolve(summary.GMailLabels))], cancellationToken);
            var message = new IngestMessage(account.Id, account.ShardId, state.Id, folder.UidValidity, uid.Id, blobName, body.Sha256, body.Length,
                ImapFlags.Format(summary).Split(' ', StringSplitOptions.RemoveEmptyEntries), (summary.InternalDate ?? clock.GetUtcNow()).ToUnixTimeSeconds(),
                summary.GMailThreadId?.ToString(CultureInfo.InvariantCulture));
            await ingest.HandleAsync(new IngestBatch([message]), cancellationToken);
            var stored = await mirror.FindByHashesAsync(account.ShardId, account.Id, [body.Sha256], cancellationToken);
            return stored.TryGetValue(body.Sha256, out var known) ? known.PublicId : null;
        }
        finally
        {
            body?.Dispose();
        }
    }

    private const int SpoolThreshold = 1024 * 1024;

    /// <summary>The account's message <paramref name="publicId"/> as a reply sees it, or null when the account has no such message.</summary>
    public async Task<ReplyTarget?> FindReplyTargetAsync(Account account, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand(
            "SELECT message_id_header, references_json FROM messages WHERE account_id = @account AND public_id = @pid");
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return null;
        // A message without a Message-ID cannot be answered by reference; the reply then starts its own thread.
        string messageId = r.IsDBNull(0) ? "" : r.GetString(0);
        var references = r.IsDBNull(1) ? [] : System.Text.Json.JsonSerializer.Deserialize<string[]>(r.GetString(1)) ?? [];
        return new ReplyTarget(messageId, references);
    }

    private static string DomainOf(string address) => address.LastIndexOf('@') is int at and >= 0 ? address[(at + 1)..] : "localhost";

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Account {AccountId}: the SMTP server {Host}:{Port} did not take a message ({Failure}): {Reason}")]
    private partial void LogSendFailed(long accountId, string host, int port, SendFailure failure, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning,
        Message = "Account {AccountId}: message {MessageId} was sent but its copy in Sent could not be made ({Error}: {Reason}); the mailbox has no copy of it")]
    private partial void LogSentCopyFailed(long accountId, string messageId, string error, string reason);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Account {AccountId}: message {MessageId} was sent but its copy was not found in the mailbox")]
    private partial void LogSentCopyMissing(long accountId, string messageId);
}
