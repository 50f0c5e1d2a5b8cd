using System.Data.Common;
using System.Text;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Filtering;

/// <summary>
/// A <see cref="MailFilter"/> as SQL conditions, every value a parameter. Messages are aliased <c>m</c>,
/// their thread <c>t</c>; the queries bind <c>@account</c>, and every subquery is scoped by it too.
/// </summary>
public static class MailFilterSql
{
    /// <summary>Whether the message conditions read the thread row (the caller then joins <c>threads t</c>).</summary>
    public static bool NeedsThread(MailFilter f)
        => f.LastMessageBefore is not null || f.LastMessageAfter is not null || f.StartedBefore is not null || f.StartedAfter is not null;

    /// <summary>Conditions on one message <c>m</c> (and its thread <c>t</c> when <see cref="NeedsThread"/>), each starting with AND.</summary>
    public static string ForMessages(MailFilter f, DbCommand cmd)
    {
        var sql = new StringBuilder();
        foreach (string condition in MessageConditions(f, cmd, includeFlags: true)) sql.Append(" AND ").Append(condition);
        if (f.Subject is not null) { sql.Append(" AND m.subject = @subject"); Param(cmd, "@subject", f.Subject); }
        if (f.ThreadId is not null)
        {
            sql.Append(" AND m.thread_id = (SELECT id FROM threads WHERE account_id = @account AND public_id = @thread_pid)");
            Param(cmd, "@thread_pid", f.ThreadId);
        }
        if (f.ReceivedBefore is { } rb) { sql.Append(" AND m.received_unix <= @received_before"); Param(cmd, "@received_before", rb); }
        if (f.ReceivedAfter is { } ra) { sql.Append(" AND m.received_unix > @received_after"); Param(cmd, "@received_after", ra); }
        if (f.Metadata is { } metadata) sql.Append(metadata.Sql("message", "m.id", cmd));
        sql.Append(ThreadConditions(f, cmd));
        return sql.ToString();
    }

    /// <summary>Conditions on a thread <c>t</c>, each starting with AND: a message condition holds when one of its messages meets it.</summary>
    public static string ForThreads(MailFilter f, DbCommand cmd)
    {
        var sql = new StringBuilder();
        foreach (string condition in MessageConditions(f with { FullText = null }, cmd, includeFlags: false))
            sql.Append($" AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.account_id = @account AND {condition})");
        if (f.FullText is not null)
        {
            // As a semi-join, so the FULLTEXT lookup runs once rather than once per thread.
            sql.Append(" AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.account_id = @account AND ")
               .Append(FullTextCondition(f.FullText, cmd)).Append(')');
        }
        if (f.Subject is not null) { sql.Append(" AND t.subject = @subject"); Param(cmd, "@subject", f.Subject); }
        if (f.ThreadId is not null) { sql.Append(" AND t.public_id = @thread_pid"); Param(cmd, "@thread_pid", f.ThreadId); }
        // A thread is unread when one of its messages is, and read when none is (as the thread JSON shows it).
        if (f.Unread is { } unread)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_read = 0) = @unread");
            Param(cmd, "@unread", unread);
        }
        if (f.Starred is { } starred)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_starred = 1) = @starred");
            Param(cmd, "@starred", starred);
        }
        if (f.Metadata is { } metadata) sql.Append(metadata.Sql("thread", "t.id", cmd));
        sql.Append(ThreadConditions(f, cmd));
        return sql.ToString();
    }

    private static string ThreadConditions(MailFilter f, DbCommand cmd)
    {
        var sql = new StringBuilder();
        if (f.LastMessageBefore is { } lb) { sql.Append(" AND t.last_message_unix < @last_before"); Param(cmd, "@last_before", lb); }
        if (f.LastMessageAfter is { } la) { sql.Append(" AND t.last_message_unix > @last_after"); Param(cmd, "@last_after", la); }
        if (f.StartedBefore is { } sb) { sql.Append(" AND t.first_message_unix < @started_before"); Param(cmd, "@started_before", sb); }
        if (f.StartedAfter is { } sa) { sql.Append(" AND t.first_message_unix > @started_after"); Param(cmd, "@started_after", sa); }
        return sql.ToString();
    }

    /// <summary>What one message must meet: addresses, folder or label, attachment name, search words (and read/starred for messages).</summary>
    private static IEnumerable<string> MessageConditions(MailFilter f, DbCommand cmd, bool includeFlags)
    {
        // Addresses are compared lower-cased; the pattern is exact (no % or _ wildcards).
        string HasAddress(string column, string parameter)
            => $"JSON_SEARCH(LOWER(m.{column}), 'one', {parameter}, NULL, '$[*].email') IS NOT NULL";

        if (f.From is not null) { Param(cmd, "@from", QueryParameters.ExactJsonSearchPattern(f.From)); yield return HasAddress("from_json", "@from"); }
        if (f.To is not null) { Param(cmd, "@to", QueryParameters.ExactJsonSearchPattern(f.To)); yield return HasAddress("to_json", "@to"); }
        if (f.Cc is not null) { Param(cmd, "@cc", QueryParameters.ExactJsonSearchPattern(f.Cc)); yield return HasAddress("cc_json", "@cc"); }
        if (f.Bcc is not null) { Param(cmd, "@bcc", QueryParameters.ExactJsonSearchPattern(f.Bcc)); yield return HasAddress("bcc_json", "@bcc"); }
        if (f.AnyEmail.Count > 0)
        {
            var any = f.AnyEmail.SelectMany((email, i) =>
            {
                Param(cmd, $"@any{i}", QueryParameters.ExactJsonSearchPattern(email));
                return new[] { "from_json", "to_json", "cc_json", "bcc_json" }.Select(column => HasAddress(column, $"@any{i}"));
            });
            yield return $"({string.Join(" OR ", any)})";
        }
        if (f.In is not null)
        {
            // v2 accepted a folder/label id, a role name (inbox, sent, ...) or a display name.
            const string Folders = "SELECT id FROM folders WHERE account_id = @account AND (public_id = @in OR role = @in_role OR display_name = @in)";
            Param(cmd, "@in", f.In);
            Param(cmd, "@in_role", f.In.ToLowerInvariant());
            yield return $"""
                (EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = m.id AND u.folder_id IN ({Folders}))
                 OR EXISTS (SELECT 1 FROM imap_uids u JOIN imap_uid_labels l ON l.folder_id = u.folder_id AND l.uid = u.uid
                            WHERE u.message_id = m.id AND l.label_id IN ({Folders})))
                """;
        }
        if (f.Filename is not null)
        {
            Param(cmd, "@filename", f.Filename);
            yield return """
                EXISTS (SELECT 1 FROM message_files mf JOIN files fl ON fl.id = mf.file_id
                        WHERE mf.message_id = m.id AND fl.account_id = @account AND fl.filename = @filename)
                """;
        }
        if (f.FullText is not null) yield return FullTextCondition(f.FullText, cmd);
        if (includeFlags && f.Unread is { } unread) { Param(cmd, "@unread", !unread); yield return "m.is_read = @unread"; }
        if (includeFlags && f.Starred is { } starred) { Param(cmd, "@starred", starred); yield return "m.is_starred = @starred"; }
    }

    private static string FullTextCondition(string fullText, DbCommand cmd)
    {
        Param(cmd, "@fulltext", fullText);
        return "MATCH (m.subject, m.search_text) AGAINST (@fulltext IN BOOLEAN MODE)";
    }

    private static void Param(DbCommand cmd, string name, object value) => cmd.Parameters.AddWithValue(name, value);
}
