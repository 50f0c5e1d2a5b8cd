using Nylas.Core.Sync;
using Xunit;

namespace Nylas.Core.Tests.Sync;

public class FolderRoleRulesTests
{
    [Theory]
    [InlineData(SpecialUse.Inbox, "inbox")]
    [InlineData(SpecialUse.Sent, "sent")]
    [InlineData(SpecialUse.Drafts, "drafts")]
    [InlineData(SpecialUse.Trash, "trash")]
    [InlineData(SpecialUse.Junk, "spam")]
    [InlineData(SpecialUse.Archive, "archive")]
    [InlineData(SpecialUse.All, "all")]
    [InlineData(SpecialUse.Important, "important")]
    [InlineData(SpecialUse.Flagged, "starred")]
    public void Each_special_use_attribute_gives_its_role_whatever_the_folder_is_called(SpecialUse use, string role)
    {
        Assert.Equal(role, FolderRoleRules.Resolve("Stuff", "Stuff", null, use));
        // Even below another folder: the server said what it is.
        Assert.Equal(role, FolderRoleRules.Resolve("Clients/Stuff", "Stuff", "Clients", use));
    }

    [Theory]
    [InlineData("INBOX")]
    [InlineData("Inbox")]
    [InlineData("inbox")]
    public void Inbox_is_recognised_by_name_in_any_case(string fullName)
        => Assert.Equal("inbox", FolderRoleRules.Resolve(fullName, fullName, null, SpecialUse.None));

    [Theory]
    [InlineData("Sent", "sent")]
    [InlineData("Sent Items", "sent")]
    [InlineData("Gesendet", "sent")]
    [InlineData("Éléments envoyés", "sent")]
    [InlineData("Отправленные", "sent")]
    [InlineData("Drafts", "drafts")]
    [InlineData("Entwürfe", "drafts")]
    [InlineData("Brouillons", "drafts")]
    [InlineData("Trash", "trash")]
    [InlineData("Deleted Items", "trash")]
    [InlineData("Papierkorb", "trash")]
    [InlineData("Корзина", "trash")]
    [InlineData("Junk", "spam")]
    [InlineData("Junk E-mail", "spam")]
    [InlineData("Courrier indésirable", "spam")]
    [InlineData("Archive", "archive")]
    [InlineData("Archiv", "archive")]
    [InlineData("All Mail", "all")]
    [InlineData("Important", "important")]
    [InlineData("sent items", "sent")]
    [InlineData("TRASH", "trash")]
    public void Well_known_localized_names_give_a_role_at_the_top_level(string name, string role)
    {
        Assert.Equal(role, FolderRoleRules.Resolve(name, name, null, SpecialUse.None));
        Assert.Equal(role, FolderRoleRules.Resolve(name, name, "", SpecialUse.None));
        // Servers that nest every folder under INBOX (INBOX.Sent) keep those names meaningful.
        Assert.Equal(role, FolderRoleRules.Resolve("INBOX." + name, name, "INBOX", SpecialUse.None));
    }

    [Theory]
    [InlineData("Clients/Archive", "Archive", "Clients")]
    [InlineData("Projects/2025/Sent", "Sent", "Projects/2025")]
    [InlineData("INBOX.Clients.Trash", "Trash", "INBOX.Clients")]
    public void A_well_known_name_below_a_user_folder_is_the_users_own_folder(string fullName, string name, string parent)
        => Assert.Null(FolderRoleRules.Resolve(fullName, name, parent, SpecialUse.None));

    [Theory]
    [InlineData("Receipts")]
    [InlineData("Sent Stuff")]
    [InlineData("Starred")] // starred only from \Flagged: no folder name claims it
    [InlineData("")]
    public void Other_folders_have_no_role(string name)
        => Assert.Null(FolderRoleRules.Resolve(name, name, null, SpecialUse.None));

    [Fact]
    public void Attributes_win_over_names_and_inbox_wins_over_everything()
    {
        Assert.Equal("trash", FolderRoleRules.Resolve("Sent", "Sent", null, SpecialUse.Trash));
        Assert.Equal("archive", FolderRoleRules.Resolve("Junk", "Junk", null, SpecialUse.Archive));
        Assert.Equal("inbox", FolderRoleRules.Resolve("INBOX", "INBOX", null, SpecialUse.Sent | SpecialUse.Trash));
        Assert.Equal("inbox", FolderRoleRules.Resolve("Posteingang", "Posteingang", null, SpecialUse.Inbox | SpecialUse.Sent));
    }

    [Theory]
    [InlineData(SpecialUse.Sent | SpecialUse.Drafts, "sent")]
    [InlineData(SpecialUse.Drafts | SpecialUse.Trash, "drafts")]
    [InlineData(SpecialUse.Trash | SpecialUse.Junk, "trash")]
    [InlineData(SpecialUse.Junk | SpecialUse.Archive, "spam")]
    [InlineData(SpecialUse.Archive | SpecialUse.All, "archive")]
    [InlineData(SpecialUse.All | SpecialUse.Important, "all")]
    [InlineData(SpecialUse.Important | SpecialUse.Flagged, "important")]
    public void When_a_folder_carries_several_attributes_the_first_in_a_fixed_order_wins(SpecialUse use, string role)
        => Assert.Equal(role, FolderRoleRules.Resolve("X", "X", null, use));

    [Fact]
    public void Inbox_syncs_first_then_system_folders_then_the_users_own()
    {
        string?[] roles = [null, "trash", "drafts", "all", "archive", "sent", "inbox", "spam"];
        var ordered = roles.OrderBy(FolderRoleRules.Priority).ToList();
        Assert.Equal("inbox", ordered[0]);
        Assert.Equal("sent", ordered[1]);
        Assert.Equal(["all", "archive"], ordered.Skip(2).Take(2).Order().ToList());
        Assert.Equal("drafts", ordered[4]);
        Assert.Equal(["spam", "trash"], ordered.Skip(5).Take(2).Order().ToList());
        Assert.Null(ordered[^1]);
    }
}
