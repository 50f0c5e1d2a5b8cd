using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class SyncScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Small_folders_are_compared_every_cycle_and_large_ones_less_often_up_to_a_cap()
    {
        Assert.True(SyncSchedule.FullFlagCompareDue(Now.AddMinutes(-1), 500, Now)); // a wait step (IDLE) lasts minutes
        Assert.True(SyncSchedule.FullFlagCompareDue(null, 1_000_000, Now));
        Assert.False(SyncSchedule.FullFlagCompareDue(Now.AddMinutes(-5), 20_000, Now));
        Assert.True(SyncSchedule.FullFlagCompareDue(Now.AddMinutes(-10), 20_000, Now));
        Assert.Equal(TimeSpan.FromMinutes(30), SyncSchedule.FullFlagCompareInterval(10_000_000));
        Assert.True(SyncSchedule.FullFlagCompareInterval(40_000) > SyncSchedule.FullFlagCompareInterval(20_000));
    }
}
