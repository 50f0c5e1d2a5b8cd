namespace Nylas.Core.Ids;

/// <summary>
/// Row ids in shard databases carry their shard in the top 16 bits (each shard's tables start their
/// AUTO_INCREMENT at shard &lt;&lt; 48), so ids never collide across shards and an account can move.
/// </summary>
public static class ShardedId
{
    public const int ShardBits = 16;
    public const int LocalBits = 48;

    public static long AutoIncrementBase(int shardId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shardId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardId, (1 << (ShardBits - 1)) - 1);
        return (long)shardId << LocalBits;
    }

    public static int ShardOf(long id) => (int)(id >> LocalBits);
}
