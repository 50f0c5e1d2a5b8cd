using System.ComponentModel.DataAnnotations;

namespace Nylas.Engine.Outbox;

/// <summary>The <c>Nylas:Outbox</c> section: scheduled sending (POST /outbox) and its retries.</summary>
public sealed class OutboxOptions
{
    /// <summary>A send_at this far in the past is still taken (sent at once): the caller's clock and the request's travel time.</summary>
    [Range(0, 3600)] public int PastSendAtGraceSeconds { get; set; } = 60;
    /// <summary>The furthest ahead a message can be scheduled; a later send_at is a 400.</summary>
    [Range(1, 3650)] public int MaxScheduleDays { get; set; } = 30;
    /// <summary>Without retry_limit_datetime: how long after send_at temporary SMTP failures are retried before the item fails.</summary>
    [Range(1, 525_600)] public int DefaultRetryMinutes { get; set; } = 60;
    /// <summary>The first wait after a temporary SMTP failure (server down, 4xx, throttled); it doubles with each attempt.</summary>
    [Range(1, 3600)] public int RetrySeconds { get; set; } = 30;
    /// <summary>The longest wait between two attempts.</summary>
    [Range(1, 86_400)] public int MaxRetrySeconds { get; set; } = 900;
}
