using System.Data.Common;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Syncback;

/// <summary>The v2 action names an action log row carries (and its job status shows).</summary>
public static class SyncbackActionNames
{
    public const string MarkUnread = "mark_unread";
    public const string MarkStarred = "mark_starred";
    public const string Move = "move";
    public const string CreateFolder = "create_folder";
    public const string UpdateFolder = "update_folder";
    public const string DeleteFolder = "delete_folder";
    /// <summary>Gmail: X-GM-LABELS added and removed (v2's name).</summary>
    public const string ChangeLabels = "change_labels";
    /// <summary>A draft's version APPENDed to Drafts, its earlier copies removed.</summary>
    public const string SaveDraft = "save_draft";
    /// <summary>A draft deleted or sent: every copy removed from the server, then its row.</summary>
    public const string DeleteDraft = "delete_draft";

    public static bool IsFolderAction(string action) => action is CreateFolder or UpdateFolder or DeleteFolder;
}

/// <summary>The states of an action, named as v2 job statuses name them.</summary>
public static class SyncbackStates
{
    public const string Pending = "pending";
    public const string Successful = "successful";
    public const string Failed = "failed";
}

/// <summary>What a flag action sets, and the value it replaced (restored when the action finally fails).</summary>
public sealed record FlagPayload(bool Value, bool Previous);

/// <summary>A move into the folder row <paramref name="ToFolderId"/>; the message showed <paramref name="PreviousPendingFolderId"/> before.</summary>
public sealed record MovePayload(long ToFolderId, long? PreviousPendingFolderId);

/// <summary>Gmail labels (folder row ids) a change_labels action adds and removes: a difference, so another client's label changes meanwhile stay.</summary>
public sealed record LabelsPayload(IReadOnlyList<long> Added, IReadOnlyList<long> Removed);
/// <summary>The draft version an action is about; a save whose version is no longer the draft's is superseded by a later one.</summary>
public sealed record DraftPayload(int Version);

/// <summary>A folder create, rename or delete: the server name it has after the action, and the one before (rename, delete).</summary>
public sealed record FolderPayload(string Name, string? OldName = null, string? OldDisplayName = null, string? OldRole = null);

/// <summary>One row of the action log.</summary>
public sealed record SyncbackAction(
    long Id, long AccountId, long Seq, string PublicId, string Action, string ObjectType, string ObjectPublicId, long ObjectRowId,
    string Payload, string State, int Attempts, DateTime NextAttemptAt, string? LastError, DateTime CreatedAt)
{
    public T Read<T>() => JsonSerializer.Deserialize<T>(Payload, ActionLog.Json)!;
}

/// <summary>
/// The per-account action log in the shard. Writers append inside the transaction of their optimistic change; the sync
/// step reads the pending actions in order and records each outcome, with a <c>job</c> change-log entry per status change.
/// </summary>
public sealed class ActionLog(ShardDirectory shards, TimeProvider clock)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string Columns = "id, account_id, seq, public_id, action, object_type, object_public_id, object_row_id, payload, state, attempts, next_attempt_at, last_error, created_at";

    /// <summary>Appends a pending action in the caller's transaction; returns its job status id.</summary>
    public async Task<string> AppendAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, string action, string objectType,
        string objectPublicId, long objectRowId, object payload, CancellationToken cancellationToken)
    {
        string publicId = PublicId.New();
        // The change-log entry first: its change_cursors row lock serialises the account's writers, so seq follows commit order.
        await ChangeLog.AppendAsync(connection, tx, accountId, "job", publicId, "insert", clock, cancellationToken);
        await using var cmd = new MySqlCommand("""
            INSERT INTO syncback_actions (account_id, seq, public_id, action, object_type, object_public_id, object_row_id, payload, state, next_attempt_at, created_at, updated_at)
            SELECT @account, COALESCE(MAX(seq), 0) + 1, @pid, @action, @type, @object, @row, @payload, 'pending', @now, @now, @now
            FROM syncback_actions WHERE account_id = @account
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@action", action);
        cmd.Parameters.AddWithValue("@type", objectType);
        cmd.Parameters.AddWithValue("@object", objectPublicId);
        cmd.Parameters.AddWithValue("@row", objectRowId);
        cmd.Parameters.AddWithValue("@payload", JsonSerializer.Serialize(payload, payload.GetType(), Json));
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        return publicId;
    }

    /// <summary>The account's pending actions, oldest first.</summary>
    public async Task<List<SyncbackAction>> LoadPendingAsync(int shardId, long accountId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand($"SELECT {Columns} FROM syncback_actions WHERE account_id = @account AND state = 'pending' ORDER BY seq");
        cmd.Parameters.AddWithValue("@account", accountId);
        return await ReadAllAsync(cmd, cancellationToken);
    }

    /// <summary>The account's actions (job statuses), newest first.</summary>
    public async Task<List<SyncbackAction>> ListAsync(int shardId, long accountId, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand($"SELECT {Columns} FROM syncback_actions WHERE account_id = @account ORDER BY seq DESC LIMIT @limit OFFSET @offset");
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@offset", offset);
        return await ReadAllAsync(cmd, cancellationToken);
    }

    public async Task<SyncbackAction?> FindAsync(int shardId, long accountId, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand($"SELECT {Columns} FROM syncback_actions WHERE account_id = @account AND public_id = @pid");
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return (await ReadAllAsync(cmd, cancellationToken)).FirstOrDefault();
    }

    /// <summary>
    /// Folder rows and server folder names that pending folder actions are about: the folder list mirror leaves them
    /// alone until the server has them as the API said (or the action failed and was undone), so they do not flip back.
    /// </summary>
    public async Task<(HashSet<long> RowIds, HashSet<string> ServerNames)> PendingFolderClaimsAsync(int shardId, long accountId, CancellationToken cancellationToken)
    {
        var rows = new HashSet<long>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var action in await LoadPendingAsync(shardId, accountId, cancellationToken))
        {
            if (!SyncbackActionNames.IsFolderAction(action.Action)) continue;
            var payload = action.Read<FolderPayload>();
            rows.Add(action.ObjectRowId);
            names.Add(payload.Name);
            if (payload.OldName is not null) names.Add(payload.OldName);
        }
        return (rows, names);
    }

    /// <summary>The action's new state (and error) in the caller's transaction, with its <c>job</c> change-log entry.</summary>
    public async Task SetStateAsync(MySqlConnection connection, MySqlTransaction tx, SyncbackAction action, string state, string? error, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("""
            UPDATE syncback_actions SET state = @state, attempts = attempts + 1, last_error = @error, updated_at = @now WHERE id = @id
            """, connection, tx);
        cmd.Parameters.AddWithValue("@state", state);
        cmd.Parameters.AddWithValue("@error", error is { Length: > 2000 } ? error[..2000] : error);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", action.Id);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        await ChangeLog.AppendAsync(connection, tx, action.AccountId, "job", action.PublicId, "update", clock, cancellationToken);
    }

    /// <summary>A refused attempt that will be tried again at <paramref name="nextAttemptAt"/>.</summary>
    public async Task RetryLaterAsync(int shardId, SyncbackAction action, string error, DateTime nextAttemptAt, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("""
            UPDATE syncback_actions SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next, updated_at = @now WHERE id = @id
            """);
        cmd.Parameters.AddWithValue("@error", error is { Length: > 2000 } ? error[..2000] : error);
        cmd.Parameters.AddWithValue("@next", nextAttemptAt);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", action.Id);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<List<SyncbackAction>> ReadAllAsync(DbCommand cmd, CancellationToken cancellationToken)
    {
        var list = new List<SyncbackAction>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) list.Add(Read(r));
        return list;
    }

    private static SyncbackAction Read(DbDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt64(7),
        r.GetString(8), r.GetString(9), r.GetInt32(10), DateTime.SpecifyKind(r.GetDateTime(11), DateTimeKind.Utc),
        r.IsDBNull(12) ? null : r.GetString(12), DateTime.SpecifyKind(r.GetDateTime(13), DateTimeKind.Utc));
}
