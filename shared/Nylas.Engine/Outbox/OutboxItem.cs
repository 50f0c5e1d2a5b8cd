namespace Nylas.Engine.Outbox;

/// <summary>
/// Where an outbox item stands. scheduled → sending (an attempt claimed it) → sent, or back to scheduled after a
/// temporary failure, or failed; scheduled → cancelled. sent, failed and cancelled are final.
/// </summary>
public static class OutboxStates
{
    public const string Scheduled = "scheduled";
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsFinal(string state) => state is Sent or Failed or Cancelled;

    /// <summary>The v2 job status of a state: pending until it is sent (successful), failed or cancelled.</summary>
    public static string JobStatus(string state) => state switch
    {
        Sent => "successful",
        Failed => "failed",
        Cancelled => "cancelled",
        _ => "pending",
    };
}

/// <summary>One row of the outbox; <see cref="SentThreadPublicId"/> is the thread of the sent copy, once it is in the mirror.</summary>
public sealed record OutboxItem(
    long Id,
    long AccountId,
    string PublicId,
    string State,
    DateTime SendAt,
    DateTime OriginalSendAt,
    DateTime RetryLimitAt,
    DateTime NextAttemptAt,
    string MessageJson,
    string MimeSha256,
    string MessageIdHeader,
    int Attempts,
    string? LastError,
    string? SentMessagePublicId,
    string? SentThreadPublicId,
    DateTime? SentAt,
    DateTime CreatedAt);

/// <summary>What is written when an item is created or its message changes: the v2 fields as given and the MIME built from them.</summary>
public sealed record OutboxMessageContent(string MessageJson, string MimeSha256, string MessageIdHeader);
