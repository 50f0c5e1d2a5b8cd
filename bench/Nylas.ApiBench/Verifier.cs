using System.Net.Http.Json;
using System.Text.Json;

namespace Nylas.ApiBench;

/// <summary>Checks that the API serves the seeded mailbox: order, ids, folders, threads, files, events, flags and counts.</summary>
public sealed class Verifier(Mailbox mailbox, SeededIds ids)
{
    public async Task<List<string>> CountsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        long messages = (await http.GetFromJsonAsync<JsonElement>("messages?view=count", cancellationToken)).GetProperty("count").GetInt64();
        long threads = (await http.GetFromJsonAsync<JsonElement>("threads?view=count", cancellationToken)).GetProperty("count").GetInt64();
        if (messages != mailbox.Messages.Count) problems.Add($"GET /messages?view=count = {messages}, seeded {mailbox.Messages.Count}");
        if (threads != mailbox.Threads.Count) problems.Add($"GET /threads?view=count = {threads}, seeded {mailbox.Threads.Count}");
        return problems;
    }

    /// <summary>Fetches one page; returns its public ids in order, the response size and what differs from the seed.</summary>
    public async Task<(List<string> Ids, long Bytes, List<string> Problems)> PageAsync(HttpClient http, string path, string kind, int offset, int limit, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var problems = new List<string>();
        if (!response.IsSuccessStatusCode) return ([], body.Length, [$"{path}: HTTP {(int)response.StatusCode}"]);
        using var json = JsonDocument.Parse(body);
        var items = json.RootElement.EnumerateArray().ToList();
        var listed = items.Select(i => i.GetProperty("id").GetString()!).ToList();
        if (items.Count != limit) problems.Add($"{path}: {items.Count} items, expected {limit}");
        if (kind == "messages") CheckMessages(path, items, offset, limit, problems);
        else CheckThreads(path, items, offset, limit, problems);
        return (listed, body.Length, problems);
    }

    private void CheckMessages(string path, List<JsonElement> items, int offset, int limit, List<string> problems)
    {
        var expected = mailbox.NewestFirst().Skip(offset).Take(limit).ToList();
        for (int i = 0; i < Math.Min(items.Count, expected.Count); i++)
        {
            var item = items[i];
            var m = expected[i];
            void Check(bool ok, string what) { if (!ok) problems.Add($"{path} [{i}] message {m.Index}: {what}"); }
            Check(item.GetProperty("id").GetString() == ids.MessagePublic[m.Index], "id / order");
            Check(item.GetProperty("thread_id").GetString() == ids.ThreadPublic[m.Thread], "thread_id");
            Check(item.GetProperty("subject").GetString() == m.Subject, "subject");
            Check(item.GetProperty("folder").GetProperty("id").GetString() == ids.FolderPublic[m.Folders.Min()], "folder (lowest-id location)");
            Check(item.GetProperty("unread").GetBoolean() == !m.Read, "unread");
            Check(item.GetProperty("starred").GetBoolean() == m.Starred, "starred");
            Check(item.GetProperty("from")[0].GetProperty("email").GetString() == m.From.Email, "from");
            Check(item.GetProperty("date").GetInt64() == m.DateUnix, "date");
            var files = item.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("id").GetString()).ToList();
            Check(files.SequenceEqual(m.Attachments.Select(a => ids.FilePublic[a.File.Index])), "files");
            Check(item.GetProperty("events").GetArrayLength() == (m.Invitation is null ? 0 : 1), "events");
            Check(item.GetProperty("body").GetString()!.Length >= m.BodyLength, "body");
        }
    }

    private void CheckThreads(string path, List<JsonElement> items, int offset, int limit, List<string> problems)
    {
        var expected = mailbox.Threads
            .OrderByDescending(t => t.Messages.Max(m => m.DateUnix)).ThenByDescending(t => ids.ThreadRow[t.Index])
            .Skip(offset).Take(limit).ToList();
        for (int i = 0; i < Math.Min(items.Count, expected.Count); i++)
        {
            var item = items[i];
            var t = expected[i];
            void Check(bool ok, string what) { if (!ok) problems.Add($"{path} [{i}] thread {t.Index}: {what}"); }
            Check(item.GetProperty("id").GetString() == ids.ThreadPublic[t.Index], "id / order");
            var messageIds = item.GetProperty("message_ids").EnumerateArray().Select(e => e.GetString()).ToList();
            var ordered = t.Messages.OrderBy(m => m.DateUnix).ThenBy(m => m.Index).Select(m => ids.MessagePublic[m.Index]);
            Check(messageIds.SequenceEqual(ordered), "message_ids");
            Check(item.GetProperty("unread").GetBoolean() == t.Messages.Any(m => !m.Read), "unread");
            Check(item.GetProperty("starred").GetBoolean() == t.Messages.Any(m => m.Starred), "starred");
            Check(item.GetProperty("has_attachments").GetBoolean() == t.Messages.Any(m => m.Attachments.Any(a => a.Disposition == "attachment")), "has_attachments");
            var folders = item.GetProperty("folders").EnumerateArray().Select(f => f.GetProperty("id").GetString()).ToHashSet();
            Check(folders.SetEquals(t.Messages.SelectMany(m => m.Folders).Distinct().Select(f => ids.FolderPublic[f])), "folders");
            Check(item.GetProperty("version").GetInt32() == t.Messages.Count, "version");
            Check(item.GetProperty("last_message_timestamp").GetInt64() == t.Messages.Max(m => m.DateUnix), "last_message_timestamp");
        }
    }
}
