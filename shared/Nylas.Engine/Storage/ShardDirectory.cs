using Microsoft.Extensions.Options;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>One <see cref="MySqlDataSource"/> for the global database and one per shard.</summary>
public sealed class ShardDirectory : IAsyncDisposable
{
    private readonly Dictionary<int, MySqlDataSource> _shards;

    public ShardDirectory(IOptions<NylasOptions> options)
    {
        var db = options.Value.Database;
        if (db.Shards.Count == 0)
            throw new InvalidOperationException("Nylas:Database:Shards needs at least one shard connection string (Nylas__Database__Shards__0).");
        Global = new MySqlDataSource(db.Global);
        _shards = db.Shards.ToDictionary(
            kv => int.TryParse(kv.Key, out var id) && id >= 0 ? id : throw new InvalidOperationException($"Shard key '{kv.Key}' is not a shard number."),
            kv => new MySqlDataSource(kv.Value));
    }

    public MySqlDataSource Global { get; }

    public IReadOnlyCollection<int> ShardIds => _shards.Keys;

    public MySqlDataSource Shard(int shardId)
        => _shards.TryGetValue(shardId, out var ds) ? ds : throw new InvalidOperationException($"Shard {shardId} is not configured.");

    public async ValueTask DisposeAsync()
    {
        await Global.DisposeAsync();
        foreach (var ds in _shards.Values) await ds.DisposeAsync();
    }
}
