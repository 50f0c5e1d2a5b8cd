using MailKit;
using Nylas.Core.Sync;

namespace Nylas.Engine.Sync;

/// <summary>MailKit's view of a folder mapped onto <see cref="FolderRoleRules"/>.</summary>
public static class FolderRoles
{
    public const string Inbox = FolderRoleRules.Inbox;

    private static readonly (FolderAttributes Attribute, SpecialUse Use)[] SpecialUses =
    [
        (FolderAttributes.Inbox, SpecialUse.Inbox), (FolderAttributes.Sent, SpecialUse.Sent), (FolderAttributes.Drafts, SpecialUse.Drafts),
        (FolderAttributes.Trash, SpecialUse.Trash), (FolderAttributes.Junk, SpecialUse.Junk), (FolderAttributes.Archive, SpecialUse.Archive),
        (FolderAttributes.All, SpecialUse.All), (FolderAttributes.Important, SpecialUse.Important), (FolderAttributes.Flagged, SpecialUse.Flagged),
    ];

    public static string? Resolve(IMailFolder folder)
        => FolderRoleRules.Resolve(folder.FullName, folder.Name, folder.ParentFolder?.FullName, ToSpecialUse(folder.Attributes));

    public static SpecialUse ToSpecialUse(FolderAttributes attributes)
    {
        var use = SpecialUse.None;
        foreach (var (attribute, special) in SpecialUses)
            if (attributes.HasFlag(attribute)) use |= special;
        return use;
    }

    /// <inheritdoc cref="FolderRoleRules.Priority"/>
    public static int Priority(string? role) => FolderRoleRules.Priority(role);
}
