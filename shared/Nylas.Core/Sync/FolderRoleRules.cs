namespace Nylas.Core.Sync;

/// <summary>The attributes of a LIST entry that name a folder's purpose (RFC 6154 SPECIAL-USE, plus XLIST's \Inbox).</summary>
[Flags]
public enum SpecialUse
{
    None = 0,
    Inbox = 1 << 0,
    Sent = 1 << 1,
    Drafts = 1 << 2,
    Trash = 1 << 3,
    Junk = 1 << 4,
    Archive = 1 << 5,
    All = 1 << 6,
    Important = 1 << 7,
    Flagged = 1 << 8,
}

/// <summary>Folder roles (the v2 folder <c>name</c>): from SPECIAL-USE attributes first, then well-known localized names.</summary>
public static class FolderRoleRules
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

    /// <summary>
    /// The role of a folder, or null for the user's own folders. <paramref name="name"/> is the last segment
    /// of <paramref name="fullName"/>; <paramref name="parentFullName"/> is null or empty for a folder at the
    /// root of the personal namespace.
    /// </summary>
    public static string? Resolve(string fullName, string name, string? parentFullName, SpecialUse specialUse)
    {
        if (IsInbox(fullName) || specialUse.HasFlag(SpecialUse.Inbox)) return Inbox;
        if (specialUse.HasFlag(SpecialUse.Sent)) return "sent";
        if (specialUse.HasFlag(SpecialUse.Drafts)) return "drafts";
        if (specialUse.HasFlag(SpecialUse.Trash)) return "trash";
        if (specialUse.HasFlag(SpecialUse.Junk)) return "spam";
        if (specialUse.HasFlag(SpecialUse.Archive)) return "archive";
        if (specialUse.HasFlag(SpecialUse.All)) return "all";
        if (specialUse.HasFlag(SpecialUse.Important)) return "important";
        if (specialUse.HasFlag(SpecialUse.Flagged)) return "starred";
        // Names only count for top-level folders (INBOX's children are top level on servers that nest under it):
        // "Clients/Archive" is the user's own folder.
        return string.IsNullOrEmpty(parentFullName) || IsInbox(parentFullName) ? ByName.GetValueOrDefault(name) : null;
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

    private static bool IsInbox(string fullName) => fullName.Equals("INBOX", StringComparison.OrdinalIgnoreCase);
}
