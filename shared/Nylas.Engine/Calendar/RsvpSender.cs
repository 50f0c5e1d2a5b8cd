using System.Text.Json;
using Microsoft.Extensions.Logging;
using MimeKit;
using MySqlConnector;
using Nylas.Core.Api;
using Nylas.Core.Calendar;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sending;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Calendar;

/// <summary>Why an event cannot be answered; <see cref="NotFound"/> is a 404, the others a 400.</summary>
public enum RsvpRefusal { NotFound, NoOrganizer, OwnEvent, NotInvited, Cancelled, NoSmtp }

/// <summary>What an RSVP did: refused (with why), or answered (and whether a reply was sent: the same answer again sends none).</summary>
public sealed record RsvpOutcome(RsvpRefusal? Refusal, string? Problem, bool Sent)
{
    public static RsvpOutcome Refused(RsvpRefusal refusal, string problem) => new(refusal, problem, false);
}

/// <summary>
/// Answers an emailed invitation for the account (v2's POST /send-rsvp): an iMIP REPLY to the organizer through the
/// account's SMTP server (<see cref="MessageSender"/>: its copy is filed in Sent, as for /send), then the account's
/// participant status on the event, recorded in the change log in the same transaction. The reply goes first: an
/// answer the organizer never got is not shown as given.
/// </summary>
public sealed partial class RsvpSender(ShardDirectory shards, MessageSender sender, TimeProvider clock, ILogger<RsvpSender> logger)
{
    private sealed record StoredEvent(long RowId, ParsedEvent Event, int Sequence, string? MessagePublicId);

    /// <exception cref="SendFailedException">The SMTP server did not take the reply (nothing changed).</exception>
    public async Task<RsvpOutcome> AnswerAsync(Account account, string eventPublicId, string status, string? comment, CancellationToken cancellationToken)
    {
        if (InvitationReply.PartStatOf(status) is null) throw new ArgumentOutOfRangeException(nameof(status), status, "yes, no or maybe");
        comment = string.IsNullOrWhiteSpace(comment) ? null : comment.Trim();

        var stored = await LoadAsync(account, eventPublicId, cancellationToken);
        if (stored is null) return RsvpOutcome.Refused(RsvpRefusal.NotFound, $"Couldn't find event {eventPublicId}");
        var e = stored.Event;
        if (e.Organizer is not { Email.Length: > 0 } organizer || !MailboxAddress.TryParse(organizer.Email, out _))
            return RsvpOutcome.Refused(RsvpRefusal.NoOrganizer,
                $"Event {eventPublicId} has no organizer email address: only an emailed invitation (with an ORGANIZER) can be answered.");
        if (Same(organizer.Email, account.EmailAddress))
            return RsvpOutcome.Refused(RsvpRefusal.OwnEvent, $"Event {eventPublicId} is organized by this account ({account.EmailAddress}): an organizer does not RSVP to its own event.");
        if (e.Participants.FirstOrDefault(p => Same(p.Email, account.EmailAddress)) is not { } me)
            return RsvpOutcome.Refused(RsvpRefusal.NotInvited,
                $"Cannot find {account.EmailAddress} among the participants of event {eventPublicId}: the invitation was not addressed to this account.");
        if (e.Status == EventStatuses.Cancelled)
            return RsvpOutcome.Refused(RsvpRefusal.Cancelled, $"Event {eventPublicId} was cancelled by its organizer: there is nothing to answer.");
        // As v2 did: the answer already given (same status, same comment) is not sent again.
        if (me.Status == status && me.Comment == comment) return new RsvpOutcome(null, null, Sent: false);
        if (account.Smtp is null)
            return RsvpOutcome.Refused(RsvpRefusal.NoSmtp, "This account has no SMTP settings (settings.smtp_host was not given when it was connected), " +
                "so it cannot send the reply to the organizer. Connect it again with them to RSVP.");

        var reply = new InvitationReply(e, stored.Sequence, new EventPerson(me.Name.Length > 0 ? me.Name : account.Name, account.EmailAddress), status, comment);
        var target = stored.MessagePublicId is { } messageId ? await sender.FindReplyTargetAsync(account, messageId, cancellationToken) : null;
        var sent = await sender.SendAsync(account, ToMime(account, organizer, reply, target), cancellationToken);
        LogReplySent(account.Id, eventPublicId, status, sent.PublicId);

        await RecordAsync(account, eventPublicId, status, comment, cancellationToken);
        return new RsvpOutcome(null, null, Sent: true);
    }

    /// <summary>
    /// From the account to the organizer: a text part for people and the REPLY for calendar clients (RFC 6047 2.4:
    /// text/calendar with the method parameter), threaded with the invitation when its message is known.
    /// </summary>
    private MimeMessage ToMime(Account account, EventPerson organizer, InvitationReply reply, ReplyTarget? target)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(reply.Attendee.Name, account.EmailAddress));
        message.To.Add(new MailboxAddress(organizer.Name, organizer.Email));
        message.Subject = reply.Subject;
        if (target is { MessageIdHeader.Length: > 0 })
        {
            message.InReplyTo = target.MessageIdHeader;
            foreach (string id in target.References.Where(r => r != target.MessageIdHeader)) message.References.Add(id);
            message.References.Add(target.MessageIdHeader);
        }
        var calendar = new TextPart("calendar") { Text = reply.ToIcs(clock.GetUtcNow()) };
        calendar.ContentType.Parameters.Add("method", "REPLY");
        calendar.ContentType.Charset = "utf-8";
        message.Body = new MultipartAlternative { new TextPart("plain") { Text = reply.Text }, calendar };
        return message;
    }

    private async Task<StoredEvent?> LoadAsync(Account account, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("""
            SELECT e.id, e.data_json, e.sequence, m.public_id
            FROM events e LEFT JOIN messages m ON m.id = e.message_id AND m.account_id = e.account_id
            WHERE e.account_id = @account AND e.public_id = @pid
            """);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return null;
        return new StoredEvent(r.GetInt64(0), JsonSerializer.Deserialize<ParsedEvent>(r.GetString(1), ApiJson.Options)!, r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3));
    }

    /// <summary>
    /// The account's answer on the event, with its change-log row, in one transaction. When the copy filed in Sent was
    /// ingested first it already carried the same REPLY (and recorded the change): then nothing is left to write.
    /// </summary>
    private async Task RecordAsync(Account account, string publicId, string status, string? comment, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        long rowId;
        string storedJson;
        await using (var find = new MySqlCommand("SELECT id, data_json FROM events WHERE account_id = @account AND public_id = @pid FOR UPDATE", connection, tx))
        {
            find.Parameters.AddWithValue("@account", account.Id);
            find.Parameters.AddWithValue("@pid", publicId);
            await using var r = await find.ExecuteReaderAsync(cancellationToken);
            if (!await r.ReadAsync(cancellationToken)) return; // deleted meanwhile: the reply went out, there is nothing to mark
            rowId = r.GetInt64(0);
            storedJson = r.GetString(1);
        }
        var stored = JsonSerializer.Deserialize<ParsedEvent>(storedJson, ApiJson.Options)!;
        string json = JsonSerializer.Serialize(InvitationReply.Apply(stored, [new EventParticipant("", account.EmailAddress, status, comment)]), ApiJson.Options);
        if (json == storedJson) return;
        await using (var update = new MySqlCommand("UPDATE events SET data_json = @json, updated_at = @now WHERE id = @id", connection, tx))
        {
            update.Parameters.AddWithValue("@json", json);
            update.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            update.Parameters.AddWithValue("@id", rowId);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, account.Id, "event", publicId, "update", clock, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    private static bool Same(string a, string b) => string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Account {AccountId}: answered event {EventId} with {Status} (reply filed as {SentId})")]
    private partial void LogReplySent(long accountId, string eventId, string status, string? sentId);
}
