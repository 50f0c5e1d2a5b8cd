using Nylas.Engine.Queues;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MimeKit.Utils;
using Nylas.Core.Messages;
using Nylas.Engine.Ingest;
using Nylas.Engine.Storage;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>What ingest derives from each message — threads, files, events, contacts — seen through the API and the stores.</summary>
public class IngestTests(LocalHostFixture host) : IClassFixture<LocalHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);

    private static MimeMessage Reply(string to, string subject, string messageId, int hour, params string[] references)
    {
        var m = TestStack.SimpleMessage(to, subject);
        m.MessageId = messageId;
        m.Date = T0.AddHours(hour);
        if (references.Length > 0)
        {
            m.InReplyTo = references[^1];
            foreach (var r in references) m.References.Add(r);
        }
        return m;
    }

    private async Task<List<JsonElement>> WaitForCountAsync(HttpClient http, string token, int count, TimeSpan? timeout = null)
    {
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) == count, timeout ?? Timeout));
        return (await http.GetFromJsonAsync<JsonElement>("/messages")).EnumerateArray().ToList();
    }

    [Fact]
    public async Task A_conversation_arriving_children_first_is_one_thread()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        // The replies arrive (and are ingested) before the message they answer.
        await TestStack.AppendAsync(email, Reply(email, "Re: Budget 2027", "c1@example.org", 1, "root@example.org"));
        await TestStack.AppendAsync(email, Reply(email, "Re: Budget 2027", "c2@example.org", 2, "root@example.org"));
        await WaitForCountAsync(http, token, 2);
        await TestStack.AppendAsync(email, Reply(email, "Budget 2027", "root@example.org", 0));
        await TestStack.AppendAsync(email, Reply(email, "Re: Budget 2027", "c3@example.org", 3, "root@example.org", "c1@example.org"));
        await TestStack.AppendAsync(email, Reply(email, "Lunch?", "other@example.org", 4));

        var messages = await WaitForCountAsync(http, token, 5);
        var threads = messages.GroupBy(m => m.GetProperty("thread_id").GetString()).ToList();
        Assert.Equal(2, threads.Count);
        Assert.Equal(4, threads.Single(g => g.Any(m => m.GetProperty("subject").GetString() == "Budget 2027")).Count());
        Assert.All(messages, m => Assert.False(string.IsNullOrEmpty(m.GetProperty("thread_id").GetString())));

        // The thread's aggregates cover all four messages whatever their arrival order.
        var budget = threads.Single(g => g.Count() == 4).ToList();
        long accountDbId = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        string threadId = budget[0].GetProperty("thread_id").GetString()!;
        Assert.Equal(budget.Min(m => m.GetProperty("date").GetInt64()),
            await host.Databases.ScalarAsync($"shard{shard}", $"SELECT first_message_unix FROM threads WHERE public_id = '{threadId}'"));
        Assert.Equal(budget.Max(m => m.GetProperty("date").GetInt64()),
            await host.Databases.ScalarAsync($"shard{shard}", $"SELECT last_message_unix FROM threads WHERE public_id = '{threadId}'"));
        Assert.Equal("Budget 2027", await host.Databases.QueryScalarAsync($"shard{shard}", $"SELECT subject FROM threads WHERE public_id = '{threadId}'"));
    }

    [Fact]
    public async Task Replies_ingested_at_the_same_moment_all_count_in_their_threads_aggregates()
    {
        // Ingest workers run in parallel: many replies to one conversation stored at once must neither be
        // split into several threads nor overwrite each other's first/last dates and participants.
        var (email, _, _) = await host.ConnectNewAccountAsync();
        long accountDbId = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            await host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(*) FROM folders WHERE account_id = {accountDbId} AND role = 'inbox'") == 1, Timeout));
        long inbox = await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {accountDbId} AND role = 'inbox'");

        var writer = host.App.Services.GetRequiredService<MessageWriter>();
        var mapper = new MimeMessageMapper();
        var messages = Enumerable.Range(0, 16).Select(i =>
        {
            var m = i == 0 ? Reply(email, "Quarterly numbers", "q@example.org", 0) : Reply(email, "Re: Quarterly numbers", $"q{i}@example.org", i, "q@example.org");
            m.From.Clear();
            m.From.Add(new MailboxAddress($"Sender {i}", $"sender{i}@example.org"));
            using var raw = new MemoryStream();
            m.WriteTo(raw);
            string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(raw.ToArray()));
            raw.Position = 0;
            var ingest = new IngestMessage(accountDbId, shard, inbox, 0, (uint)(5000 + i), sha, sha, raw.Length, [], T0.AddHours(i).ToUnixTimeSeconds());
            return (ingest, parsed: mapper.Map(raw));
        }).ToList();

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saves = messages.Select(x => Task.Run(async () =>
        {
            await start.Task;
            await writer.SaveAsync(x.ingest, x.parsed, CancellationToken.None);
        })).ToList();
        start.SetResult();
        await Task.WhenAll(saves);

        Assert.Equal(1L, await host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(DISTINCT thread_id) FROM messages WHERE account_id = {accountDbId} AND subject LIKE '%Quarterly numbers'"));
        string where = $"id = (SELECT thread_id FROM messages WHERE account_id = {accountDbId} AND subject = 'Quarterly numbers')";
        Assert.Equal(T0.ToUnixTimeSeconds(), await host.Databases.ScalarAsync($"shard{shard}", $"SELECT first_message_unix FROM threads WHERE {where}"));
        Assert.Equal(T0.AddHours(15).ToUnixTimeSeconds(), await host.Databases.ScalarAsync($"shard{shard}", $"SELECT last_message_unix FROM threads WHERE {where}"));
        Assert.Equal("Quarterly numbers", await host.Databases.QueryScalarAsync($"shard{shard}", $"SELECT subject FROM threads WHERE {where}"));
        string participants = (string)(await host.Databases.QueryScalarAsync($"shard{shard}", $"SELECT participants_json FROM threads WHERE {where}"))!;
        Assert.All(Enumerable.Range(0, 16), i => Assert.Contains($"sender{i}@example.org", participants));
    }

    [Fact]
    public async Task One_batch_threads_and_aggregates_as_the_same_messages_one_at_a_time()
    {
        // Ingest writes a batch's new messages with multi-row statements, threading them on in-memory lookups: a thread
        // started and joined within the batch, two such threads merged by a later message of it, the same bytes at two
        // locations, a reply in Sent, and a reply to a thread stored before must come out as one message at a time does.
        var batched = await ShardAccountAsync();
        var single = await ShardAccountAsync();
        var mapper = new MimeMessageMapper();
        MimeMessage From(MimeMessage m, int sender)
        {
            m.From.Clear();
            m.From.Add(new MailboxAddress(sender == 0 ? "" : $"Sender {sender}", $"sender{sender}@example.org"));
            return m;
        }
        var earlier = From(Reply("me@example.org", "Old thread", "o@example.org", -48), 9);
        var mail = new (MimeMessage Message, bool InSent)[]
        {
            (From(Reply("me@example.org", "Plan A", "a@example.org", 0), 1), false),
            (From(Reply("me@example.org", "Re: Plan A", "a1@example.org", 1, "a@example.org"), 2), false),
            (From(Reply("me@example.org", "Plan B", "b@example.org", 2), 3), false),
            (From(Reply("me@example.org", "Re: Plan B", "b1@example.org", 3, "b@example.org"), 0), false),
            (From(Reply("me@example.org", "Re: Plan B", "b2@example.org", 4, "b@example.org", "b1@example.org"), 3), true),
            (From(Reply("me@example.org", "Re: Plans A and B", "ab@example.org", 5, "a@example.org", "b@example.org"), 4), false),
            (From(Reply("me@example.org", "Re: Plan A", "a2@example.org", 6, "a@example.org", "a1@example.org"), 1), false),
            (From(Reply("me@example.org", "Re: Old thread", "o1@example.org", 7, "o@example.org"), 5), false),
            (From(Reply("me@example.org", "Lunch?", "l@example.org", 8), 6), false),
            // An invitation, its update, an older update that changes nothing; another invitation and its cancellation.
            (Invite("Planning", "p0@example.org", 9, "ev1@example.org", "REQUEST", 0, "Room 1"), false),
            (Invite("Planning (updated)", "p2@example.org", 10, "ev1@example.org", "REQUEST", 2, "Room 2"), false),
            (Invite("Planning (late copy)", "p1@example.org", 11, "ev1@example.org", "REQUEST", 1, "Room 3"), false),
            (Invite("Offsite", "s0@example.org", 12, "ev2@example.org", "REQUEST", 0, "Lake"), false),
            (Invite("Offsite cancelled", "s1@example.org", 13, "ev2@example.org", "CANCEL", 0, "Lake"), false),
        };
        MimeMessage Invite(string subject, string messageId, int hour, string uid, string method, int sequence, string location)
        {
            var m = From(Reply("me@example.org", subject, messageId, hour), 7);
            m.Body = TestStack.InvitationBody("me@example.org", subject, location, T0.AddDays(3).UtcDateTime, subject, uid, method, sequence);
            return m;
        }
        (IngestMessage, ParsedMessage) Work((long Id, int Shard, long Inbox, long Sent) account, MimeMessage message, bool inSent, uint uid)
        {
            using var raw = new MemoryStream();
            message.WriteTo(raw);
            string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(raw.ToArray()));
            raw.Position = 0;
            return (new IngestMessage(account.Id, account.Shard, inSent ? account.Sent : account.Inbox, 0, uid, sha, sha, raw.Length, [],
                message.Date.ToUnixTimeSeconds()), mapper.Map(raw));
        }
        List<(IngestMessage, ParsedMessage)> WorkFor((long Id, int Shard, long Inbox, long Sent) account) =>
            [.. mail.Select((m, i) => Work(account, m.Message, m.InSent, (uint)(7000 + i))), Work(account, mail[1].Message, false, 7100)];

        var writer = host.App.Services.GetRequiredService<MessageWriter>();
        foreach (var account in new[] { batched, single }) await writer.SaveAsync(Work(account, earlier, false, 6999).Item1, Work(account, earlier, false, 6999).Item2, CancellationToken.None);
        Assert.Equal(mail.Length, await writer.SaveBatchAsync(WorkFor(batched), CancellationToken.None));
        int createdOneByOne = 0;
        foreach (var (ingest, parsed) in WorkFor(single)) createdOneByOne += await writer.SaveAsync(ingest, parsed, CancellationToken.None) ? 1 : 0;
        Assert.Equal(mail.Length, createdOneByOne);

        async Task<List<string>> ThreadsOf((long Id, int Shard, long Inbox, long Sent) account) =>
            (await host.Databases.QueryRowsAsync($"shard{account.Shard}", $"""
                SELECT t.subject, t.snippet, t.participants_json, t.first_message_unix, t.last_message_unix, t.last_received_unix, t.last_sent_unix,
                  t.version, GROUP_CONCAT(m.message_id_header ORDER BY m.message_id_header), GROUP_CONCAT(m.is_sent ORDER BY m.message_id_header)
                FROM threads t JOIN messages m ON m.thread_id = t.id WHERE t.account_id = {account.Id} GROUP BY t.id
                """)).Select(row => string.Join(" | ", row)).Order(StringComparer.Ordinal).ToList();
        var threads = await ThreadsOf(batched);
        Assert.Equal(await ThreadsOf(single), threads);
        // Plans A and B are one thread now, with every message that arrived in the batch; the old thread has its reply.
        Assert.Equal(8, threads.Count);
        async Task<long> ThreadCount(params string[] ids) => await host.Databases.ScalarAsync($"shard{batched.Shard}",
            $"SELECT COUNT(DISTINCT thread_id) FROM messages WHERE account_id = {batched.Id} AND message_id_header IN ({string.Join(',', ids.Select(id => $"'{id}@example.org'"))})");
        Assert.Equal(1L, await ThreadCount("a", "a1", "a2", "b", "b1", "b2", "ab"));
        Assert.Equal(1L, await ThreadCount("o", "o1"));

        // What a user reads on the merged thread: the earliest message's subject, the latest one's dates, the reply in Sent.
        var plans = (await host.Databases.QueryRowsAsync($"shard{batched.Shard}", $"""
            SELECT t.subject, t.first_message_unix, t.last_message_unix, t.last_received_unix, t.last_sent_unix, t.participants_json FROM threads t
            WHERE t.id = (SELECT thread_id FROM messages WHERE account_id = {batched.Id} AND message_id_header = 'ab@example.org')
            """)).Single();
        Assert.Equal(["Plan A", $"{T0.ToUnixTimeSeconds()}", $"{T0.AddHours(6).ToUnixTimeSeconds()}", $"{T0.AddHours(6).ToUnixTimeSeconds()}",
            $"{T0.AddHours(4).ToUnixTimeSeconds()}"], plans[..5]);
        Assert.All(Enumerable.Range(0, 5), i => Assert.Contains($"sender{i}@example.org", plans[5]));
        var old = (await host.Databases.QueryRowsAsync($"shard{batched.Shard}", $"""
            SELECT t.subject, t.first_message_unix, t.last_message_unix, t.version FROM threads t
            WHERE t.id = (SELECT thread_id FROM messages WHERE account_id = {batched.Id} AND message_id_header = 'o1@example.org')
            """)).Single();
        Assert.Equal(["Old thread", $"{T0.AddHours(-48).ToUnixTimeSeconds()}", $"{T0.AddHours(7).ToUnixTimeSeconds()}", "2"], old);

        async Task<List<string>> ContactsOf((long Id, int Shard, long Inbox, long Sent) account) =>
            (await host.Databases.QueryRowsAsync($"shard{account.Shard}", $"SELECT email, name FROM contacts WHERE account_id = {account.Id}"))
            .Select(row => string.Join(" | ", row)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(await ContactsOf(single), await ContactsOf(batched));
        Assert.Contains("sender3@example.org | Sender 3", await ContactsOf(batched));

        // The invitations: the newest sequence wins, from the message that carried it; the cancellation cancels.
        async Task<List<string>> EventsOf((long Id, int Shard, long Inbox, long Sent) account) =>
            (await host.Databases.QueryRowsAsync($"shard{account.Shard}", $"""
                SELECT e.ical_uid, e.sequence, e.status, e.data_json, m.message_id_header FROM events e JOIN messages m ON m.id = e.message_id
                WHERE e.account_id = {account.Id} ORDER BY e.ical_uid
                """)).Select(row => string.Join(" | ", row)).ToList();
        var events = await EventsOf(batched);
        Assert.Equal(await EventsOf(single), events);
        Assert.Equal(2, events.Count);
        Assert.StartsWith("ev1@example.org | 2 | confirmed | ", events[0]);
        Assert.Contains("Room 2", events[0]);
        Assert.EndsWith(" | p2@example.org", events[0]);
        Assert.StartsWith("ev2@example.org | 0 | cancelled | ", events[1]);

        // The same bytes at two UIDs are one message with two locations.
        Assert.Equal(1L, await host.Databases.ScalarAsync($"shard{batched.Shard}",
            $"SELECT COUNT(DISTINCT message_id) FROM imap_uids WHERE account_id = {batched.Id} AND uid IN (7001, 7100)"));
        // Every message and every thread the batch left has its insert in the change log, in one account-wide sequence.
        Assert.Equal(0L, await host.Databases.ScalarAsync($"shard{batched.Shard}", $"""
            SELECT COUNT(*) FROM messages m WHERE m.account_id = {batched.Id}
              AND NOT EXISTS (SELECT 1 FROM transactions x WHERE x.account_id = m.account_id AND x.object_type = 'message' AND x.object_public_id = m.public_id AND x.command = 'insert')
            """));
        Assert.Equal(0L, await host.Databases.ScalarAsync($"shard{batched.Shard}", $"""
            SELECT COUNT(*) FROM threads t WHERE t.account_id = {batched.Id}
              AND NOT EXISTS (SELECT 1 FROM transactions x WHERE x.account_id = t.account_id AND x.object_type = 'thread' AND x.object_public_id = t.public_id AND x.command = 'insert')
            """));
        Assert.Equal(await host.Databases.ScalarAsync($"shard{batched.Shard}", $"SELECT MAX(seq) FROM transactions WHERE account_id = {batched.Id}"),
            await host.Databases.ScalarAsync($"shard{batched.Shard}", $"SELECT COUNT(*) FROM transactions WHERE account_id = {batched.Id}"));
    }

    private async Task<(long Id, int Shard, long Inbox, long Sent)> ShardAccountAsync()
    {
        var (email, _, _) = await host.ConnectNewAccountAsync();
        long id = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {id}");
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.Databases.ScalarAsync($"shard{shard}",
            $"SELECT COUNT(*) FROM folders WHERE account_id = {id} AND role IN ('inbox', 'sent')") == 2, Timeout));
        return (id, shard,
            await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {id} AND role = 'inbox'"),
            await host.Databases.ScalarAsync($"shard{shard}", $"SELECT id FROM folders WHERE account_id = {id} AND role = 'sent'"));
    }

    [Fact]
    public async Task A_message_that_links_two_threads_merges_them()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await TestStack.AppendAsync(email, Reply(email, "Re: Plan A", "a1@example.org", 1, "a@example.org"));
        await TestStack.AppendAsync(email, Reply(email, "Re: Plan B", "b1@example.org", 2, "b@example.org"));
        var before = await WaitForCountAsync(http, token, 2);
        Assert.Equal(2, before.Select(m => m.GetProperty("thread_id").GetString()).Distinct().Count());

        await TestStack.AppendAsync(email, Reply(email, "Re: Plans A and B", "ab@example.org", 3, "a@example.org", "b@example.org"));
        var after = await WaitForCountAsync(http, token, 3);
        Assert.Single(after.Select(m => m.GetProperty("thread_id").GetString()).Distinct());
    }

    [Fact]
    public async Task Attachments_and_inline_images_become_files_stored_once_by_content()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        byte[] pdf = Encoding.ASCII.GetBytes("%PDF-1.4\n% test document\n%%EOF\n");
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4];
        var builder = new BodyBuilder { HtmlBody = "<p>See <img src=\"cid:logo@example.org\"></p>", TextBody = "See attached" };
        var image = builder.LinkedResources.Add("logo.png", png, new ContentType("image", "png"));
        image.ContentId = "logo@example.org";
        builder.Attachments.Add("Résumé 2027.pdf", pdf, new ContentType("application", "pdf"));
        var message = TestStack.SimpleMessage(email, "with files");
        message.Body = builder.ToMessageBody();
        await TestStack.AppendAsync(email, message);

        using var http = host.Client(token);
        var m = (await WaitForCountAsync(http, token, 1)).Single();
        var files = m.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(2, files.Count);
        var inline = files.Single(f => f.GetProperty("content_type").GetString() == "image/png");
        Assert.Equal("logo@example.org", inline.GetProperty("content_id").GetString());
        Assert.Equal("inline", inline.GetProperty("content_disposition").GetString());
        var attachment = files.Single(f => f.GetProperty("content_type").GetString() == "application/pdf");
        Assert.Equal("Résumé 2027.pdf", attachment.GetProperty("filename").GetString());
        Assert.Equal(pdf.Length, attachment.GetProperty("size").GetInt64());

        // The content is in Blob storage under its SHA-256, byte for byte.
        var store = host.App.Services.GetRequiredService<FileStore>();
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(pdf));
        await using var stored = await store.OpenReadAsync(FileStore.BlobName(sha), CancellationToken.None);
        using var copy = new MemoryStream();
        await stored.CopyToAsync(copy);
        Assert.Equal(pdf, copy.ToArray());
    }

    [Fact]
    public async Task A_large_message_goes_through_spooled_and_comes_back_byte_for_byte()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        byte[] big = new byte[6 * 1024 * 1024];
        new Random(42).NextBytes(big);
        var builder = new BodyBuilder { TextBody = "a big one" };
        builder.Attachments.Add("big.bin", big, new ContentType("application", "octet-stream"));
        var message = TestStack.SimpleMessage(email, "large");
        message.Body = builder.ToMessageBody();
        await TestStack.AppendAsync(email, message);

        using var http = host.Client(token);
        // 8 MB goes through storage three times (raw in, raw out, the attachment in): on a loaded CI machine that once took
        // longer than the 30 s the small messages get.
        var m = (await WaitForCountAsync(http, token, 1, TimeSpan.FromMinutes(2))).Single();
        Assert.Equal(big.Length, Assert.Single(m.GetProperty("files").EnumerateArray()).GetProperty("size").GetInt64());

        using var expected = new MemoryStream();
        var crlf = FormatOptions.Default.Clone();
        crlf.NewLineFormat = NewLineFormat.Dos; // what IMAP APPEND sent and the server stores
        await message.WriteToAsync(crlf, expected);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/messages/{m.GetProperty("id").GetString()}");
        request.Headers.Accept.ParseAdd("message/rfc822");
        using var raw = await http.SendAsync(request);
        Assert.Equal(expected.ToArray(), await raw.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task An_invitation_becomes_an_event_and_its_cancellation_cancels_it()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        string uid = $"{Guid.NewGuid():N}@example.org";
        await TestStack.AppendAsync(email, Invitation(email, uid, "REQUEST", 0, "Quarterly review"));
        using var http = host.Client(token);
        var invitation = (await WaitForCountAsync(http, token, 1)).Single();
        var e = Assert.Single(invitation.GetProperty("events").EnumerateArray());
        Assert.Equal("Quarterly review", e.GetProperty("title").GetString());
        Assert.Equal("confirmed", e.GetProperty("status").GetString());
        Assert.Equal("timespan", e.GetProperty("when").GetProperty("object").GetString());
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 15, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), e.GetProperty("when").GetProperty("start_time").GetInt64());
        Assert.Contains(e.GetProperty("participants").EnumerateArray(), p => p.GetProperty("email").GetString() == email);
        string eventId = e.GetProperty("id").GetString()!;

        await TestStack.AppendAsync(email, Invitation(email, uid, "CANCEL", 1, "Quarterly review"));
        var messages = await WaitForCountAsync(http, token, 2);
        var cancelled = messages.SelectMany(m => m.GetProperty("events").EnumerateArray()).Single();
        Assert.Equal(eventId, cancelled.GetProperty("id").GetString());
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Attachments_whose_names_the_files_table_holds_equal_are_one_file_and_the_message_is_stored()
    {
        // The files table compares names case- and accent-insensitively; a batch inserting both names at once must not
        // collide on its unique key (which would park the message) but link both attachments to one file.
        var (email, token, _) = await host.ConnectNewAccountAsync();
        byte[] pdf = Encoding.ASCII.GetBytes("%PDF-1.4\n% same bytes under three names\n%%EOF\n");
        var builder = new BodyBuilder { TextBody = "three copies" };
        foreach (string name in new[] { "Résumé.pdf", "resume.pdf", "RESUME.PDF" })
            builder.Attachments.Add(name, pdf, new ContentType("application", "pdf"));
        var message = TestStack.SimpleMessage(email, "same file, three names");
        message.Body = builder.ToMessageBody();
        await TestStack.AppendAsync(email, message);

        using var http = host.Client(token);
        var m = (await WaitForCountAsync(http, token, 1)).Single();
        Assert.Equal(3, m.GetProperty("files").GetArrayLength());
        long accountDbId = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        Assert.Equal(1, await host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(*) FROM files WHERE account_id = {accountDbId}"));
        Assert.Equal(1, await host.Databases.ScalarAsync($"shard{shard}",
            $"SELECT COUNT(*) FROM transactions WHERE account_id = {accountDbId} AND object_type = 'file' AND command = 'insert'"));
    }

    [Fact]
    public async Task Participants_become_one_contact_per_address()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        var first = TestStack.SimpleMessage(email, "hello", from: "ZOE@Example.org");
        var second = TestStack.SimpleMessage(email, "hello again", from: "Zoë Fernández <zoe@example.org>");
        second.Cc.Add(MailboxAddress.Parse("Jürgen <juergen@example.net>"));
        await TestStack.AppendAsync(email, first);
        await TestStack.AppendAsync(email, second);
        using var http = host.Client(token);
        await WaitForCountAsync(http, token, 2);

        long accountDbId = await host.Databases.ScalarAsync("global", $"SELECT id FROM accounts WHERE email_address = '{email}'");
        int shard = (int)await host.Databases.ScalarAsync("global", $"SELECT shard_id FROM accounts WHERE id = {accountDbId}");
        Assert.Equal(3, await host.Databases.ScalarAsync($"shard{shard}", $"SELECT COUNT(*) FROM contacts WHERE account_id = {accountDbId}"));
        Assert.Equal("Zoë Fernández", await host.Databases.QueryScalarAsync($"shard{shard}",
            $"SELECT name FROM contacts WHERE account_id = {accountDbId} AND email = 'zoe@example.org'"));
    }

    private static MimeMessage Invitation(string to, string uid, string method, int sequence, string title)
    {
        var message = TestStack.SimpleMessage(to, method == "CANCEL" ? $"Cancelled: {title}" : $"Invitation: {title}", from: "Boss <boss@example.org>");
        message.Body = TestStack.InvitationBody(to, title, "Room 4", new DateTime(2026, 12, 3, 15, 0, 0, DateTimeKind.Utc), title, uid, method, sequence);
        message.MessageId = MimeUtils.GenerateMessageId("example.org");
        return message;
    }
}
