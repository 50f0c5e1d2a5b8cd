using System.Diagnostics;
using System.Diagnostics.Metrics;
using MailKit;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Telemetry;

/// <summary>
/// The engine's instruments, on one <see cref="System.Diagnostics.Metrics.Meter"/> from the host's
/// <see cref="IMeterFactory"/>. Per-account counters carry <c>nylas.account.id</c> (unless
/// Nylas:Telemetry:PerAccountTags is off); histograms and gauges never do, so their series stay few.
/// Everything is recorded once per step or batch, never per message.
/// </summary>
public sealed class EngineMetrics
{
    private readonly bool _perAccount;
    private readonly Counter<long> _fetchedMessages;
    private readonly Counter<long> _fetchedBytes;
    private readonly Counter<double> _activeTime;
    private readonly Counter<long> _imapCommands;
    private readonly Histogram<double> _stepDuration;
    private readonly Counter<long> _watchWakes;
    private readonly UpDownCounter<long> _watchedAccounts;
    private readonly Counter<long> _storedMessages;
    private readonly Counter<long> _ingestFailures;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _ingestLatency;
    private readonly Counter<long> _webhookAttempts;
    private readonly Histogram<double> _webhookLag;
    private readonly Counter<long> _queueSettled;
    private readonly Counter<long> _poisonReplayed;
    private readonly Counter<long> _staleDropped;
    private readonly Counter<long> _truncated;

    // The SDK's default buckets (0, 5, 10, 25 … 10000) are made for milliseconds; these are seconds, from a fast
    // ingest batch to a sync step of minutes.
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    };

    public EngineMetrics(IMeterFactory meterFactory, IOptions<NylasOptions> options)
    {
        _perAccount = options.Value.Telemetry.PerAccountTags;
        Meter = meterFactory.Create(EngineTelemetry.Name);
        _fetchedMessages = Meter.CreateCounter<long>("nylas.sync.fetched.messages", "{message}", "Messages downloaded from IMAP servers (re-linked ones are not downloaded)");
        _fetchedBytes = Meter.CreateCounter<long>("nylas.sync.fetched.size", "By", "Bytes of the messages downloaded from IMAP servers");
        _activeTime = Meter.CreateCounter<double>("nylas.sync.active_time", "s", "Time spent in sync steps (connected and working; waiting for a change excluded)");
        _imapCommands = Meter.CreateCounter<long>("nylas.imap.commands", "{command}", "IMAP commands sent by sync steps");
        _stepDuration = Meter.CreateHistogram<double>("nylas.sync.step.duration", "s", "Duration of one sync step (the SyncMailbox activity)", tags: null, advice: Seconds);
        _watchWakes = Meter.CreateCounter<long>("nylas.watch.wakes", "{wake}", "Sync orchestrations woken by the mailbox watcher, by what it saw (a burst of changes is one wake)");
        _watchedAccounts = Meter.CreateUpDownCounter<long>("nylas.watch.accounts", "{account}", "Accounts whose mailbox this process watches (it holds their lease)");
        _storedMessages = Meter.CreateCounter<long>("nylas.ingest.stored.messages", "{message}", "Messages ingest parsed and stored");
        _ingestFailures = Meter.CreateCounter<long>("nylas.ingest.failures", "{message}", "Messages ingest failed to store on one attempt (each is retried, and ends in the poison queue if it keeps failing)");
        _batchDuration = Meter.CreateHistogram<double>("nylas.ingest.batch.duration", "s", "Duration of ingesting one queue message (a batch of ingest messages)", tags: null, advice: Seconds);
        _ingestLatency = Meter.CreateHistogram<double>("nylas.ingest.latency", "s", "From a batch's insertion in the ingest queue to its messages being stored", tags: null, advice: Seconds);
        _webhookAttempts = Meter.CreateCounter<long>("nylas.webhook.attempts", "{attempt}", "Webhook delivery attempts (POSTs to callbacks), by whether the receiver acknowledged them");
        _webhookLag = Meter.CreateHistogram<double>("nylas.webhook.lag", "s", "From a change being recorded to the receiver acknowledging the delivery that carried it (its first change)", tags: null, advice: Seconds);
        _queueSettled = Meter.CreateCounter<long>("nylas.ingest.deliveries", "{delivery}",
            "Ingest queue messages settled, by outcome: completed, retry (a failure of its own), requeued (an infrastructure failure, never parked), parked (moved to the poison queue)");
        _poisonReplayed = Meter.CreateCounter<long>("nylas.poison.replayed", "{message}", "Parked queue messages put back on their queue (admin poison replay), by queue");
        _staleDropped = Meter.CreateCounter<long>("nylas.ingest.stale", "{message}", "Ingest messages dropped because their folder's UIDVALIDITY changed (or the folder is gone) since they were queued");
        _truncated = Meter.CreateCounter<long>("nylas.ingest.truncated", "{message}", "Messages stored with a field cut to its column, or not parsed for being larger than Nylas:Ingest:MaxMessageBytes, by what");
    }

    /// <summary>How the ingest delivery policy left one queue message.</summary>
    public void RecordIngestSettled(Queues.DeliveryResult result)
        => _queueSettled.Add(1, new KeyValuePair<string, object?>(EngineTelemetry.Outcome, result switch
        {
            Queues.DeliveryResult.Completed => "completed",
            Queues.DeliveryResult.RetryScheduled => "retry",
            Queues.DeliveryResult.Requeued => "requeued",
            Queues.DeliveryResult.DeadLettered => "parked",
            Queues.DeliveryResult.Released => "released",
            _ => "unsettled",
        }));

    /// <summary>Parked messages replayed from <paramref name="queue"/> (ingest or webhooks).</summary>
    public void RecordPoisonReplayed(string queue, int messages) => _poisonReplayed.Add(messages, new KeyValuePair<string, object?>("nylas.queue", queue));

    public void RecordStaleIngest(int messages) => _staleDropped.Add(messages);

    /// <summary><paramref name="what"/>: "too_large" (not parsed), or the field that was cut ("body", "subject", ...).</summary>
    public void RecordTruncated(string what) => _truncated.Add(1, new KeyValuePair<string, object?>("nylas.field", what));

    public Meter Meter { get; }

    /// <summary>One POST of a webhook delivery; <paramref name="acknowledged"/> when the receiver answered 2xx.</summary>
    public void RecordWebhookAttempt(bool acknowledged)
        => _webhookAttempts.Add(1, new KeyValuePair<string, object?>(EngineTelemetry.Outcome, acknowledged ? "ok" : "error"));

    /// <summary>Seconds from a delivered batch's first change to its acknowledgement.</summary>
    public void RecordWebhookLag(double seconds) => _webhookLag.Record(Math.Max(0, seconds));

    private TagList Account(long accountId)
    {
        var tags = new TagList();
        if (_perAccount) tags.Add(EngineTelemetry.AccountId, accountId);
        return tags;
    }

    /// <summary>A sync step (SyncMailbox): a span, its duration, the account's active time and IMAP commands, when disposed.</summary>
    public AccountWorkScope StartSyncStep(long accountId) => new(this, accountId);

    /// <summary>The watcher woke an account's sync; <paramref name="cause"/> is what it saw first (new, expunge, flags, folders, probe).</summary>
    public void RecordWake(string cause) => _watchWakes.Add(1, new TagList { { "nylas.watch.cause", cause } });

    /// <summary>The watcher started (+1) or stopped (-1) watching an account.</summary>
    public void RecordWatched(int delta) => _watchedAccounts.Add(delta);

    /// <summary>One FETCH batch's downloaded messages.</summary>
    public void RecordFetched(long accountId, int messages, long bytes)
    {
        if (messages == 0) return;
        var tags = Account(accountId);
        _fetchedMessages.Add(messages, tags);
        _fetchedBytes.Add(bytes, tags);
    }

    /// <summary>One ingest batch (a queue message): a span, its duration, the messages stored, and when it completes, its latency from the queue.</summary>
    public IngestBatchScope StartIngestBatch(long accountId, int messages, DateTimeOffset? queuedAt) => new(this, accountId, messages, queuedAt);

    /// <summary>Measures one step of an account's sync; set <see cref="Outcome"/> before it is disposed (otherwise it counts as an error).</summary>
    public sealed class AccountWorkScope : IDisposable
    {
        private readonly EngineMetrics _metrics;
        private readonly long _accountId;
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly Activity? _activity;
        private IImapCommandCounter? _imap;

        internal AccountWorkScope(EngineMetrics metrics, long accountId)
        {
            _metrics = metrics;
            _accountId = accountId;
            _activity = EngineTelemetry.Source.StartActivity("sync.step");
            _activity?.SetTag(EngineTelemetry.AccountId, accountId);
        }

        /// <summary>done, more, stopped; error when left unset.</summary>
        public string Outcome { get; set; } = "error";

        /// <summary>The IMAP session whose commands count towards this account.</summary>
        public void Attach(MailService client) => _imap = client.ProtocolLogger as IImapCommandCounter;

        public void Dispose()
        {
            double seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            var outcome = new TagList { { EngineTelemetry.Outcome, Outcome } };
            _metrics._stepDuration.Record(seconds, outcome);
            _metrics._activeTime.Add(seconds, _metrics.Account(_accountId));
            long commands = _imap?.CommandsSent ?? 0;
            if (commands > 0) _metrics._imapCommands.Add(commands, _metrics.Account(_accountId));
            if (_activity is not null)
            {
                _activity.SetTag(EngineTelemetry.Outcome, Outcome);
                _activity.SetTag("nylas.imap.commands", commands);
                if (Outcome == "error") _activity.SetStatus(ActivityStatusCode.Error);
                _activity.Dispose();
            }
        }
    }

    /// <summary>Measures one ingest batch; call <see cref="Stored"/> and <see cref="Failed"/> as it goes, <see cref="Complete"/> at its end.</summary>
    public sealed class IngestBatchScope : IDisposable
    {
        private readonly EngineMetrics _metrics;
        private readonly long _accountId;
        private readonly DateTimeOffset? _queuedAt;
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly Activity? _activity;
        private int _stored;
        private int _failed;
        private bool _completed;

        internal IngestBatchScope(EngineMetrics metrics, long accountId, int messages, DateTimeOffset? queuedAt)
        {
            _metrics = metrics;
            _accountId = accountId;
            _queuedAt = queuedAt;
            _activity = EngineTelemetry.Source.StartActivity("ingest.batch");
            _activity?.SetTag(EngineTelemetry.AccountId, accountId);
            _activity?.SetTag("messaging.batch.message_count", messages);
        }

        public void Stored(int messages)
        {
            _stored += messages;
            _metrics._storedMessages.Add(messages, _metrics.Account(_accountId));
        }

        /// <summary>Messages that failed for one reason (requeued on their own, or the whole batch when it throws).</summary>
        public void Failed(int messages, Exception error)
        {
            _failed += messages;
            var tags = _metrics.Account(_accountId);
            tags.Add(EngineTelemetry.ErrorType, error.GetType().Name);
            _metrics._ingestFailures.Add(messages, tags);
        }

        /// <summary>The batch ended without throwing: its latency from the queue counts.</summary>
        public void Complete(DateTimeOffset now)
        {
            _completed = true;
            if (_queuedAt is { } queued) _metrics._ingestLatency.Record(Math.Max(0, (now - queued).TotalSeconds));
        }

        public void Dispose()
        {
            _metrics._batchDuration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds,
                new TagList { { EngineTelemetry.Outcome, _completed ? "ok" : "error" } });
            if (_activity is not null)
            {
                _activity.SetTag("nylas.ingest.stored", _stored);
                _activity.SetTag("nylas.ingest.failed", _failed);
                if (!_completed) _activity.SetStatus(ActivityStatusCode.Error);
                _activity.Dispose();
            }
        }
    }
}
