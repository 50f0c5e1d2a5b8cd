using Nylas.Core.Ids;
using Xunit;

namespace Nylas.Core.Tests.Ids;

public class IdTests
{
    [Fact]
    public void Public_ids_are_opaque_base36_and_unique()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => PublicId.New()).ToList();
        Assert.All(ids, id => Assert.True(PublicId.IsWellFormed(id), id));
        Assert.All(ids, id => Assert.Equal(PublicId.MaxLength, id.Length));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Theory]
    [InlineData("")]
    [InlineData("ABC")]
    [InlineData("abc-def")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0")]
    [InlineData("1 OR 1=1")]
    public void Malformed_ids_are_rejected(string id) => Assert.False(PublicId.IsWellFormed(id));

    [Fact]
    public void Shard_is_encoded_in_the_top_bits_of_row_ids()
    {
        long firstOfShard3 = ShardedId.AutoIncrementBase(3) + 1;
        Assert.Equal(3, ShardedId.ShardOf(firstOfShard3));
        Assert.Equal(3, ShardedId.ShardOf(firstOfShard3 + 1_000_000_000));
        Assert.Equal(0, ShardedId.ShardOf(ShardedId.AutoIncrementBase(0) + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardedId.AutoIncrementBase(-1));
    }
}
