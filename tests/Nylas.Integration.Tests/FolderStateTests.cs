using Nylas.Engine.Sync;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>When a folder whose status did not move is still visited by the next sync step.</summary>
public class FolderStateTests
{
    private static FolderState Folder(uint high, uint low, int mirrored = 0, int holes = 0)
        => new(1, "pid", "Work", "Work", null, 7, 100, high, low, Holes: holes, Mirrored: mirrored);

    [Fact]
    public void A_folder_never_synced_is_visited_while_the_server_counts_messages_in_it()
    {
        // A step that found it empty left it unsynced with its listed status: the next listing alone must not skip it.
        Assert.True(Folder(high: 0, low: 0).NeedsReconciling(serverCount: 41));
        Assert.False(Folder(high: 0, low: 0).NeedsReconciling(serverCount: 0));
    }

    [Fact]
    public void A_synced_folder_is_visited_when_its_counts_differ_or_it_has_holes()
    {
        Assert.False(Folder(high: 50, low: 0, mirrored: 41).NeedsReconciling(serverCount: 41));
        Assert.True(Folder(high: 50, low: 0, mirrored: 40).NeedsReconciling(serverCount: 41));
        Assert.True(Folder(high: 50, low: 0, mirrored: 41, holes: 1).NeedsReconciling(serverCount: 41));
        // Still backfilling: the counts differ until the backfill ends, which the step goes on with anyway.
        Assert.False(Folder(high: 50, low: 10, mirrored: 30).NeedsReconciling(serverCount: 41));
    }
}
