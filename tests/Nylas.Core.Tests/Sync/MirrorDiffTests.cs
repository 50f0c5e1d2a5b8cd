using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class MirrorDiffTests
{
    private static readonly Dictionary<uint, string> StoredFlags = new() { [1] = @"\Seen", [2] = "", [3] = @"\Flagged \Seen" };

    [Fact]
    public void Only_mirrored_uids_whose_flags_differ_are_changes()
    {
        var diff = new MirrorDiff(StoredFlags, new Dictionary<uint, long[]>());
        diff.Observe(1, @"\Seen", null);          // unchanged
        diff.Observe(2, @"\Seen", null);          // read since
        diff.Observe(3, "", null);                // unflagged and unread
        diff.Observe(9, @"\Seen", null);          // not mirrored: new mail, fetched by the next step
        Assert.Equal([(2u, @"\Seen"), (3u, "")], diff.FlagChanges);
        Assert.Empty(diff.LabelChanges);
    }

    [Fact]
    public void Label_changes_are_compared_only_on_label_accounts_and_only_for_uids_with_stored_labels()
    {
        var storedLabels = new Dictionary<uint, long[]> { [1] = [10, 20], [4] = [10] };
        var diff = new MirrorDiff(StoredFlags, storedLabels);
        diff.Observe(1, @"\Seen", [10, 20]);      // same labels
        diff.Observe(4, "", [10, 30]);            // labelled while waiting for ingest: not in the flags mirror, still a label change
        diff.Observe(2, "", [10]);                // no stored labels
        Assert.Empty(diff.FlagChanges);
        Assert.Equal([4u], diff.LabelChanges.Select(c => c.Uid));
        Assert.Equal([10L, 30L], diff.LabelChanges[0].LabelIds);

        var folderAccount = new MirrorDiff(StoredFlags, storedLabels);
        folderAccount.Observe(4, "", null);
        Assert.Empty(folderAccount.LabelChanges);
    }

    [Fact]
    public void Removing_every_label_is_a_change()
    {
        var diff = new MirrorDiff(StoredFlags, new Dictionary<uint, long[]> { [1] = [10] });
        diff.Observe(1, @"\Seen", []);
        Assert.Equal([1u], diff.LabelChanges.Select(c => c.Uid));
        Assert.Empty(diff.LabelChanges[0].LabelIds);
    }

    [Fact]
    public void Expunged_are_the_mirrored_uids_the_server_no_longer_has_including_label_only_ones()
    {
        var diff = new MirrorDiff(StoredFlags, new Dictionary<uint, long[]> { [3] = [10], [5] = [10] });
        Assert.Equal([2u, 5u], diff.Expunged(new HashSet<uint> { 1, 3, 7 }).Order());
        Assert.Empty(diff.Expunged(new HashSet<uint> { 1, 2, 3, 5 }));
        Assert.Equal([1u, 2u, 3u, 5u], diff.Expunged(new HashSet<uint>()).Order());
    }

    [Fact]
    public void A_uid_within_the_checkpoint_that_is_not_mirrored_is_missing()
    {
        var diff = new MirrorDiff(StoredFlags, new Dictionary<uint, long[]>());
        // Checkpoint (0, 5]: 4 was fetched and queued but is not in the mirror.
        Assert.Equal([4u], diff.Missing([4, 1, 2, 3], syncedLowUid: 0, syncedHighUid: 5));
        Assert.Empty(diff.Missing([1, 2, 3], syncedLowUid: 0, syncedHighUid: 5));
        // Above the checkpoint is new mail, at or below the low end is backfill not fetched yet: neither is missing.
        Assert.Empty(diff.Missing([1, 2, 3, 6], syncedLowUid: 0, syncedHighUid: 5));
        Assert.Empty(diff.Missing([1, 2, 3], syncedLowUid: 1, syncedHighUid: 3));
        Assert.Empty(diff.Missing([0, 2], syncedLowUid: 0, syncedHighUid: 3));
        Assert.Equal([4u], diff.Missing([4], syncedLowUid: 3, syncedHighUid: 4));
    }
}
