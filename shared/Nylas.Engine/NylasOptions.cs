using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine;

/// <summary>The <c>Nylas</c> configuration section; every value can come from environment variables (<c>Nylas__Database__Global</c>, …).</summary>
public sealed class NylasOptions
{
    public const string Section = "Nylas";

    // [ValidateObjectMembers]: data annotations are checked inside each section too, not only on this class.
    [Required, ValidateObjectMembers] public DatabaseOptions Database { get; set; } = new();
    [Required, ValidateObjectMembers] public StorageOptions Storage { get; set; } = new();
    [Required, ValidateObjectMembers] public SecurityOptions Security { get; set; } = new();
    [ValidateObjectMembers] public SyncOptions Sync { get; set; } = new();
    [ValidateObjectMembers] public SyncbackOptions Syncback { get; set; } = new();
    [ValidateObjectMembers] public Accounts.AccountsOptions Accounts { get; set; } = new();
    [ValidateObjectMembers] public Sync.Watching.WatchOptions Watch { get; set; } = new();
    [ValidateObjectMembers] public IngestOptions Ingest { get; set; } = new();
    [ValidateObjectMembers] public ApiOptions Api { get; set; } = new();
    [ValidateObjectMembers] public ConnectOptions Connect { get; set; } = new();
    [ValidateObjectMembers] public OAuthOptions OAuth { get; set; } = new();
    [ValidateObjectMembers] public TelemetryOptions Telemetry { get; set; } = new();
    [ValidateObjectMembers] public TimersOptions Timers { get; set; } = new();
    [ValidateObjectMembers] public DurableOptions Durable { get; set; } = new();
    [ValidateObjectMembers] public ChangeLogOptions ChangeLog { get; set; } = new();
    [ValidateObjectMembers] public DeltaOptions Delta { get; set; } = new();
    [ValidateObjectMembers] public ServiceBusOptions ServiceBus { get; set; } = new();
    [ValidateObjectMembers] public WebhooksOptions Webhooks { get; set; } = new();
    [ValidateObjectMembers] public FilesOptions Files { get; set; } = new();
    [ValidateObjectMembers] public SendOptions Send { get; set; } = new();
    [ValidateObjectMembers] public Nylas.Engine.Outbox.OutboxOptions Outbox { get; set; } = new();
    /// <summary>
    /// The ingest (and later webhook) transport: <c>StorageQueues</c> or <c>ServiceBus</c> (see Queues/IngestTransport, which
    /// validates it and reads the Service Bus connection).
    /// </summary>
    public string Transport { get; set; } = "StorageQueues";
}

/// <summary>Schedules of the timer table (Hosting/EngineTimers): six-field cron expressions, seconds first, UTC.</summary>
public sealed class TimersOptions
{
    public string SyncSupervisor { get; set; } = "0 */2 * * * *";
    public string DeletionSweep { get; set; } = "0 17 * * * *";
    public string ChangeLogPurge { get; set; } = "0 23 * * * *";
}

/// <summary>The change log that /delta and webhooks read (Storage/ChangeLog, ChangeFeed).</summary>
public sealed class ChangeLogOptions
{
    /// <summary>Entries older than this are purged; a cursor from before the purge gets a 410 naming it.</summary>
    [Range(1, 3650)] public int RetentionDays { get; set; } = 30;
}

/// <summary>/delta, /delta/longpoll and /delta/streaming.</summary>
public sealed class DeltaOptions
{
    /// <summary>Long polls and streams open at once per account in this process (v2 allowed 10); more get a 429.</summary>
    [Range(1, 1000)] public int MaxLongRequestsPerAccount { get; set; } = 10;
    /// <summary>A stream writes a bare newline when nothing else was written for this long (the v2 SDK reconnects after 15 s of silence).</summary>
    [Range(1, 14)] public int StreamHeartbeatSeconds { get; set; } = 5;
    /// <summary>How often a waiting long poll or stream looks for new entries in its shard (one query per shard per interval, shared by all waiters).</summary>
    [Range(10, 5000)] public int PollIntervalMs { get; set; } = 100;
    /// <summary>The longest <c>timeout</c> a long poll may ask for.</summary>
    [Range(1, 3600)] public int MaxLongPollSeconds { get; set; } = 600;
}

/// <summary>
/// The durable backend. <see cref="TaskHub"/> is read by both hosts (the Functions app through host.json's
/// <c>%Nylas:Durable:TaskHub%</c>); the rest tunes the local host's DurableTask.AzureStorage engine (Functions
/// tunes its own in host.json).
/// </summary>
public sealed class DurableOptions
{
    /// <summary>Task hub name: a letter, then letters and digits, 3-45 characters in all.</summary>
    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,44}$", ErrorMessage = "Nylas:Durable:TaskHub must be 3-45 letters and digits, starting with a letter.")]
    public string TaskHub { get; set; } = "nylas";
    /// <summary>Loopback port of the local host's gRPC sidecar; 0: the kernel picks one as the sidecar binds.</summary>
    [Range(0, 65535)] public int SidecarPort { get; set; }
    /// <summary>Upper bound of the backend's queue polling back-off; low values cut latency, high values cut storage calls.</summary>
    [Range(50, 60_000)] public int MaxQueuePollingIntervalMs { get; set; } = 500;
    [Range(1, 16)] public int PartitionCount { get; set; } = 1;
    [Range(1, 10_000)] public int MaxConcurrentActivities { get; set; } = 200;
}

public sealed class DatabaseOptions
{
    /// <summary>MySqlConnector connection string of the global database.</summary>
    [Required] public string Global { get; set; } = "";
    /// <summary>Shard id (0, 1, …) to connection string. At least one.</summary>
    public Dictionary<string, string> Shards { get; set; } = [];
}

public sealed class StorageOptions
{
    /// <summary>Azure Storage connection string (Azurite locally): raw MIME blobs and the ingest queue.</summary>
    public string ConnectionString { get; set; } = "";
    /// <summary>In Azure, instead of a connection string: the storage account name, reached with the app's managed identity.</summary>
    public string AccountName { get; set; } = "";
    /// <summary>
    /// Where raw MIME and attachment contents are kept: <c>Azure</c> (Blob storage, the containers below) or <c>FileSystem</c>
    /// (files under <see cref="BlobDirectory"/>, one directory per container; one machine only). Queues and the durable task
    /// hub stay on Azure Storage either way.
    /// </summary>
    public string BlobStore { get; set; } = nameof(BlobStoreKind.Azure);
    /// <summary>With <c>BlobStore</c> = <c>FileSystem</c>: the directory on a local disk that holds the blobs.</summary>
    public string BlobDirectory { get; set; } = "";
    public string RawMailContainer { get; set; } = "raw-mail";
    public string FilesContainer { get; set; } = "files";
    public string IngestQueue { get; set; } = "ingest";
    /// <summary>Queue of webhook delivery work (a subscription and an account to deliver to; see Webhooks/).</summary>
    public string WebhookQueue { get; set; } = "webhooks";
    /// <summary>
    /// How long after an account is deleted its blobs are checked for other owners and deleted (see BlobSweeper):
    /// long enough for ingest messages already queued for the same content to land.
    /// </summary>
    [Range(0, 525_600)] public int SweepGraceMinutes { get; set; } = 1440;
}

/// <summary>The values of <see cref="StorageOptions.BlobStore"/>.</summary>
public enum BlobStoreKind
{
    Azure,
    FileSystem,
}

public sealed class SecurityOptions
{
    /// <summary>Base64 of 32 random bytes; seals IMAP/SMTP passwords and refresh tokens at rest.</summary>
    [Required] public string EncryptionKey { get; set; } = "";
    /// <summary>
    /// Keys that sealed earlier values and still open them after a rotation (base64, 32 bytes; one per index,
    /// each may list several comma-separated), until <c>admin reseal</c> has re-sealed everything with <see cref="EncryptionKey"/>.
    /// </summary>
    public List<string> PreviousKeys { get; set; } = [];
}

public sealed class SyncOptions
{
    /// <summary>The safety cycle: the longest an account's orchestration waits for the watcher's wake before it syncs anyway.</summary>
    [Range(1, 86_400)] public int IdleSeconds { get; set; } = 240;
    /// <summary>Most messages one sync step fetches before handing back to the orchestration.</summary>
    [Range(1, 1_000_000)] public int MaxMessagesPerStep { get; set; } = 5000;
    /// <summary>Most messages per UID FETCH; batches are also cut at <see cref="MaxBatchBytes"/>.</summary>
    [Range(1, 10_000)] public int MaxBatchMessages { get; set; } = 500;
    [Range(1, int.MaxValue)] public int MaxBatchBytes { get; set; } = 32 * 1024 * 1024;
    /// <summary>
    /// A folder's first sync fetches its newest this-many messages in a batch of their own before the full-size ones, so the
    /// first page shows soon after connecting instead of after a whole <see cref="MaxBatchMessages"/> batch is downloaded.
    /// </summary>
    [Range(1, 10_000)] public int FirstBatchMessages { get; set; } = 100;
    [Range(1, 64)] public int UploadParallelism { get; set; } = 8;
    [Range(1, 600)] public int ConnectTimeoutSeconds { get; set; } = 30;
    /// <summary>The watcher ends IDLE and sends a NOOP this often, so a connection that died silently is noticed.</summary>
    [Range(5, 1800)] public int IdleRefreshSeconds { get; set; } = 60;
    /// <summary>Behave as if the server lacked CONDSTORE (tests of the full-comparison path; servers with a broken CONDSTORE).</summary>
    public bool DisableCondStore { get; set; }
    /// <summary>
    /// IMAP extensions to act as if the server did not offer, comma-separated MailKit capability names (e.g. <c>MOVE,UIDPLUS</c>):
    /// a way around a server that advertises an extension it implements badly, and how the tests reach the fallbacks.
    /// </summary>
    public string? IgnoreCapabilities { get; set; }
    /// <summary>How long a UID the server holds within a folder's synced range may be missing from the mirror (its ingest queued) before it is fetched again.</summary>
    [Range(1, 86_400)] public int HoleGraceSeconds { get; set; } = 600;
    /// <summary>The longest wait between two fetches of a UID that stays missing (the wait doubles from the grace up to this).</summary>
    [Range(1, 10_080)] public int HoleRetryMaxMinutes { get; set; } = 360;
}

/// <summary>How API writes are applied to the mail server (Syncback/).</summary>
public sealed class SyncbackOptions
{
    /// <summary>Refusals by the server before an action fails for good and is undone locally.</summary>
    [Range(1, 100)] public int MaxAttempts { get; set; } = 5;
    /// <summary>The first wait after a refusal; it doubles with each attempt.</summary>
    [Range(1, 3600)] public int RetrySeconds { get; set; } = 5;
    /// <summary>An action not applied within this time (the server unreachable all along) fails and is undone.</summary>
    [Range(1, 525_600)] public int MaxAgeMinutes { get; set; } = 1440;
}

public sealed class IngestOptions
{
    /// <summary>Deliveries of one ingest message before it goes to the poison queue with its error.</summary>
    [Range(1, 100)] public int MaxDequeueCount { get; set; } = 5;
    /// <summary>Queue messages processed at once by the local host's pump (the Functions host has its own batchSize).</summary>
    [Range(1, 64)] public int Parallelism { get; set; } = 8;
    /// <summary>
    /// Ingest messages per queue message (one blob read each, one shard transaction for all). 100 rather than 25: a third
    /// fewer CPU per message and a quarter of the queue operations and database round trips, for ~0.3 s more to the
    /// first 100 messages (BENCHMARKS.md, "Peer comparison", third session).
    /// </summary>
    [Range(1, 200)] public int MessagesPerQueueMessage { get; set; } = 100;
    /// <summary>Raw messages downloaded and parsed at once within one queue message.</summary>
    [Range(1, 64)] public int DownloadParallelism { get; set; } = 4;
    /// <summary>Longest wait before another try after an infrastructure failure (database, storage, network), which never parks a message.</summary>
    [Range(1, 3600)] public int TransientRetryMaxSeconds { get; set; } = 60;
    /// <summary>Larger messages are stored and served raw but not parsed (flagged with parse_error).</summary>
    [Range(1024, long.MaxValue)] public long MaxMessageBytes { get; set; } = 150L * 1024 * 1024;
}

public sealed class ApiOptions
{
    /// <summary>Requests per second per access token (or client id); 0 turns rate limiting off.</summary>
    [Range(0, 100_000)] public int RateLimitPerSecond { get; set; } = 20;
    /// <summary>How many requests a credential may make at once before the per-second rate applies.</summary>
    [Range(1, 1_000_000)] public int RateLimitBurst { get; set; } = 200;
    /// <summary>Requests per second per client address, counted before any credential is looked up; 0 turns it off (so does <see cref="RateLimitPerSecond"/> = 0).</summary>
    [Range(0, 1_000_000)] public int RateLimitPerAddressPerSecond { get; set; } = 200;
    [Range(1, 10_000_000)] public int RateLimitPerAddressBurst { get; set; } = 1000;
    /// <summary>Largest request body accepted (413 beyond), for routes that set no limit of their own.</summary>
    [Range(1024, 1L << 30)] public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

/// <summary>POST /files.</summary>
public sealed class FilesOptions
{
    /// <summary>Largest upload (413 beyond); the upload route's body limit is this plus room for the form's framing.</summary>
    [Range(1, 1L << 32)] public long MaxUploadBytes { get; set; } = 25 * 1024 * 1024;
}

/// <summary>POST /send (Sending/MessageSender).</summary>
public sealed class SendOptions
{
    /// <summary>Most recipients (to, cc and bcc together) of one message; more is a 400.</summary>
    [Range(1, 10_000)] public int MaxRecipients { get; set; } = 100;
    /// <summary>Largest POST /send request body (the JSON message or the raw MIME); 413 beyond.</summary>
    [Range(1024, 1L << 30)] public long MaxMessageBytes { get; set; } = 25 * 1024 * 1024;
}

public sealed class ConnectOptions
{
    /// <summary>How long a code from POST /connect/authorize can be redeemed at POST /connect/token.</summary>
    [Range(10, 3600)] public int CodeLifetimeSeconds { get; set; } = 600;
    /// <summary>DNS server for MX lookups (provider autodetection) as <c>host</c> or <c>host:port</c>; empty uses the machine's resolvers.</summary>
    public string DnsServer { get; set; } = "";
    [Range(1, 60)] public int DnsTimeoutSeconds { get; set; } = 5;
    /// <summary>
    /// Refuse /connect/authorize requests whose IMAP, SMTP or token-URL host resolves to loopback, a private or a
    /// link-local address (see ConnectTargetGuard). Off by default so a local mail server can be connected in development.
    /// </summary>
    public bool RefusePrivateNetworks { get; set; }
    /// <summary>
    /// With <see cref="RefusePrivateNetworks"/>: comma-separated CIDR ranges that stay reachable anyway, such as
    /// your own mail server on a private network ("10.20.0.0/16, fd00:1::/64").
    /// </summary>
    public string AllowedPrivateNetworks { get; set; } = "";
    /// <summary>
    /// POST /connect/authorize attempts per client address a minute (each makes this server contact mail servers);
    /// 0 turns the limit off. Behind a proxy the address is the proxy's unless forwarded headers are applied.
    /// </summary>
    [Range(0, 100_000)] public int AttemptsPerMinutePerAddress { get; set; } = 10;
}

public sealed class OAuthOptions
{
    /// <summary>An access token is refreshed this long before it expires, so a sync never starts with one about to lapse.</summary>
    [Range(0, 3600)] public int RefreshMarginSeconds { get; set; } = 300;
    /// <summary>Timeout of one request to a provider's token endpoint.</summary>
    [Range(1, 300)] public int TimeoutSeconds { get; set; } = 30;
}

/// <summary>Webhook subscriptions and their delivery (shared/Nylas.Engine/Webhooks).</summary>
public sealed class WebhooksOptions
{
    /// <summary>
    /// Comma-separated CIDR ranges of addresses that are not globally reachable (loopback, private, link-local…)
    /// that callbacks may still reach; every other such address is refused (ConnectTargetGuard's ranges).
    /// </summary>
    public string AllowedPrivateNetworks { get; set; } = "";
    /// <summary>Accept <c>http://</c> callbacks whose host is a loopback address (development); every other callback must be https.</summary>
    public bool AllowHttpLoopback { get; set; }
    /// <summary>How long the callback has to echo the challenge when a subscription is created.</summary>
    [Range(1, 60)] public int ChallengeTimeoutSeconds { get; set; } = 10;
    [Range(1, 60)] public int ConnectTimeoutSeconds { get; set; } = 10;
    /// <summary>From the request sent to the whole answer received.</summary>
    [Range(1, 300)] public int ResponseTimeoutSeconds { get; set; } = 30;
    /// <summary>Most deltas in one POST.</summary>
    [Range(1, 1000)] public int MaxDeltasPerDelivery { get; set; } = 50;
    /// <summary>How often the change feed is polled for accounts with new changes.</summary>
    [Range(50, 60_000)] public int PollMilliseconds { get; set; } = 250;
    /// <summary>Backoff after the n-th failed attempt: RetryBaseSeconds * 2^(n-1), at most RetryMaxSeconds, plus up to 20% jitter.</summary>
    [Range(1, 3600)] public int RetryBaseSeconds { get; set; } = 15;
    [Range(1, 86_400)] public int RetryMaxSeconds { get; set; } = 3600;
    /// <summary>Consecutive failed attempts after which a subscription is shown as <c>failing</c> (it is still retried).</summary>
    [Range(1, 1000)] public int FailingAfterAttempts { get; set; } = 5;
    /// <summary>How long deliveries may keep failing before the subscription is set <c>inactive</c> (its position kept).</summary>
    [Range(1, 525_600)] public int InactiveAfterMinutes { get; set; } = 4320;
    /// <summary>How long the delivery log keeps an attempt.</summary>
    [Range(1, 365)] public int DeliveryLogDays { get; set; } = 7;
}
