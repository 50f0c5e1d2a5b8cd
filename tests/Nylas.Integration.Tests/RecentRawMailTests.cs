using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Storage;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The bounded hand-over of just-stored raw messages from the sync step to ingest in the same process.</summary>
public class RecentRawMailTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static RecentRawMail Cache(long bytes, TimeProvider clock)
        => new(Options.Create(new NylasOptions { Ingest = new IngestOptions { RecentRawMailBytes = bytes } }), clock);

    [Fact]
    public void A_message_is_taken_once_and_frees_its_bytes()
    {
        var cache = Cache(100, new ManualClock());
        cache.Add("a", new byte[40]);
        Assert.Equal(40, cache.Bytes);
        Assert.True(cache.TryTake("a", out var content));
        Assert.Equal(40, content.Length);
        Assert.False(cache.TryTake("a", out _));
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void When_full_the_oldest_stay_and_new_ones_are_not_kept()
    {
        // Ingest takes in queue order, so the oldest are the ones it needs next.
        var cache = Cache(100, new ManualClock());
        cache.Add("first", new byte[60]);
        cache.Add("second", new byte[60]);
        Assert.True(cache.TryTake("first", out _));
        Assert.False(cache.TryTake("second", out _));
        cache.Add("third", new byte[60]);
        Assert.True(cache.TryTake("third", out _));
    }

    [Fact]
    public void What_nobody_takes_within_five_minutes_is_dropped()
    {
        // Another process ran the ingest: the entry must not hold memory for ever.
        var clock = new ManualClock();
        var cache = Cache(100, clock);
        cache.Add("untaken", new byte[60]);
        clock.Now += TimeSpan.FromMinutes(6);
        cache.Add("later", new byte[60]);
        Assert.False(cache.TryTake("untaken", out _));
        Assert.True(cache.TryTake("later", out _));
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void Zero_bytes_turns_it_off()
    {
        var cache = Cache(0, new ManualClock());
        cache.Add("a", new byte[1]);
        Assert.False(cache.TryTake("a", out _));
    }
}
