using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nylas.Core.Messages;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api;
using Nylas.Engine.Api.RateLimits;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Calendars;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Contacts;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Files;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Health;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Threads;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Security;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;

namespace Nylas.Engine;

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
            .ValidateOnStart();

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<Telemetry.EngineMetrics>();
        services.AddSingleton<ShardDirectory>();
        services.AddSingleton<DatabaseMigrator>();
        services.AddSingleton<SecretSealer>();
        services.AddSingleton(sp => StorageClients.Blobs(sp.GetRequiredService<IOptions<NylasOptions>>().Value.Storage));
        services.AddSingleton(sp => StorageClients.Queues(sp.GetRequiredService<IOptions<NylasOptions>>().Value.Storage));
        services.AddSingleton<RawMailStore>();
        services.AddSingleton<FileStore>();
        services.AddSingleton<BlobSweeper>();
        services.AddSingleton<StorageQueueIngestQueue>();
        services.AddSingleton<IIngestQueue>(sp => sp.GetRequiredService<StorageQueueIngestQueue>());

        services.AddSingleton<AccountStore>();
        services.AddSingleton<AccountConnector>();
        services.AddSingleton<FolderStore>();
        services.AddSingleton<MailboxMirror>();
        services.AddSingleton<ImapConnector>();
        services.AddSingleton<MailboxSyncer>();
        services.AddSingleton<ChangeWaiter>();
        services.AddSingleton<AccountSyncScheduler>();

        services.AddSingleton(new MimeMessageMapper());
        services.AddSingleton(new Nylas.Core.Threading.ThreadingEngine());
        services.AddSingleton<MessageWriter>();
        services.AddSingleton<IngestHandler>();

        services.AddSingleton<ApiRateLimiter>();
        services.AddSingleton<ApiAuthenticator>();
        services.AddSingleton<MessageQueries>();
        services.AddSingleton<MessagesApi>();
        services.AddSingleton<AccountsApi>();
        services.AddSingleton<FoldersApi>();
        services.AddSingleton<HealthApi>();
        services.AddSingleton<ThreadQueries>();
        services.AddSingleton<ThreadsApi>();
        services.AddSingleton<ContactsApi>();
        services.AddSingleton<CalendarsApi>();
        services.AddSingleton<EventsApi>();
        services.AddSingleton<FilesApi>();

        services.AddSingleton<OAuthTokenProvider>();
        services.AddSingleton<SmtpConnector>();
        services.AddSingleton<MailProviderDetector>();
        services.AddSingleton<ConnectCodeStore>();
        services.AddSingleton<ConnectTargetGuard>();
        services.AddSingleton<AccountLifecycle>();
        services.AddSingleton<DeletionSweep>();
        services.AddSingleton<ConnectApi>();
        services.AddSingleton<AccountManagementApi>();
        return services;
    }

    /// <summary>Schema migrations and storage containers/queues; run once when a host starts.</summary>
    public static async Task PrepareStorageAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await services.GetRequiredService<DatabaseMigrator>().MigrateAllAsync(cancellationToken);
        await services.GetRequiredService<RawMailStore>().EnsureCreatedAsync(cancellationToken);
        await services.GetRequiredService<FileStore>().EnsureCreatedAsync(cancellationToken);
        await services.GetRequiredService<StorageQueueIngestQueue>().EnsureCreatedAsync(cancellationToken);
    }
}
