using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api;
using Nylas.Engine.Calendar;
using Nylas.Engine.Connect;
using Nylas.Engine.Drafts;
using Nylas.Engine.Hosting;
using Nylas.Engine.Ingest;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Outbox;
using Nylas.Engine.Queues;
using Nylas.Engine.Security;
using Nylas.Engine.Sending;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Syncback;
using Nylas.Engine.Webhooks;

namespace Nylas.Engine;

/// <summary>
/// The engine's composition: one <c>AddXxx()</c> per module, in the order they depend on each other
/// (Storage, Security → Accounts → MailSessions → Queues → Webhooks → Ingest → Sync → Connect → Api, Hosting; ModuleDependencyTests
/// keeps it so). Ingest sits below Sync: sync produces ingest messages, ingest never needs sync.
/// </summary>
public static class EngineServiceCollectionExtensions
{
    /// <summary>Everything both hosts need: storage, sync, ingest and API handlers. Options are validated on start.</summary>
    public static IServiceCollection AddNylasEngine(this IServiceCollection services, IConfiguration configuration)
    {
        // Before MailKit decodes anything: MimeKit remembers a charset it could not find for the life of the process.
        Nylas.Core.Messages.MimeEncodings.EnsureRegistered();
        services.AddOptions<NylasOptions>()
            .Bind(configuration.GetSection(NylasOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.Database.Shards.Count > 0, "Nylas:Database:Shards needs at least one shard (Nylas__Database__Shards__0).")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Database.Global), "Nylas:Database:Global is required.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Storage.ConnectionString) || !string.IsNullOrWhiteSpace(o.Storage.AccountName),
                "Nylas:Storage:ConnectionString (or, with a managed identity, Nylas:Storage:AccountName) is required.")
            .Validate(o => string.IsNullOrWhiteSpace(o.Connect.DnsServer) || MailProviderDetector.TryParseServer(o.Connect.DnsServer) is not null,
                "Nylas:Connect:DnsServer must be an IP address, optionally with a port (127.0.0.1:53), or empty for the machine's resolvers.")
            .Validate(o => ConnectTargetGuard.TryParseNetworks(o.Connect.AllowedPrivateNetworks, out _),
                "Nylas:Connect:AllowedPrivateNetworks must be comma-separated CIDR ranges, such as 10.20.0.0/16.")
            .Validate(o => ConnectTargetGuard.TryParseNetworks(o.Webhooks.AllowedPrivateNetworks, out _),
                "Nylas:Webhooks:AllowedPrivateNetworks must be comma-separated CIDR ranges, such as 127.0.0.0/8.")
            .Validate(o => EngineTimers.All.All(t => EngineTimer.IsValid(t.Schedule(o.Timers))),
                "Every Nylas:Timers:* setting must be a six-field cron expression, seconds first (\"0 */2 * * * *\").")
            .Validate(o => string.IsNullOrEmpty(o.Security.EncryptionKey) || SecretSealer.IsKey(o.Security.EncryptionKey),
                "Nylas:Security:EncryptionKey must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`).")
            .Validate(o => SecretSealer.PreviousKeysOf(o.Security).All(SecretSealer.IsKey),
                "Nylas:Security:PreviousKeys must hold base64 keys of 32 bytes (comma-separated, or one per index).")
            .Validate(o => MailSessions.ImapConnector.TryParseCapabilities(o.Sync.IgnoreCapabilities, out _),
                "Nylas:Sync:IgnoreCapabilities must be comma-separated IMAP capability names MailKit knows, such as MOVE,UIDPLUS.")
            .ValidateOnStart();

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<Telemetry.EngineMetrics>();
        return services
            .AddStorage()
            .AddAccounts()
            .AddMailSessions()
            .AddIngestTransport(configuration)
            .AddWebhooks()
            .AddIngest()
            .AddSync()
            .AddSyncback()
            .AddConnect()
            .AddSending()
            .AddCalendar()
            .AddOutbox()
            .AddDrafts()
            .AddApi();
    }

    /// <summary>
    /// <see cref="IAccountSyncControl"/> over the host's durable client: <paramref name="client"/> says where the host
    /// gets it (the local host from DI; the Functions app from the running trigger's [DurableClient] binding).
    /// </summary>
    public static IServiceCollection AddDurableSyncControl(this IServiceCollection services, Func<IServiceProvider, Func<DurableTaskClient>> client)
        => services
            .AddSingleton<IAccountSyncControl>(sp => new DurableAccountSyncControl(client(sp), sp.GetRequiredService<ILogger<DurableAccountSyncControl>>()))
            // The outbox's deliveries are orchestrations of the same durable client.
            .AddSingleton(sp => new OutboxScheduler(client(sp)));

    /// <summary>Schema migrations and storage containers/queues; run once when a host starts.</summary>
    public static async Task PrepareStorageAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await services.GetRequiredService<DatabaseMigrator>().MigrateAllAsync(cancellationToken);
        await services.GetRequiredService<RawMailStore>().EnsureCreatedAsync(cancellationToken);
        await services.GetRequiredService<FileStore>().EnsureCreatedAsync(cancellationToken);
        await services.GetRequiredService<StorageQueueIngestQueue>().EnsureCreatedAsync(cancellationToken);
        await services.GetRequiredService<StorageQueueWebhookQueue>().EnsureCreatedAsync(cancellationToken);
    }
}
