using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;

namespace Nylas.Testing.ServiceBus;

/// <summary>A message as the broker keeps it: its sections, decoded once, and the broker's bookkeeping.</summary>
internal sealed class StoredMessage
{
    public required Properties? Properties { get; init; }
    public required List<KeyValuePair<string, object>> ApplicationProperties { get; init; }
    public required List<KeyValuePair<string, object>> Annotations { get; init; }
    public byte[][]? Data { get; init; }
    public object? Value { get; init; }
    public DateTime DueAt { get; init; }

    public long Sequence { get; set; }
    public DateTime EnqueuedAt { get; set; }
    /// <summary>Deliveries that ended without settling (abandoned, lock lost): the header's delivery-count.</summary>
    public uint FailedDeliveries { get; set; }
    public DateTime LockedUntil { get; set; }
    public object? LockedBy { get; set; }

    private const string ScheduledEnqueueTime = "x-opt-scheduled-enqueue-time";

    public static StoredMessage From(AmqpMessage message)
    {
        var annotations = (message.Sections & SectionFlag.MessageAnnotations) != 0
            ? message.MessageAnnotations.Map.Select(kv => new KeyValuePair<string, object>(kv.Key.ToString(), kv.Value)).ToList()
            : [];
        var due = annotations.FirstOrDefault(a => a.Key == ScheduledEnqueueTime).Value is DateTime at ? at.ToUniversalTime() : DateTime.MinValue;
        return new StoredMessage
        {
            Properties = (message.Sections & SectionFlag.Properties) != 0 ? message.Properties : null,
            ApplicationProperties = (message.Sections & SectionFlag.ApplicationProperties) != 0
                ? message.ApplicationProperties.Map.Select(kv => new KeyValuePair<string, object>(kv.Key.ToString(), kv.Value)).ToList()
                : [],
            Annotations = annotations.Where(a => a.Key != ScheduledEnqueueTime).ToList(),
            Data = (message.BodyType & SectionFlag.Data) != 0 ? message.DataBody.Select(d => ServiceBusBroker.Bytes(d.Value)).ToArray() : null,
            Value = (message.BodyType & SectionFlag.AmqpValue) != 0 ? message.ValueBody.Value : null,
            DueAt = due,
        };
    }

    /// <summary>The copy that lands in the dead-letter queue: reason and description as application properties, as Service Bus does.</summary>
    public StoredMessage DeadLettered(string queue, string? reason, string? description)
    {
        var properties = ApplicationProperties.Where(p => p.Key is not ("DeadLetterReason" or "DeadLetterErrorDescription")).ToList();
        if (reason is not null) properties.Add(new("DeadLetterReason", reason));
        if (description is not null) properties.Add(new("DeadLetterErrorDescription", description));
        return new StoredMessage
        {
            Properties = Properties,
            ApplicationProperties = properties,
            Annotations = [.. Annotations, new("x-opt-deadletter-source", queue)],
            Data = Data,
            Value = Value,
            FailedDeliveries = FailedDeliveries,
        };
    }

    public AmqpMessage ToAmqp(Guid? lockToken)
    {
        var message = Data is not null
            ? AmqpMessage.Create(Data.Select(b => new Data { Value = new ArraySegment<byte>(b) }))
            : AmqpMessage.Create(new AmqpValue { Value = Value });
        message.Header.DeliveryCount = FailedDeliveries;
        if (Properties is { } p)
        {
            var q = message.Properties;
            (q.MessageId, q.CorrelationId, q.ContentType, q.ContentEncoding, q.Subject) = (p.MessageId, p.CorrelationId, p.ContentType, p.ContentEncoding, p.Subject);
            (q.To, q.ReplyTo, q.ReplyToGroupId, q.GroupId, q.GroupSequence) = (p.To, p.ReplyTo, p.ReplyToGroupId, p.GroupId, p.GroupSequence);
            (q.AbsoluteExpiryTime, q.CreationTime, q.UserId) = (p.AbsoluteExpiryTime, p.CreationTime, p.UserId);
        }
        foreach (var (key, value) in ApplicationProperties) message.ApplicationProperties.Map[key] = value;
        foreach (var (key, value) in Annotations) message.MessageAnnotations.Map[key] = value;
        message.MessageAnnotations.Map["x-opt-sequence-number"] = Sequence;
        message.MessageAnnotations.Map["x-opt-enqueued-time"] = EnqueuedAt;
        if (lockToken is { } token)
        {
            message.MessageAnnotations.Map["x-opt-locked-until"] = LockedUntil;
            message.MessageAnnotations.Map["x-opt-lock-token"] = token;
        }
        return message;
    }
}

/// <summary>One queue: messages in sequence order, locks by token, consumers with their link credit.</summary>
internal sealed class BrokerQueue(ServiceBusBroker broker, string name)
{
    private sealed class Consumer(SendingAmqpLink link)
    {
        public SendingAmqpLink Link => link;
        public uint Credit;
        public bool PeekLock => link.Settings.SettleType != SettleMode.SettleOnSend;
    }

    private readonly object _sync = new();
    private readonly List<StoredMessage> _messages = [];
    private readonly Dictionary<Guid, StoredMessage> _locked = [];
    private readonly List<Consumer> _consumers = [];
    private long _sequence;
    private int _next;

    public int Published;

    public int CountAvailable()
    {
        lock (_sync) return _messages.Count;
    }

    public void Enqueue(StoredMessage message)
    {
        lock (_sync)
        {
            message.Sequence = ++_sequence;
            Published++;
            // A scheduled message counts as enqueued when it becomes active, as Service Bus reports it.
            message.EnqueuedAt = message.DueAt > DateTime.UtcNow ? message.DueAt : DateTime.UtcNow;
            _messages.Add(message);
        }
        Pump();
    }

    public void AddConsumer(SendingAmqpLink link)
    {
        var consumer = new Consumer(link);
        link.RegisterCreditListener((credit, drain, _) =>
        {
            lock (_sync) consumer.Credit = credit == uint.MaxValue ? uint.MaxValue : consumer.Credit + credit;
            Pump();
            if (drain) lock (_sync) consumer.Credit = 0;
        });
        link.RegisterDispositionListener(delivery =>
        {
            var token = new Guid(delivery.DeliveryTag.AsSpan());
            bool settled = Settle(token, delivery.State as Outcome);
            // The client reads a Rejected answer as a failed settlement, so a dead-letter that worked is answered Accepted.
            if (!delivery.Settled)
                link.DisposeDelivery(delivery, true, !settled ? new Rejected { Error = new Error { Condition = "com.microsoft:message-lock-lost", Description = $"Lock {token} lost" } }
                    : delivery.State is Rejected ? new Accepted() : delivery.State);
        });
        link.Closed += (_, _) =>
        {
            lock (_sync)
            {
                _consumers.Remove(consumer);
                // Service Bus keeps such locks until they expire; releasing at once keeps the tests quick and counts the same.
                foreach (var (token, m) in _locked.Where(l => l.Value.LockedBy == consumer).ToList())
                    Unlock(token, m, failed: true);
            }
            Pump();
        };
        lock (_sync) _consumers.Add(consumer);
    }

    /// <summary>Returns expired locks, then hands due messages to consumers with credit, round robin.</summary>
    public void Pump()
    {
        var sends = new List<(Consumer Consumer, AmqpMessage Message, Guid Token)>();
        lock (_sync)
        {
            var now = DateTime.UtcNow;
            foreach (var (token, m) in _locked.Where(l => l.Value.LockedUntil < now).ToList())
                Unlock(token, m, failed: true);

            while (true)
            {
                var consumer = NextWithCredit();
                int index = _messages.FindIndex(m => m.DueAt <= now);
                if (consumer is null || index < 0) break;
                var message = _messages[index];
                _messages.RemoveAt(index);
                if (consumer.Credit != uint.MaxValue) consumer.Credit--;
                var token = Guid.NewGuid();
                if (consumer.PeekLock)
                {
                    message.LockedUntil = now + broker.LockDuration;
                    message.LockedBy = consumer;
                    _locked[token] = message;
                }
                sends.Add((consumer, message.ToAmqp(consumer.PeekLock ? token : null), token));
            }
        }
        foreach (var (consumer, message, token) in sends)
        {
            try
            {
                consumer.Link.SendMessageNoWait(message, new ArraySegment<byte>(token.ToByteArray()), AmqpConstants.NullBinary);
            }
            catch (Exception ex) when (ex is AmqpException or ObjectDisposedException or InvalidOperationException)
            {
                // The link closed meanwhile; its Closed handler has put the message back (peek-lock) as Service Bus would.
            }
        }
    }

    private Consumer? NextWithCredit()
    {
        for (int i = 0; i < _consumers.Count; i++)
        {
            var consumer = _consumers[(_next + i) % _consumers.Count];
            if (consumer.Credit > 0 && !consumer.Link.IsClosing())
            {
                _next = (_next + i + 1) % _consumers.Count;
                return consumer;
            }
        }
        return null;
    }

    /// <summary>Applies a disposition (on the link or through the management node); false if the lock is gone.</summary>
    public bool Settle(Guid token, Outcome? outcome)
    {
        StoredMessage? deadLetter = null;
        lock (_sync)
        {
            if (!_locked.TryGetValue(token, out var message)) return false;
            switch (outcome)
            {
                case Accepted:
                    _locked.Remove(token);
                    break;
                case Rejected rejected:
                    _locked.Remove(token);
                    string? reason = null, description = null;
                    rejected.Error?.Info?.TryGetValue("DeadLetterReason", out reason);
                    rejected.Error?.Info?.TryGetValue("DeadLetterErrorDescription", out description);
                    deadLetter = message.DeadLettered(name, reason, description);
                    // The SDK sends a dead-letter's properties to modify in the error's info, next to reason and description.
                    foreach (var (key, value) in rejected.Error?.Info ?? [])
                        if (key.ToString() is not ("DeadLetterReason" or "DeadLetterErrorDescription") and var k)
                        {
                            deadLetter.ApplicationProperties.RemoveAll(p => p.Key == k);
                            deadLetter.ApplicationProperties.Add(new(k, value));
                        }
                    break;
                case Modified modified:
                    // Abandon: properties to modify arrive as message annotations and end up as application properties.
                    if (modified.MessageAnnotations is { } changes)
                        foreach (var change in changes)
                        {
                            message.ApplicationProperties.RemoveAll(p => p.Key == change.Key.ToString());
                            message.ApplicationProperties.Add(new(change.Key.ToString(), change.Value));
                        }
                    Unlock(token, message, failed: modified.DeliveryFailed ?? true);
                    break;
                case Released:
                    Unlock(token, message, failed: false);
                    break;
                default:
                    return false;
            }
        }
        if (deadLetter is not null) broker.DeadLetterQueue(name).Enqueue(deadLetter);
        Pump();
        return true;
    }

    /// <summary>
    /// What a peek sees from a sequence number on, in sequence order: waiting, locked and scheduled messages alike, the
    /// scheduled ones marked so (x-opt-message-state 2, ServiceBusMessageState.Scheduled).
    /// </summary>
    public List<AmqpMessage> Peek(long fromSequence, int count)
    {
        lock (_sync)
        {
            var now = DateTime.UtcNow;
            return _messages.Concat(_locked.Values).Where(m => m.Sequence >= fromSequence).OrderBy(m => m.Sequence).Take(count)
                .Select(m =>
                {
                    var message = m.ToAmqp(null);
                    message.MessageAnnotations.Map["x-opt-message-state"] = m.DueAt > now ? 2 : 0;
                    return message;
                })
                .ToList();
        }
    }

    public DateTime? RenewLock(Guid token)
    {
        lock (_sync)
        {
            if (!_locked.TryGetValue(token, out var message)) return null;
            message.LockedUntil = DateTime.UtcNow + broker.LockDuration;
            return message.LockedUntil;
        }
    }

    private void Unlock(Guid token, StoredMessage message, bool failed)
    {
        _locked.Remove(token);
        message.LockedBy = null;
        if (failed) message.FailedDeliveries++;
        int at = _messages.FindIndex(m => m.Sequence > message.Sequence);
        _messages.Insert(at < 0 ? _messages.Count : at, message);
    }
}
