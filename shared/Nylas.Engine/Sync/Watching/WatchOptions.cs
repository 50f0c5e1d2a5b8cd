using System.ComponentModel.DataAnnotations;

namespace Nylas.Engine.Sync.Watching;

/// <summary>The <c>Nylas:Watch</c> section: the per-process mailbox watcher (<see cref="MailboxWatcher"/>).</summary>
public sealed class WatchOptions
{
    /// <summary>Off: no process watches mailboxes, and each account syncs only every Nylas:Sync:IdleSeconds (or when woken otherwise).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>How long a process owns an account's watch without renewing it; it renews every third of this, and a dead process's accounts move after it.</summary>
    [Range(10, 3600)] public int LeaseSeconds { get; set; } = 60;
    /// <summary>Most accounts one process watches (one IMAP connection each).</summary>
    [Range(0, 100_000)] public int MaxAccounts { get; set; } = 1000;
    /// <summary>
    /// How often a process looks for accounts nobody watches (newly connected, or a dead process's), between renewals:
    /// a new account is watched within this time instead of a third of a lease later.
    /// </summary>
    [Range(1, 3600)] public int ClaimSeconds { get; set; } = 2;
    /// <summary>Most accounts one process claims per renewal, so that processes starting together share the accounts.</summary>
    [Range(1, 100_000)] public int ClaimPerRenewal { get; set; } = 100;
    /// <summary>
    /// On servers without NOTIFY: how often every folder's STATUS is compared (LIST-STATUS, else STATUS per folder). With NOTIFY
    /// the same comparison runs as a safety net, so a notification that never came costs at most this long.
    /// </summary>
    [Range(1, 3600)] public int ProbeSeconds { get; set; } = 30;
    /// <summary>
    /// While a watch waits to reconnect after its server stopped answering: how often (with jitter) a bare TCP connect
    /// checks whether it answers again, so that a sync backing off from the outage resumes within seconds of its end.
    /// </summary>
    [Range(1, 3600)] public int ServerProbeSeconds { get; set; } = 5;
    /// <summary>Changes within this time after the first are one wake.</summary>
    [Range(0, 10_000)] public int DebounceMilliseconds { get; set; } = 100;
    /// <summary>Behave as if the server lacked NOTIFY: IDLE plus probes (tests of the probe path; servers with a broken NOTIFY).</summary>
    public bool DisableNotify { get; set; }
}
