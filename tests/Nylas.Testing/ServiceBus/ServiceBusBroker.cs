using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Principal;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Sasl;
using Microsoft.Azure.Amqp.Transport;

namespace Nylas.Testing.ServiceBus;

/// <summary>
/// A Service Bus stand-in on loopback for tests, speaking AMQP 1.0 through Microsoft.Azure.Amqp (the library the SDK itself
/// uses). Enough of the service for Azure.Messaging.ServiceBus senders, receivers and processors: SASL MSSBCBS, ANONYMOUS
/// and PLAIN; <c>$cbs</c> put-token; queues created on first use; batched and scheduled sends; peek-lock with GUID lock
/// tokens as delivery tags and a lock duration; complete, abandon (rising delivery count), dead-letter into
/// <c>&lt;queue&gt;/$deadletterqueue</c> with reason and description; the management operations renew-lock,
/// update-disposition and peek-message. Plain AMQP only: clients connect with <c>UseDevelopmentEmulator=true</c>, as to
/// the official emulator. Not modelled: sessions, topics, transactions, duplicate detection, deferral, the HTTPS
/// management API (ServiceBusAdministrationClient).
/// </summary>
public sealed class ServiceBusBroker : IRuntimeProvider, IDisposable
{
    private readonly ConcurrentDictionary<string, BrokerQueue> _queues = new(StringComparer.OrdinalIgnoreCase);
    // Reply links of request/response nodes ($cbs, <queue>/$management), by the client address requests name as reply-to.
    private readonly ConcurrentDictionary<string, SendingAmqpLink> _replyLinks = new();
    private readonly AmqpSettings _settings;
    private readonly AmqpTransportListener _listener;
    private readonly Timer _clock;

    public ServiceBusBroker(TimeSpan? lockDuration = null)
    {
        LockDuration = lockDuration ?? TimeSpan.FromSeconds(30);
        Port = FreePorts.Next();
        var amqp10 = new AmqpVersion(1, 0, 0);
        var sasl = new SaslTransportProvider();
        sasl.Versions.Add(amqp10);
        sasl.AddHandler(new SaslAnonymousHandler("MSSBCBS")); // the SDK's mechanism: the identity is proven later over $cbs
        sasl.AddHandler(new SaslAnonymousHandler());
        sasl.AddHandler(new SaslPlainHandler(new AnyPlainCredential()));
        _settings = new AmqpSettings { RuntimeProvider = this };
        _settings.TransportProviders.Add(sasl);
        var amqp = new AmqpTransportProvider();
        amqp.Versions.Add(amqp10);
        _settings.TransportProviders.Add(amqp);
        var tcp = new TcpTransportSettings { Host = IPAddress.Loopback.ToString(), Port = Port };
        _listener = new AmqpTransportListener([tcp.CreateListener()], _settings);
        _listener.Listen(OnAcceptTransport);
        // Scheduled messages become due and expired locks return to their queue on this tick.
        _clock = new Timer(_ => { foreach (var q in _queues.Values) q.Pump(); }, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
    }

    public int Port { get; }
    public TimeSpan LockDuration { get; }

    /// <summary>A connection string the SDK accepts; the key is not checked.</summary>
    public string ConnectionString => $"Endpoint=sb://127.0.0.1:{Port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=dGVzdA==;UseDevelopmentEmulator=true";

    /// <summary>Messages ever sent to a queue (each message of a batch counts), for assertions.</summary>
    public int Published(string queue) => Queue(queue).Published;

    /// <summary>Messages waiting in a queue (not locked), for assertions.</summary>
    public int CountAvailable(string queue) => Queue(queue).CountAvailable();

    public void Dispose()
    {
        _clock.Dispose();
        _listener.Close();
    }

    private BrokerQueue Queue(string name) => _queues.GetOrAdd(name, n => new BrokerQueue(this, n));

    internal BrokerQueue DeadLetterQueue(string queue) => Queue(queue + "/$deadletterqueue");


    private void OnAcceptTransport(TransportListener listener, TransportAsyncCallbackArgs args)
    {
        var connection = new AmqpConnection(args.Transport, (ProtocolHeader)args.UserToken, false, _settings,
            new AmqpConnectionSettings { ContainerId = "nylas-test-servicebus", MaxFrameSize = 64 * 1024 });
        connection.OpenAsync(TimeSpan.FromSeconds(30)).ContinueWith(t => { if (t.IsFaulted) connection.SafeClose(t.Exception); }, TaskScheduler.Default);
    }

    AmqpConnection IConnectionFactory.CreateConnection(TransportBase transport, ProtocolHeader protocolHeader, bool isInitiator, AmqpSettings amqpSettings, AmqpConnectionSettings connectionSettings)
        => new(transport, protocolHeader, isInitiator, amqpSettings, connectionSettings);

    AmqpSession ISessionFactory.CreateSession(AmqpConnection connection, AmqpSessionSettings settings) => new(connection, settings, this);

    AmqpLink ILinkFactory.CreateLink(AmqpSession session, AmqpLinkSettings settings)
    {
        // The SDK sizes its message batches by the max-message-size the broker attaches with: Standard tier's 256 KiB.
        settings.MaxMessageSize = 256 * 1024;
        if (settings.IsReceiver())
        {
            settings.TotalLinkCredit = 1000;
            settings.AutoSendFlow = true;
            return new ReceivingAmqpLink(session, settings);
        }
        return new SendingAmqpLink(session, settings);
    }

    IAsyncResult ILinkFactory.BeginOpenLink(AmqpLink link, TimeSpan timeout, AsyncCallback callback, object state)
    {
        string address = link.IsReceiver ? Address(((Target)link.Settings.Target).Address) : Address(((Source)link.Settings.Source).Address);
        if (link is ReceivingAmqpLink inbound)
        {
            if (address == "$cbs") inbound.RegisterMessageListener(m => Respond(inbound, m, PutToken));
            else if (address.EndsWith("/$management", StringComparison.OrdinalIgnoreCase))
                inbound.RegisterMessageListener(m => Respond(inbound, m, request => Manage(Queue(address[..^"/$management".Length]), request)));
            else inbound.RegisterMessageListener(m => OnPublish(inbound, Queue(address), m));
        }
        else
        {
            var outbound = (SendingAmqpLink)link;
            if (address == "$cbs" || address.EndsWith("/$management", StringComparison.OrdinalIgnoreCase))
            {
                string replyTo = Address(((Target)link.Settings.Target).Address);
                _replyLinks[replyTo] = outbound;
                outbound.Closed += (_, _) => _replyLinks.TryRemove(new KeyValuePair<string, SendingAmqpLink>(replyTo, outbound));
            }
            else Queue(address).AddConsumer(outbound);
        }
        var done = new TaskCompletionSource(state);
        done.SetResult();
        callback?.Invoke(done.Task);
        return done.Task;
    }

    void ILinkFactory.EndOpenLink(IAsyncResult result) { }

    /// <summary>The SDK names entities by URI path ("/ingest") or plain name; either is the queue's name.</summary>
    private static string Address(Address? address)
    {
        string text = address?.ToString() ?? throw new AmqpException(AmqpErrorCode.InvalidField, "Address not set");
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme.StartsWith("amqp", StringComparison.OrdinalIgnoreCase)) text = uri.AbsolutePath;
        return text.Trim('/');
    }

    private static void OnPublish(ReceivingAmqpLink link, BrokerQueue queue, AmqpMessage message)
    {
        try
        {
            // A batch (SendMessagesAsync of several) travels as one message whose data sections are whole encoded messages.
            if (message.MessageFormat == AmqpConstants.AmqpBatchedMessageFormat)
                foreach (var data in message.DataBody)
                    queue.Enqueue(StoredMessage.From(Decode(Bytes(data.Value))));
            else queue.Enqueue(StoredMessage.From(message));
            link.AcceptMessage(message, false);
        }
        catch (Exception ex)
        {
            link.RejectMessage(message, ex);
        }
    }

    private static AmqpMessage Decode(byte[] encoded)
    {
        var message = AmqpMessage.CreateAmqpStreamMessage(new BufferListStream([new ArraySegment<byte>(encoded)]), true);
        message.Deserialize(SectionFlag.All);
        return message;
    }

    internal static byte[] Bytes(object value) => value switch
    {
        ArraySegment<byte> s => s.ToArray(),
        byte[] b => b,
        _ => throw new InvalidOperationException($"Unexpected data section {value?.GetType().Name}"),
    };

    /// <summary>Answers a request on a request/response node on the reply link its reply-to names.</summary>
    private void Respond(ReceivingAmqpLink link, AmqpMessage request, Func<AmqpMessage, AmqpMessage> handle)
    {
        AmqpMessage response;
        try
        {
            response = handle(request);
        }
        catch (Exception ex)
        {
            response = Reply(500, ex.Message, null);
        }
        response.Properties.CorrelationId = request.Properties.MessageId;
        string replyTo = request.Properties.ReplyTo?.ToString() ?? "";
        if (!request.Settled) link.AcceptMessage(request, false);
        if (_replyLinks.TryGetValue(Address(replyTo), out var reply))
            reply.SendMessageNoWait(response, new ArraySegment<byte>(Guid.NewGuid().ToByteArray()), AmqpConstants.NullBinary);
    }

    private static AmqpMessage PutToken(AmqpMessage request)
    {
        var response = AmqpMessage.Create();
        response.ApplicationProperties.Map["status-code"] = 202;
        response.ApplicationProperties.Map["status-description"] = "Accepted";
        return response;
    }

    /// <summary>The management operations a peek-lock receiver or processor makes.</summary>
    private AmqpMessage Manage(BrokerQueue queue, AmqpMessage request)
    {
        string operation = request.ApplicationProperties.Map["operation"]?.ToString() ?? "";
        var body = request.ValueBody?.Value as AmqpMap ?? [];
        var tokens = body.TryGetValue(new MapKey("lock-tokens"), out Guid[] locks) ? locks : [];
        switch (operation)
        {
            case "com.microsoft:renew-lock":
                var expirations = tokens.Select(t => queue.RenewLock(t) ?? throw new InvalidOperationException($"Lock {t} lost")).ToArray();
                return Reply(200, "OK", new AmqpMap { [new MapKey("expirations")] = expirations });
            case "com.microsoft:update-disposition":
                body.TryGetValue(new MapKey("disposition-status"), out string status);
                foreach (var token in tokens)
                {
                    bool settled = status switch
                    {
                        "completed" => queue.Settle(token, new Accepted()),
                        "abandoned" => queue.Settle(token, new Modified()),
                        "suspended" => queue.Settle(token, DeadLetterOutcome(Text(body, "deadletter-reason"), Text(body, "deadletter-description"))),
                        _ => throw new NotSupportedException($"disposition-status {status}"),
                    };
                    if (!settled) return Reply(410, $"Lock {token} lost", null);
                }
                return Reply(200, "OK", null);
            case "com.microsoft:peek-message":
                // Answered with each message encoded whole, as a batch carries them; 204 when nothing is at or after the sequence number.
                long from = body.TryGetValue(new MapKey("from-sequence-number"), out long sequence) ? sequence : 1;
                int count = body.TryGetValue(new MapKey("message-count"), out int wanted) ? wanted : 1;
                var peeked = queue.Peek(from, count);
                if (peeked.Count == 0) return Reply(204, "No Content", null);
                var entries = peeked.Select(m => new AmqpMap { [new MapKey("message")] = new ArraySegment<byte>(Encode(m)) }).ToList();
                return Reply(200, "OK", new AmqpMap { [new MapKey("messages")] = entries });
            default:
                return Reply(501, $"{operation} is not implemented by the test broker", null);
        }
    }

    private static byte[] Encode(AmqpMessage message)
    {
        using var encoded = message.ToStream();
        using var bytes = new MemoryStream();
        encoded.CopyTo(bytes);
        return bytes.ToArray();
    }

    private static string? Text(AmqpMap map, string key) => map.TryGetValue(new MapKey(key), out string value) ? value : null;

    private static Rejected DeadLetterOutcome(string? reason, string? description)
    {
        var error = new Error { Condition = "com.microsoft:dead-letter", Info = new Fields() };
        if (reason is not null) error.Info["DeadLetterReason"] = reason;
        if (description is not null) error.Info["DeadLetterErrorDescription"] = description;
        return new Rejected { Error = error };
    }

    private static AmqpMessage Reply(int status, string description, AmqpMap? body)
    {
        var response = body is null ? AmqpMessage.Create() : AmqpMessage.Create(new AmqpValue { Value = body });
        response.ApplicationProperties.Map["statusCode"] = status;
        response.ApplicationProperties.Map["statusDescription"] = description;
        return response;
    }

    private sealed class AnyPlainCredential : ISaslPlainAuthenticator
    {
        public Task<IPrincipal> AuthenticateAsync(string identity, string password)
            => Task.FromResult<IPrincipal>(new GenericPrincipal(new GenericIdentity(identity), ["SEND", "LISTEN", "MANAGE"]));
    }
}
