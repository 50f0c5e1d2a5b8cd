using System.Text.Json;
using System.Text.Json.Nodes;
using MySqlConnector;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Webhooks;

/// <summary>One delta of a delivery: the change (<paramref name="Seq"/> in the account's change log) and what it fires.</summary>
public sealed record WebhookDelta(long Seq, DateTime Date, string Type, string ObjectType, string ObjectId, JsonObject? Attributes, JsonObject? Metadata);

/// <summary>
/// Turns change-log entries into the deltas a subscription receives, reading what only the object's row tells:
/// a message's thread and received date (and whether it joined an earlier conversation: <c>thread.replied</c>),
/// an event's calendar, the account's sync state. Objects deleted since the change are delivered without attributes.
/// </summary>
public sealed class WebhookDeltas(ShardDirectory shards)
{
    public async Task<IReadOnlyList<WebhookDelta>> ForAsync(Account account, IReadOnlyList<ChangeEntry> entries, IReadOnlySet<string> triggers, CancellationToken cancellationToken)
    {
        var messageIds = entries.Where(e => e.ObjectType == "message" && e.Command == "insert" || e.ObjectType == "message" && e.Command == "update")
            .Select(e => e.ObjectPublicId).Distinct().ToList();
        var eventIds = entries.Where(e => e.ObjectType == "event" && e.Command != "delete").Select(e => e.ObjectPublicId).Distinct().ToList();
        var messages = messageIds.Count > 0 && (triggers.Contains(WebhookTriggers.MessageCreated) || triggers.Contains(WebhookTriggers.MessageUpdated) || triggers.Contains(WebhookTriggers.ThreadReplied))
            ? await ReadMessagesAsync(account, messageIds, cancellationToken) : [];
        var calendars = eventIds.Count > 0 && triggers.Any(t => t.StartsWith("event.", StringComparison.Ordinal))
            ? await ReadEventCalendarsAsync(account, eventIds, cancellationToken) : [];
        // A job's "update" entry is its one change of state (pending to successful or failed), read when delivered.
        var jobIds = entries.Where(e => e.ObjectType == "job" && e.Command == "update").Select(e => e.ObjectPublicId).Distinct().ToList();
        var jobs = jobIds.Count > 0 && (triggers.Contains(WebhookTriggers.JobSuccessful) || triggers.Contains(WebhookTriggers.JobFailed))
            ? await ReadJobsAsync(account, jobIds, entries.Min(e => e.Seq), cancellationToken) : [];

        var deltas = new List<WebhookDelta>();
        foreach (var entry in entries)
        {
            if (entry.ObjectType == "job")
            {
                // Only a job's last entry fires: an outbox item has several (rescheduled, sending, sent), all read as its final state.
                if (entry.Command == "update" && jobs.TryGetValue(entry.ObjectPublicId, out var job) && job.LastSeq == entry.Seq
                    && WebhookTriggers.ForJobState(job.State) is { } jobType && triggers.Contains(jobType))
                    deltas.Add(JobDelta(account, entry, jobType, job));
                continue;
            }
            string? type = entry.ObjectType == "account" && entry.Command == "update"
                ? WebhookTriggers.ForAccountState(account.SyncState)
                : WebhookTriggers.ForChange(entry.ObjectType, entry.Command);
            if (type is not null && triggers.Contains(type))
                deltas.Add(new WebhookDelta(entry.Seq, entry.CreatedAtUtc, type, entry.ObjectType,
                    entry.ObjectType == "account" ? account.PublicId : entry.ObjectPublicId,
                    Attributes(entry, messages, calendars), null));

            // A new message in a conversation that already had an earlier one: what "someone replied" means to a user.
            if (entry.ObjectType == "message" && entry.Command == "insert" && triggers.Contains(WebhookTriggers.ThreadReplied)
                && messages.TryGetValue(entry.ObjectPublicId, out var m) && m.ThreadId is not null && m.HasEarlierInThread)
                deltas.Add(new WebhookDelta(entry.Seq, entry.CreatedAtUtc, WebhookTriggers.ThreadReplied, "thread", m.ThreadId,
                    new JsonObject { ["thread_id"] = m.ThreadId, ["message_id"] = entry.ObjectPublicId, ["received_date"] = m.ReceivedUnix },
                    new JsonObject { ["message_id"] = entry.ObjectPublicId, ["thread_id"] = m.ThreadId, ["timestamp"] = m.ReceivedUnix }));
        }
        return deltas;
    }

    /// <summary>
    /// A job delta is about the object the write was for (a message, folder or label, as /job-statuses names it); its
    /// attributes say which write (<c>action</c>, <c>job_status_id</c>), how it ended and, for a failure, why.
    /// </summary>
    private static WebhookDelta JobDelta(Account account, ChangeEntry entry, string type, JobFacts job)
    {
        var attributes = new JsonObject
        {
            ["action"] = job.Action,
            ["job_status_id"] = entry.ObjectPublicId,
            ["status"] = job.State,
        };
        if (job.State == "failed") attributes["reason"] = job.Error;
        string objectType = job.ObjectType == "folder" && account.UsesLabels ? "label" : job.ObjectType;
        return new WebhookDelta(entry.Seq, entry.CreatedAtUtc, type, objectType, job.ObjectPublicId, attributes, null);
    }

    private static JsonObject? Attributes(ChangeEntry entry, Dictionary<string, MessageFacts> messages, Dictionary<string, string> calendars)
        => entry.ObjectType switch
        {
            "message" when messages.TryGetValue(entry.ObjectPublicId, out var m) => new JsonObject
            {
                ["thread_id"] = m.ThreadId,
                ["received_date"] = m.ReceivedUnix,
            },
            "event" when calendars.TryGetValue(entry.ObjectPublicId, out var calendar) => new JsonObject { ["calendar_id"] = calendar },
            _ => null,
        };

    /// <summary>
    /// The v2 delivery body: <c>{"deltas":[{date, object, type, object_data:{id, account_id, namespace_id, object,
    /// attributes, metadata}, cursor}]}</c>; <c>cursor</c> (the delta's position in the account's change log, as
    /// /delta encodes it) is ours, for a receiver to dedupe and find gaps.
    /// </summary>
    public static byte[] Body(Account account, IReadOnlyList<WebhookDelta> deltas, Func<long, string> cursor)
    {
        var array = new JsonArray();
        foreach (var d in deltas)
            array.Add(new JsonObject
            {
                ["date"] = new DateTimeOffset(DateTime.SpecifyKind(d.Date, DateTimeKind.Utc)).ToUnixTimeSeconds(),
                ["object"] = d.ObjectType,
                ["type"] = d.Type,
                ["object_data"] = new JsonObject
                {
                    ["id"] = d.ObjectId,
                    ["account_id"] = account.PublicId,
                    ["namespace_id"] = account.PublicId,
                    ["object"] = d.ObjectType,
                    ["attributes"] = d.Attributes?.DeepClone(),
                    ["metadata"] = d.Metadata?.DeepClone(),
                },
                ["cursor"] = cursor(d.Seq),
            });
        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["deltas"] = array });
    }

    private sealed record MessageFacts(string? ThreadId, long ReceivedUnix, bool HasEarlierInThread);

    private async Task<Dictionary<string, MessageFacts>> ReadMessagesAsync(Account account, List<string> publicIds, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        cmd.CommandText = $"""
            SELECT m.public_id, t.public_id, m.received_unix,
                   EXISTS (SELECT 1 FROM messages e WHERE e.thread_id = m.thread_id AND e.id <> m.id
                           AND (e.date_unix < m.date_unix OR (e.date_unix = m.date_unix AND e.id < m.id)))
            FROM messages m LEFT JOIN threads t ON t.id = m.thread_id
            WHERE m.account_id = @account AND m.public_id IN ({Sql.InList(cmd, publicIds, "pid")})
            """;
        cmd.Parameters.AddWithValue("@account", account.Id);
        var facts = new Dictionary<string, MessageFacts>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            facts[r.GetString(0)] = new MessageFacts(r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2), Convert.ToInt64(r.GetValue(3)) != 0);
        return facts;
    }

    private sealed record JobFacts(string State, string Action, string ObjectType, string ObjectPublicId, string? Error, long LastSeq);

    /// <summary>
    /// The jobs' outcomes: syncback actions (their object), and outbox items (action <c>outbox</c>, about the sent message
    /// once there is one, else the item itself: sent is successful). With each job's last change-log entry since <paramref name="fromSeq"/>.
    /// </summary>
    private async Task<Dictionary<string, JobFacts>> ReadJobsAsync(Account account, List<string> publicIds, long fromSeq, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        string ids = Sql.InList(cmd, publicIds, "pid");
        cmd.CommandText = $"""
            SELECT j.public_id, j.state, j.action, j.object_type, j.object_public_id, j.last_error,
                   (SELECT MAX(t.seq) FROM transactions t WHERE t.account_id = @account AND t.seq >= @from AND t.object_type = 'job' AND t.object_public_id = j.public_id)
            FROM (
              SELECT public_id, state, action, object_type, object_public_id, last_error FROM syncback_actions
              WHERE account_id = @account AND public_id IN ({ids})
              UNION ALL
              SELECT public_id, CASE state WHEN 'sent' THEN 'successful' ELSE state END, 'outbox', 'message',
                     COALESCE(sent_message_public_id, public_id), last_error FROM outbox
              WHERE account_id = @account AND public_id IN ({ids})
            ) j
            """;
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@from", fromSeq);
        var jobs = new Dictionary<string, JobFacts>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            jobs[r.GetString(0)] = new JobFacts(r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5),
                r.IsDBNull(6) ? 0 : r.GetInt64(6));
        return jobs;
    }

    private async Task<Dictionary<string, string>> ReadEventCalendarsAsync(Account account, List<string> publicIds, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        cmd.CommandText = $"""
            SELECT e.public_id, c.public_id FROM events e JOIN calendars c ON c.id = e.calendar_id
            WHERE e.account_id = @account AND e.public_id IN ({Sql.InList(cmd, publicIds, "pid")})
            """;
        cmd.Parameters.AddWithValue("@account", account.Id);
        var calendars = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) calendars[r.GetString(0)] = r.GetString(1);
        return calendars;
    }
}
