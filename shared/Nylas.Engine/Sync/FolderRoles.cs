using MailKit;

namespace Nylas.Engine.Sync;

/// <summary>Folder roles (the v2 folder <c>name</c>): from SPECIAL-USE attributes first, then well-known localized names.</summary>
public static class FolderRoles
{
    public const string Inbox = "inbox";

    private static readonly Dictionary<string, string> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Sent"] = "sent", ["Sent Items"] = "sent", ["Sent Messages"] = "sent", ["Sent Mail"] = "sent", ["Gesendet"] = "sent",
        ["Gesendete Elemente"] = "sent", ["Envoyés"] = "sent", ["Éléments envoyés"] = "sent", ["Enviados"] = "sent", ["Inviata"] = "sent",
        ["Posta inviata"] = "sent", ["Verzonden"] = "sent", ["Skickat"] = "sent", ["Отправленные"] = "sent",
        ["Drafts"] = "drafts", ["Draft"] = "drafts", ["Entwürfe"] = "drafts", ["Brouillons"] = "drafts", ["Borradores"] = "drafts",
        ["Bozze"] = "drafts", ["Concepten"] = "drafts", ["Utkast"] = "drafts", ["Черновики"] = "drafts",
        ["Trash"] = "trash", ["Deleted Items"] = "trash", ["Deleted Messages"] = "trash", ["Bin"] = "trash", ["Papierkorb"] = "trash",
        ["Gelöschte Elemente"] = "trash", ["Corbeille"] = "trash", ["Papelera"] = "trash", ["Cestino"] = "trash",
        ["Prullenbak"] = "trash", ["Papperskorgen"] = "trash", ["Корзина"] = "trash",
        ["Junk"] = "spam", ["Spam"] = "spam", ["Junk E-mail"] = "spam", ["Junk Email"] = "spam", ["Bulk Mail"] = "spam",
        ["Courrier indésirable"] = "spam", ["Correo no deseado"] = "spam", ["Posta indesiderata"] = "spam", ["Спам"] = "spam",
        ["Archive"] = "archive", ["Archives"] = "archive", ["Archiv"] = "archive", ["Archivio"] = "archive", ["Archivo"] = "archive",
        ["All Mail"] = "all", ["Important"] = "important",
    };

    public static string? Resolve(IMailFolder folder)
    {
        var a = folder.Attributes;
        if (folder.FullName.Equals("INBOX", StringComparison.OrdinalIgnoreCase) || a.HasFlag(FolderAttributes.Inbox)) return Inbox;
        if (a.HasFlag(FolderAttributes.Sent)) return "sent";
        if (a.HasFlag(FolderAttributes.Drafts)) return "drafts";
        if (a.HasFlag(FolderAttributes.Trash)) return "trash";
        if (a.HasFlag(FolderAttributes.Junk)) return "spam";
        if (a.HasFlag(FolderAttributes.Archive)) return "archive";
        if (a.HasFlag(FolderAttributes.All)) return "all";
        if (a.HasFlag(FolderAttributes.Important)) return "important";
        if (a.HasFlag(FolderAttributes.Flagged)) return "starred";
        // Names only count for top-level folders: "Clients/Archive" is the user's own folder.
        return folder.ParentFolder is { } parent && !string.IsNullOrEmpty(parent.FullName) && !parent.FullName.Equals("INBOX", StringComparison.OrdinalIgnoreCase)
            ? null
            : ByName.GetValueOrDefault(folder.Name);
    }

    /// <summary>Sync order: INBOX first (what users look at), then the other system folders, then the rest by name.</summary>
    public static int Priority(string? role) => role switch
    {
        Inbox => 0,
        "sent" => 1,
        "archive" or "all" => 2,
        "drafts" => 3,
        null => 5,
        _ => 4,
    };
}
