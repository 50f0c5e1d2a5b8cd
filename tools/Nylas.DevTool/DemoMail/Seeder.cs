using MailKit;
using MailKit.Net.Imap;
using MimeKit;

namespace Nylas.DevTool.DemoMail;

/// <summary>Uploads the generated demo mailbox over IMAP, once.</summary>
internal static class Seeder
{
    private static readonly string[] DisplayOrder = [DemoMailGenerator.Inbox, DemoMailGenerator.Sent, DemoMailGenerator.Archive];

    public static async Task SeedAsync(ImapSettings imap, string userName, CancellationToken ct)
    {
        var client = await ImapSession.OpenAsync(imap, ct);
        try
        {
            // A non-empty INBOX means a previous run completed (INBOX is appended last), so
            // running seed again must not duplicate anything.
            await client.Inbox.StatusAsync(StatusItems.Count, ct);
            if (client.Inbox.Count > 0)
            {
                Log.Info($"mailbox already seeded ({client.Inbox.Count} messages)");
                return;
            }

            var messages = DemoMailGenerator.Generate(new MailboxAddress(userName, imap.User), DateTimeOffset.UtcNow);
            var useMultiAppend = client.Capabilities.HasFlag(ImapCapabilities.MultiAppend);
            var counts = new Dictionary<string, int>();
            // INBOX last: see above. MULTIAPPEND is atomic, so INBOX is either complete or empty.
            foreach (var group in messages.GroupBy(m => m.Folder).OrderBy(g => g.Key == DemoMailGenerator.Inbox))
            {
                var folder = await GetOrCreateFolderAsync(client, group.Key, ct);
                var requests = group
                    .OrderBy(m => m.InternalDate) // UIDs in date order, like real delivery
                    .Select(m => (IAppendRequest)new AppendRequest(m.Message, m.Flags, m.InternalDate))
                    .ToList();
                await AppendAsync(folder, requests, useMultiAppend, ct);
                counts[group.Key] = requests.Count;
            }

            var perFolder = counts.OrderBy(c => Array.IndexOf(DisplayOrder, c.Key) is var i and >= 0 ? i : int.MaxValue)
                .Select(c => $"{c.Key} {c.Value}");
            Log.Info($"seeded {messages.Count} messages ({string.Join(", ", perFolder)})");
        }
        catch (Exception ex) when (ex is ImapCommandException or ImapProtocolException or FolderNotFoundException or IOException)
        {
            throw new ToolException($"seeding {imap.User} at {imap.Host}:{imap.Port} failed: {ex.Message}", ex);
        }
        finally
        {
            await ImapSession.CloseAsync(client);
        }
    }

    private static async Task AppendAsync(IMailFolder folder, IList<IAppendRequest> requests, bool useMultiAppend, CancellationToken ct)
    {
        if (useMultiAppend)
        {
            await folder.AppendAsync(requests, ct);
            return;
        }
        foreach (var request in requests)
            await folder.AppendAsync(request, ct);
    }

    /// <summary>
    /// Finds the folder by special use first (the server may call Sent "Sent Items"), then by name,
    /// and creates it under the personal namespace when it does not exist.
    /// </summary>
    private static async Task<IMailFolder> GetOrCreateFolderAsync(ImapClient client, string name, CancellationToken ct)
    {
        if (name == DemoMailGenerator.Inbox)
            return client.Inbox;

        var specialUse = name switch
        {
            DemoMailGenerator.Sent => SpecialFolder.Sent,
            DemoMailGenerator.Archive => SpecialFolder.Archive,
            _ => (SpecialFolder?)null,
        };
        if (specialUse is { } use && client.Capabilities.HasFlag(ImapCapabilities.SpecialUse))
        {
            var special = client.GetFolder(use);
            if (special is not null)
                return special;
        }

        var root = client.PersonalNamespaces.Count > 0 ? client.GetFolder(client.PersonalNamespaces[0]) : client.Inbox;
        try
        {
            return await root.GetSubfolderAsync(name, ct);
        }
        catch (FolderNotFoundException)
        {
            Log.Info($"creating folder {name}");
            return await root.CreateAsync(name, isMessageFolder: true, ct)
                   ?? throw new ToolException($"could not create folder {name}");
        }
    }
}
