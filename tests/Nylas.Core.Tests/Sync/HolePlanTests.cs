using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class HolePlanTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 18, 0, 0, TimeSpan.Zero);

    private static Dictionary<uint, Hole> Recorded(params Hole[] holes) => holes.ToDictionary(h => h.Uid);

    [Fact]
    public void A_new_hole_is_recorded_and_waits_for_its_queued_ingest()
    {
        var plan = HolePlan.Create([7u, 9u], Recorded(), 0, 10, Now);
        Assert.Equal([7u, 9u], plan.Found);
        Assert.Empty(plan.Due);
        Assert.Empty(plan.Healed);
        Assert.Equal(2, plan.Waiting);
    }

    [Fact]
    public void A_hole_past_its_grace_is_fetched_again_and_one_that_healed_is_forgotten()
    {
        var plan = HolePlan.Create([7u], Recorded(new Hole(7, Now.AddMinutes(-20), 0, Now.AddMinutes(-10)), new Hole(8, Now.AddMinutes(-20), 0, Now.AddMinutes(-10))), 0, 10, Now);
        Assert.Equal([7u], plan.Due.Select(h => h.Uid));
        Assert.Equal([8u], plan.Healed);
        Assert.Empty(plan.Found);
        // Fetched again this pass: its flags are current, so it holds nothing back.
        Assert.Equal(0, plan.Waiting);
    }

    [Fact]
    public void A_quarantined_hole_waits_without_holding_the_folder_back_and_holes_outside_the_compared_range_stay()
    {
        var plan = HolePlan.Create([7u], Recorded(new Hole(7, Now.AddHours(-2), 3, Now.AddHours(1)), new Hole(20, Now, 1, Now.AddHours(1))), 0, 10, Now);
        Assert.Empty(plan.Due);
        Assert.Empty(plan.Healed);
        Assert.Equal(0, plan.Waiting);
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(4, 80)]
    [InlineData(10, 360)]
    [InlineData(1000, 360)]
    public void The_wait_doubles_with_each_attempt_up_to_the_maximum(int attempts, int minutes)
        => Assert.Equal(TimeSpan.FromMinutes(minutes), HolePlan.RetryWait(attempts, TimeSpan.FromMinutes(10), TimeSpan.FromHours(6)));
}
