using Nylas.Engine.Accounts;

namespace Nylas.Engine.Webhooks;

/// <summary>
/// The v2 trigger names, and which change of the change log fires which. Every name v2 defined is accepted;
/// <see cref="NeverFired"/> ones (open and click tracking, bounces) have no source in this engine yet.
/// </summary>
public static class WebhookTriggers
{
    public const string AccountConnected = "account.connected";
    public const string AccountRunning = "account.running";
    public const string AccountStopped = "account.stopped";
    public const string AccountInvalid = "account.invalid";
    public const string AccountSyncError = "account.sync_error";
    public const string MessageCreated = "message.created";
    public const string MessageUpdated = "message.updated";
    public const string ThreadReplied = "thread.replied";
    public const string JobSuccessful = "job.successful";
    public const string JobFailed = "job.failed";

    public static readonly IReadOnlyList<string> All =
    [
        AccountConnected, AccountRunning, AccountStopped, AccountInvalid, AccountSyncError,
        MessageCreated, MessageUpdated, "message.opened", "message.link_clicked", "message.bounced",
        ThreadReplied,
        "contact.created", "contact.updated", "contact.deleted",
        "calendar.created", "calendar.updated", "calendar.deleted",
        "event.created", "event.updated", "event.deleted",
        JobSuccessful, JobFailed,
    ];

    /// <summary>Accepted in a subscription, never delivered: open and click tracking and bounce detection are not built.</summary>
    public static readonly IReadOnlyList<string> NeverFired = ["message.opened", "message.link_clicked", "message.bounced"];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string trigger) => Known.Contains(trigger);

    /// <summary>
    /// The trigger a change fires, before what only the object's row can tell (account state, replies). Messages
    /// have no v2 delete trigger; threads, folders, labels, drafts and files have no trigger at all.
    /// </summary>
    public static string? ForChange(string objectType, string command) => (objectType, command) switch
    {
        ("message", "insert") => MessageCreated,
        ("message", "update") => MessageUpdated,
        ("contact" or "calendar" or "event", "insert") => objectType + ".created",
        ("contact" or "calendar" or "event", "update") => objectType + ".updated",
        ("contact" or "calendar" or "event", "delete") => objectType + ".deleted",
        ("account", "insert") => AccountConnected,
        _ => null,
    };

    /// <summary>A job's status change fires by the state it ended in: a job changes state once, from pending to one of these.</summary>
    public static string? ForJobState(string state) => state switch
    {
        "successful" => JobSuccessful,
        "failed" => JobFailed,
        _ => null,
    };

    /// <summary>An account change fires the trigger of the sync state the account is in when it is delivered.</summary>
    public static string? ForAccountState(string syncState) => syncState switch
    {
        SyncStates.Running => AccountRunning,
        SyncStates.Stopped => AccountStopped,
        SyncStates.InvalidCredentials => AccountInvalid,
        SyncStates.SyncError => AccountSyncError,
        _ => null, // deleting: the account is going away; nothing v2 defined says so
    };
}

/// <summary>Values of a subscription's <c>state</c>. Only active and inactive can be set through the API, as in v2.</summary>
public static class WebhookStates
{
    public const string Active = "active";
    /// <summary>Deliveries have failed <c>FailingAfterAttempts</c> times in a row; they are still retried.</summary>
    public const string Failing = "failing";
    /// <summary>Nothing is delivered; the position in each account's change log is kept for when it is active again.</summary>
    public const string Inactive = "inactive";

    /// <summary>States in which deliveries are made.</summary>
    public static readonly string[] Delivering = [Active, Failing];
}
