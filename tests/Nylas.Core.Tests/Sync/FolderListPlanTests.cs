using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class FolderListPlanTests
{
    private static FolderListStep Keep(string name, long id) => new(name, FolderListAction.Keep, id);
    private static FolderListStep Rename(string name, long id) => new(name, FolderListAction.Rename, id);
    private static FolderListStep Create(string name) => new(name, FolderListAction.Create, null);

    [Fact]
    public void Unchanged_folders_are_kept()
    {
        var plan = FolderListPlan.Create(
            [new(1, "INBOX", 10), new(2, "Sent", 20)],
            [new("INBOX", 10), new("Sent", 20)]);
        Assert.Equal([Keep("INBOX", 1), Keep("Sent", 2)], plan.Steps);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void A_folder_that_vanished_while_one_with_its_uidvalidity_appeared_is_renamed_and_keeps_its_id()
    {
        var plan = FolderListPlan.Create(
            [new(1, "INBOX", 10), new(2, "Projects", 20)],
            [new("INBOX", 10), new("Clients", 20)]);
        Assert.Equal([Keep("INBOX", 1), Rename("Clients", 2)], plan.Steps);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void A_new_name_with_another_uidvalidity_is_a_delete_and_a_create()
    {
        var plan = FolderListPlan.Create(
            [new(1, "INBOX", 10), new(2, "Projects", 20)],
            [new("INBOX", 10), new("Clients", 21)]);
        Assert.Equal([Keep("INBOX", 1), Create("Clients")], plan.Steps);
        Assert.Equal([2L], plan.Deleted);
    }

    [Fact]
    public void New_folders_are_created_and_vanished_ones_deleted_in_the_mirrors_order()
    {
        var plan = FolderListPlan.Create(
            [new(1, "INBOX", 10), new(5, "Old B", 50), new(3, "Old A", 30)],
            [new("INBOX", 10), new("New", 40)]);
        Assert.Equal([Keep("INBOX", 1), Create("New")], plan.Steps);
        Assert.Equal([5L, 3L], plan.Deleted);
    }

    [Fact]
    public void Two_folders_swapping_names_keep_their_names_and_ids_and_the_uidvalidity_change_is_left_to_the_reset()
    {
        // Same name means same folder: the swapped UIDVALIDITY makes each one resync when it is opened.
        var plan = FolderListPlan.Create(
            [new(1, "A", 100), new(2, "B", 200)],
            [new("A", 200), new("B", 100)]);
        Assert.Equal([Keep("A", 1), Keep("B", 2)], plan.Steps);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void Empty_lists()
    {
        var nothing = FolderListPlan.Create([], []);
        Assert.Empty(nothing.Steps);
        Assert.Empty(nothing.Deleted);

        var firstSync = FolderListPlan.Create([], [new("INBOX", 10), new("Sent", 20)]);
        Assert.Equal([Create("INBOX"), Create("Sent")], firstSync.Steps);
        Assert.Empty(firstSync.Deleted);

        var allGone = FolderListPlan.Create([new(1, "INBOX", 10), new(2, "Sent", 20)], []);
        Assert.Empty(allGone.Steps);
        Assert.Equal([1L, 2L], allGone.Deleted);
    }

    [Fact]
    public void An_unknown_uidvalidity_never_makes_a_rename()
    {
        // The server did not tell (0) or the vanished folder was never synced (null).
        var plan = FolderListPlan.Create(
            [new(1, "Projects", 0), new(2, "Drafts old", null)],
            [new("Clients", 0), new("Drafts", 0)]);
        Assert.Equal([Create("Clients"), Create("Drafts")], plan.Steps);
        Assert.Equal([1L, 2L], plan.Deleted);
    }

    [Fact]
    public void A_uidvalidity_shared_by_two_new_folders_renames_only_the_first_listed_and_creates_the_other()
    {
        // Ambiguous, and the planner does not look further: the listed order (the sync order) decides, as it always has.
        var plan = FolderListPlan.Create(
            [new(1, "INBOX", 10), new(2, "Projects", 20)],
            [new("INBOX", 10), new("Clients", 20), new("Customers", 20)]);
        Assert.Equal([Keep("INBOX", 1), Rename("Clients", 2), Create("Customers")], plan.Steps);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void A_uidvalidity_shared_by_two_vanished_folders_renames_the_first_in_the_mirrors_order_and_deletes_the_other()
    {
        var plan = FolderListPlan.Create(
            [new(7, "Projects", 20), new(3, "Work", 20)],
            [new("Clients", 20)]);
        Assert.Equal([Rename("Clients", 7)], plan.Steps);
        Assert.Equal([3L], plan.Deleted);
    }

    [Fact]
    public void A_name_match_wins_over_a_uidvalidity_match()
    {
        // "Archive" still exists under its name, so the new "Old mail" with its UIDVALIDITY is not a rename of it.
        var plan = FolderListPlan.Create(
            [new(1, "Archive", 30)],
            [new("Archive", 31), new("Old mail", 30)]);
        Assert.Equal([Keep("Archive", 1), Create("Old mail")], plan.Steps);
        Assert.Empty(plan.Deleted);
    }

    [Fact]
    public void Names_are_compared_exactly()
    {
        // IMAP mailbox names other than INBOX are case-sensitive: "projects" is a different folder.
        var plan = FolderListPlan.Create([new(1, "Projects", 20)], [new("projects", 21)]);
        Assert.Equal([Create("projects")], plan.Steps);
        Assert.Equal([1L], plan.Deleted);
    }

    [Fact]
    public void Steps_follow_the_listed_order()
    {
        var plan = FolderListPlan.Create(
            [new(1, "Sent", 20), new(2, "INBOX", 10), new(3, "Gone", 40)],
            [new("INBOX", 10), new("Sent", 20), new("Renamed", 40), new("New", 50)]);
        Assert.Equal(["INBOX", "Sent", "Renamed", "New"], plan.Steps.Select(s => s.Name));
        Assert.Equal([Keep("INBOX", 2), Keep("Sent", 1), Rename("Renamed", 3), Create("New")], plan.Steps);
    }
}
