using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class FolderStatusTests
{
    private static readonly FolderStatus Synced = new(UidValidity: 7, UidNext: 41, Messages: 40, HighestModSeq: 900);

    [Fact]
    public void A_token_round_trips_and_garbage_is_no_token()
    {
        Assert.Equal(Synced, FolderStatus.Parse(Synced.Token));
        Assert.Equal("7:41:40:900", Synced.Token);
        Assert.Null(FolderStatus.Parse(null));
        Assert.Null(FolderStatus.Parse(""));
        Assert.Null(FolderStatus.Parse("7:41:40"));
        Assert.Null(FolderStatus.Parse("7:41:-1:900"));
        Assert.Null(FolderStatus.Parse("a:41:40:900"));
    }

    [Fact]
    public void An_unchanged_folder_is_skipped_and_any_moved_counter_is_synced()
    {
        Assert.True(FolderStatusRules.CanSkip(Synced.Token, Synced, condStore: true, fullCompareDue: true));
        Assert.False(FolderStatusRules.CanSkip(Synced.Token, Synced with { UidNext = 42 }, condStore: true, fullCompareDue: false)); // appended
        Assert.False(FolderStatusRules.CanSkip(Synced.Token, Synced with { Messages = 39 }, condStore: true, fullCompareDue: false)); // expunged
        Assert.False(FolderStatusRules.CanSkip(Synced.Token, Synced with { HighestModSeq = 901 }, condStore: true, fullCompareDue: false)); // a flag changed
        Assert.False(FolderStatusRules.CanSkip(Synced.Token, Synced with { UidValidity = 8 }, condStore: true, fullCompareDue: false)); // reset
    }

    [Fact]
    public void A_folder_never_completely_synced_or_with_an_incomplete_status_is_synced()
    {
        Assert.False(FolderStatusRules.CanSkip(null, Synced, condStore: true, fullCompareDue: false));
        Assert.False(FolderStatusRules.CanSkip(Synced.Token, Synced with { UidNext = 0 }, condStore: true, fullCompareDue: false));
        Assert.False(FolderStatusRules.CanSkip(Synced.Token, Synced with { UidValidity = 0 }, condStore: true, fullCompareDue: false));
        var noModSeq = Synced with { HighestModSeq = 0 };
        Assert.False(FolderStatusRules.CanSkip(noModSeq.Token, noModSeq, condStore: true, fullCompareDue: false));
    }

    [Fact]
    public void Without_condstore_a_folder_is_synced_when_its_full_flag_comparison_is_due()
    {
        var plain = Synced with { HighestModSeq = 0 };
        Assert.True(FolderStatusRules.CanSkip(plain.Token, plain, condStore: false, fullCompareDue: false));
        Assert.False(FolderStatusRules.CanSkip(plain.Token, plain, condStore: false, fullCompareDue: true));
    }

    [Fact]
    public void Moved_names_new_vanished_and_changed_folders_but_not_unchanged_ones()
    {
        var before = new Dictionary<string, FolderStatus> { ["INBOX"] = Synced, ["Archive"] = Synced, ["Old"] = Synced, ["Same"] = Synced };
        var after = new Dictionary<string, FolderStatus>
        {
            ["INBOX"] = Synced with { UidNext = 42 },
            ["Archive"] = Synced with { HighestModSeq = 901 },
            ["New"] = Synced,
            ["Same"] = Synced,
        };
        Assert.Equal(["Archive", "INBOX", "New", "Old"], FolderStatusRules.Moved(before, after));
        Assert.Empty(FolderStatusRules.Moved(after, after));
    }
}
