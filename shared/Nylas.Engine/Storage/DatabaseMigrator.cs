using EvolveDb;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Nylas.Core.Ids;

namespace Nylas.Engine.Storage;

/// <summary>Applies the versioned SQL migrations (embedded resources, by database kind) with Evolve.</summary>
public sealed class DatabaseMigrator(ShardDirectory shards, ILogger<DatabaseMigrator> logger)
{
    private const string ResourcePrefix = "Nylas.Engine.Storage.Migrations.";

    public async Task MigrateAllAsync(CancellationToken cancellationToken = default)
    {
        await MigrateAsync(shards.Global, "Global", new Dictionary<string, string>(), cancellationToken);
        foreach (int shardId in shards.ShardIds.Order())
        {
            var placeholders = new Dictionary<string, string>
            {
                ["${auto_increment_start}"] = (ShardedId.AutoIncrementBase(shardId) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            await MigrateAsync(shards.Shard(shardId), "Shard", placeholders, cancellationToken);
        }
        await RegisterShardsAsync(cancellationToken);
    }

    private async Task MigrateAsync(MySqlDataSource dataSource, string kind, Dictionary<string, string> placeholders, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var evolve = new Evolve(connection, msg => logger.LogDebug("{Kind} migration: {Message}", kind, msg), EvolveDb.Dialect.DBMS.MySQL)
        {
            EmbeddedResourceAssemblies = [typeof(DatabaseMigrator).Assembly],
            EmbeddedResourceFilters = [ResourcePrefix + kind + "."],
            Placeholders = placeholders,
            IsEraseDisabled = true,
            MetadataTableName = "schema_migrations",
        };
        // Evolve is synchronous; it takes a cluster lock so several hosts may start at once.
        try
        {
            await Task.Run(evolve.Migrate, cancellationToken);
        }
        catch (EvolveValidationException ex) when (ex.Message.Contains("checksum", StringComparison.OrdinalIgnoreCase))
        {
            // Released migrations are never edited; this happens to development databases made by an older checkout.
            throw new InvalidOperationException(
                $"Database {connection.Database}: {ex.Message} The migration was changed after it was applied to this database. " +
                "A development database can be recreated (./dev down --purge, then ./dev up); a production database must be migrated by a new migration, never by editing an applied one.", ex);
        }
        logger.LogInformation("Database {Database} ({Kind}) at schema version {Version}; {Count} migration(s) applied",
            connection.Database, kind, evolve.AppliedMigrations.LastOrDefault() ?? "current", evolve.NbMigration);
    }

    /// <summary>The shard map in the global DB follows configuration: a configured shard is open for new accounts.</summary>
    private async Task RegisterShardsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        foreach (int shardId in shards.ShardIds)
        {
            await using var cmd = new MySqlCommand("INSERT IGNORE INTO shards (id, open_for_new_accounts) VALUES (@id, 1)", connection);
            cmd.Parameters.AddWithValue("@id", shardId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
