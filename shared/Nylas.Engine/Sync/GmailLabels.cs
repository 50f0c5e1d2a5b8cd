using MailKit;
using MailKit.Net.Imap;

namespace Nylas.Engine.Sync;

/// <summary>
/// Gmail (X-GM-EXT-1): every LIST entry is a label, but a message sits in All Mail (or Trash, or Spam) once,
/// whatever its labels; so only those three are synced for messages and X-GM-LABELS says where else it shows.
/// </summary>
public static class GmailLabels
{
    /// <summary>What each summary fetch also asks a Gmail server for.</summary>
    public const MessageSummaryItems SummaryItems = MessageSummaryItems.GMailMessageId | MessageSummaryItems.GMailThreadId | MessageSummaryItems.GMailLabels;

    public static bool IsLabelServer(ImapClient client) => client.Capabilities.HasFlag(ImapCapabilities.GMailExt1);

    /// <summary>The folders whose messages are synced on a label account: every message is in exactly one of them.</summary>
    public static bool IsSynced(string? role) => role is "all" or "trash" or "spam";

    // X-GM-LABELS names system labels with a backslash; they map to the folders rows with these roles.
    private static readonly Dictionary<string, string> SystemLabelRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        [@"\Inbox"] = FolderRoles.Inbox, [@"\Important"] = "important", [@"\Sent"] = "sent", [@"\Draft"] = "drafts",
        [@"\Starred"] = "starred", [@"\Trash"] = "trash", [@"\Spam"] = "spam",
    };

    /// <summary>The name a label row goes by in X-GM-LABELS: a system label's backslash name, else the label's full name.</summary>
    public static string LabelName(string? role, string name)
        => role is not null && SystemLabelRoles.FirstOrDefault(p => p.Value == role).Key is { } system ? system : name;

    /// <summary>X-GM-LABELS → the label rows, for the account's current folder list.</summary>
    public sealed class Map(IEnumerable<FolderState> labels)
    {
        private readonly Dictionary<string, long> _byRole = labels.Where(l => l.Role is not null).GroupBy(l => l.Role!).ToDictionary(g => g.Key, g => g.Min(l => l.Id));
        private readonly Dictionary<string, long> _byName = labels.ToDictionary(l => l.Name, l => l.Id, StringComparer.Ordinal);

        /// <summary>Label row ids, sorted; labels hidden from IMAP (no LIST entry) and unknown system labels are left out.</summary>
        public long[] Resolve(IEnumerable<string>? gmailLabels)
        {
            var ids = new SortedSet<long>();
            foreach (var label in gmailLabels ?? [])
            {
                if (label.StartsWith('\\'))
                {
                    if (SystemLabelRoles.TryGetValue(label, out var role) && _byRole.TryGetValue(role, out long id)) ids.Add(id);
                }
                else if (_byName.TryGetValue(label, out long id))
                {
                    ids.Add(id);
                }
            }
            return [.. ids];
        }
    }
}

/// <summary>What Gmail says about one synced location: its X-GM-MSGID, X-GM-THRID and labels.</summary>
public sealed record GmailLocation(uint Uid, ulong MessageId, ulong ThreadId, long[] LabelIds);
