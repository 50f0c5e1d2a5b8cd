using System.Text.Json.Serialization;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Calendars;
using Nylas.Engine.Api.Contacts;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Files;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Threads;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Delta;

/// <summary>One entry of a /delta answer, v2 shape. <see cref="Attributes"/> is the object as its own endpoint shows it, absent on delete.</summary>
public sealed record ApiDelta(
    [property: JsonPropertyName("cursor")] string Cursor,
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("attributes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] object? Attributes);

/// <summary>A /delta or /delta/longpoll answer.</summary>
public sealed record ApiDeltaPage(
    [property: JsonPropertyName("cursor_start")] string CursorStart,
    [property: JsonPropertyName("cursor_end")] string CursorEnd,
    [property: JsonPropertyName("deltas")] IReadOnlyList<ApiDelta> Deltas);

/// <summary>Turns change-log entries into v2 deltas: names, filtering by type, collapsing repeats, and each object's current attributes.</summary>
public sealed class DeltaObjects(
    MessageQueries messages, ThreadQueries threads, ContactsApi contacts, CalendarsApi calendars, EventsApi events,
    FilesApi files, FoldersApi folders)
{
    /// <summary>Every object type a client may name in include_types / exclude_types (v2's list, plus account).</summary>
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
        { "message", "thread", "draft", "folder", "label", "contact", "calendar", "event", "file", "account", "metadata" };

    /// <summary>The v2 object name of an entry: the change log says folder for both folders and Gmail labels.</summary>
    public static string ObjectOf(ChangeEntry entry, Account account)
        => entry.ObjectType == "folder" && account.UsesLabels ? "label" : entry.ObjectType;

    public static string EventOf(string command) => command switch
    {
        "insert" => "create",
        "delete" => "delete",
        _ => "modify",
    };

    /// <summary>
    /// The deltas of <paramref name="entries"/> that pass <paramref name="wanted"/>. Repeats of one (object, event) in the
    /// page collapse to the latest, as v2 did; an object deleted since its create/modify entry is left out (its delete follows).
    /// </summary>
    public async Task<List<ApiDelta>> RenderAsync(Account account, IReadOnlyList<ChangeEntry> entries, Func<string, bool> wanted, bool expanded, CancellationToken ct)
    {
        var kept = new List<(ChangeEntry Entry, string Object, string Event)>();
        var last = new Dictionary<(string, string, string), int>();
        for (int i = 0; i < entries.Count; i++)
        {
            string obj = ObjectOf(entries[i], account);
            if (!wanted(obj)) continue;
            string ev = EventOf(entries[i].Command);
            kept.Add((entries[i], obj, ev));
            last[(obj, entries[i].ObjectPublicId, ev)] = kept.Count - 1;
        }
        kept = kept.Where((k, i) => last[(k.Object, k.Entry.ObjectPublicId, k.Event)] == i).ToList();

        var attributes = await LoadAsync(account, kept.Where(k => k.Event != "delete").Select(k => (k.Object, k.Entry.ObjectPublicId)).Distinct().ToList(), expanded, ct);
        var deltas = new List<ApiDelta>(kept.Count);
        foreach (var (entry, obj, ev) in kept)
        {
            object? attrs = null;
            if (ev != "delete" && !attributes.TryGetValue((obj, entry.ObjectPublicId), out attrs)) continue;
            deltas.Add(new ApiDelta(ChangeCursor.Encode(account.PublicId, entry.Seq), ev, obj, entry.ObjectPublicId, attrs));
        }
        return deltas;
    }

    private async Task<Dictionary<(string, string), object>> LoadAsync(Account account, List<(string Object, string Id)> wanted, bool expanded, CancellationToken ct)
    {
        var found = new Dictionary<(string, string), object>();
        var messageIds = wanted.Where(w => w.Object is "message" or "draft").Select(w => w.Id).ToList();
        if (messageIds.Count > 0)
            foreach (var m in await messages.ListByIdsAsync(account, messageIds, messageIds.Count, 0, expanded, ct))
                found[(m.Object, m.Id)] = m;
        Dictionary<string, Nylas.Core.Api.ApiFolder>? allFolders = null;
        foreach (var (obj, id) in wanted)
        {
            object? value = obj switch
            {
                "thread" => await threads.GetAsync(account, id, expanded, ct),
                "contact" => await contacts.FindAsync(account, id, ct),
                "calendar" => (await calendars.LoadAsync(account, id, ct)).FirstOrDefault(),
                "event" => await events.FindAsync(account, id, ct),
                "file" => await files.FindFileAsync(account, id, ct),
                "folder" or "label" => (allFolders ??= await folders.AllAsync(account, ct)).GetValueOrDefault(id),
                "account" when id == account.PublicId => AccountsApi.ToApi(account),
                _ => null,
            };
            if (value is not null) found[(obj, id)] = value;
        }
        return found;
    }
}
