using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class FetchBatchesTests
{
    private sealed record Msg(uint Uid, long Size);

    private static List<List<uint>> Cut(IEnumerable<Msg> messages, int maxMessages, long maxBytes)
        => FetchBatches.Plan(messages, m => m.Size, maxMessages, maxBytes).Select(b => b.Select(m => m.Uid).ToList()).ToList();

    private static IEnumerable<Msg> Uids(uint from, uint to, long size = 100)
    {
        for (uint uid = from; uid <= to; uid++) yield return new Msg(uid, size);
    }

    [Fact]
    public void No_messages_make_no_batches()
        => Assert.Empty(Cut([], 10, 1000));

    [Fact]
    public void Batches_are_cut_by_count()
        => Assert.Equal([[1u, 2u, 3u], [4u, 5u, 6u], [7u]], Cut(Uids(1, 7), maxMessages: 3, maxBytes: long.MaxValue));

    [Fact]
    public void Batches_are_cut_before_the_byte_bound_is_exceeded()
    {
        // 100 bytes each, 250 allowed: two per batch; exactly at the bound still fits.
        Assert.Equal([[1u, 2u], [3u, 4u], [5u]], Cut(Uids(1, 5), maxMessages: 100, maxBytes: 250));
        Assert.Equal([[1u, 2u], [3u, 4u]], Cut(Uids(1, 4), maxMessages: 100, maxBytes: 200));
    }

    [Fact]
    public void A_message_larger_than_the_byte_bound_is_fetched_alone()
    {
        Msg[] messages = [new(1, 10), new(2, 5000), new(3, 10), new(4, 10)];
        Assert.Equal([[1u], [2u], [3u, 4u]], Cut(messages, maxMessages: 100, maxBytes: 1000));
    }

    [Fact]
    public void The_given_order_is_kept_so_backfill_runs_newest_first()
    {
        var newestFirst = Uids(1, 5).Reverse();
        Assert.Equal([[5u, 4u], [3u, 2u], [1u]], Cut(newestFirst, maxMessages: 2, maxBytes: long.MaxValue));
    }

    [Fact]
    public void Messages_without_a_size_count_no_bytes()
        => Assert.Equal([[1u, 2u, 3u]], Cut(Uids(1, 3, size: 0), maxMessages: 10, maxBytes: 1));

    [Fact]
    public void The_first_bound_reached_cuts_the_batch()
    {
        Msg[] messages = [new(1, 400), new(2, 400), new(3, 10), new(4, 10), new(5, 10), new(6, 10)];
        Assert.Equal([[1u, 2u], [3u, 4u, 5u], [6u]], Cut(messages, maxMessages: 3, maxBytes: 805));
    }
}
