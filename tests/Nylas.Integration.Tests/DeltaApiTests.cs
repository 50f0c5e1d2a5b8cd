using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MailKit;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>A host whose streams beat every second and that allows two long requests per account (so the limit is reachable).</summary>
public sealed class DeltaHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "2";
        settings["Nylas:Sync:IdleRefreshSeconds"] = "5";
        settings["Nylas:Delta:StreamHeartbeatSeconds"] = "1";
        settings["Nylas:Delta:MaxLongRequestsPerAccount"] = "2";
    }
}

/// <summary>/delta, /delta/longpoll and /delta/streaming as an app would use them, against mail synced from the test Dovecot.</summary>
public sealed class DeltaApiTests(DeltaHostFixture host, ITestOutputHelper output) : IClassFixture<DeltaHostFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static async Task<string> LatestCursorAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/delta/latest_cursor", null);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cursor").GetString()!;
    }

    /// <summary>Reads /delta from <paramref name="cursor"/> until <paramref name="until"/> holds for the deltas seen so far.</summary>
    private async Task<List<JsonElement>> DeltasUntilAsync(HttpClient http, string cursor, Func<List<JsonElement>, bool> until, string query = "")
    {
        var deltas = new List<JsonElement>();
        var elapsed = await TestStack.WaitUntilAsync(async () =>
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/delta?cursor={cursor}{query}");
            deltas.AddRange(page.GetProperty("deltas").EnumerateArray());
            cursor = page.GetProperty("cursor_end").GetString()!;
            return until(deltas);
        }, Timeout);
        Assert.True(elapsed.HasValue, $"expected deltas not seen; got: {string.Join(", ", deltas.Select(Describe))}");
        return deltas;
    }

    private static string Describe(JsonElement d) => $"{d.GetProperty("object").GetString()}.{d.GetProperty("event").GetString()}";

    private static bool Has(IEnumerable<JsonElement> deltas, string obj, string ev, Func<JsonElement, bool>? attributes = null)
        => deltas.Any(d => d.GetProperty("object").GetString() == obj && d.GetProperty("event").GetString() == ev
            && (attributes is null || (d.TryGetProperty("attributes", out var a) && attributes(a))));

    [Fact]
    public async Task New_mail_shows_as_message_thread_and_folder_deltas_with_their_attributes()
    {
        var (email, token, accountId) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "delta one"));

        var deltas = await DeltasUntilAsync(http, "0", d => Has(d, "message", "create", a => a.GetProperty("subject").GetString() == "delta one"));
        var message = deltas.First(d => Describe(d) == "message.create");
        Assert.Equal(accountId, message.GetProperty("attributes").GetProperty("account_id").GetString());
        Assert.Equal(message.GetProperty("id").GetString(), message.GetProperty("attributes").GetProperty("id").GetString());
        Assert.True(Has(deltas, "thread", "create"));
        Assert.True(Has(deltas, "folder", "create", a => a.GetProperty("name").GetString() == "inbox"));
        // Every delta has its own position, and positions only grow.
        var cursors = deltas.Select(d => d.GetProperty("cursor").GetString()!).ToList();
        Assert.Equal(cursors.Count, cursors.Distinct().Count());

        // The same page again from the start, filtered both ways (the SDK's camelCase spelling too).
        var messagesOnly = await http.GetFromJsonAsync<JsonElement>("/delta?cursor=0&includeTypes=message");
        Assert.All(messagesOnly.GetProperty("deltas").EnumerateArray(), d => Assert.Equal("message", d.GetProperty("object").GetString()));
        var noMessages = await http.GetFromJsonAsync<JsonElement>("/delta?cursor=0&exclude_types=message,thread");
        Assert.DoesNotContain(noMessages.GetProperty("deltas").EnumerateArray(), d => d.GetProperty("object").GetString() is "message" or "thread");
        Assert.Contains(noMessages.GetProperty("deltas").EnumerateArray(), d => d.GetProperty("object").GetString() == "folder");
    }

    [Fact]
    public async Task An_invitation_shows_its_calendar_event_and_contact_as_deltas()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        var invitation = TestStack.SimpleMessage(email, "Invitation: Planning", from: "Boss <boss@example.org>");
        invitation.Body = TestStack.InvitationBody(email, "Planning", "Room 1", new DateTime(2026, 12, 24, 10, 0, 0, DateTimeKind.Utc), "Let us plan");
        await TestStack.AppendAsync(email, invitation);

        var deltas = await DeltasUntilAsync(http, "0", d => Has(d, "event", "create"));
        Assert.True(Has(deltas, "event", "create", a => a.GetProperty("title").GetString() == "Planning"));
        Assert.True(Has(deltas, "calendar", "create", a => a.GetProperty("read_only").GetBoolean()));
        Assert.True(Has(deltas, "contact", "create", a => a.GetProperty("email").GetString() == "boss@example.org"));
    }

    [Fact]
    public async Task A_flag_change_a_delete_and_the_expanded_view_reach_the_feed_in_order()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        var uid = await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "to be read"));
        await DeltasUntilAsync(http, "0", d => Has(d, "message", "create"));
        string cursor = await LatestCursorAsync(http);

        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.AddFlagsAsync(uid!.Value, MessageFlags.Seen, silent: true);
        }
        var read = await DeltasUntilAsync(http, cursor, d => Has(d, "message", "modify", a => !a.GetProperty("unread").GetBoolean()), "&view=expanded");
        // view=expanded shows the message as /messages?view=expanded does: with its headers.
        Assert.True(read.First(d => Describe(d) == "message.modify").GetProperty("attributes").TryGetProperty("headers", out _));

        string beforeDelete = await LatestCursorAsync(http);
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.AddFlagsAsync(uid!.Value, MessageFlags.Deleted, silent: true);
            await imap.Inbox.ExpungeAsync();
        }
        var deleted = await DeltasUntilAsync(http, beforeDelete, d => Has(d, "message", "delete"));
        Assert.False(deleted.First(d => Describe(d) == "message.delete").TryGetProperty("attributes", out _));
    }

    [Fact]
    public async Task Mail_filed_in_another_folder_a_rename_and_a_move_by_another_client_reach_the_feed()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "settled"));
        await DeltasUntilAsync(http, "0", d => Has(d, "message", "create"));
        string cursor = await LatestCursorAsync(http);

        // As a Sieve filter would: a new folder, and mail APPENDed straight into it.
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Projects", true);
            await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "filed by a rule"), folder: "Projects");
        }
        var filed = await DeltasUntilAsync(http, cursor, d => Has(d, "message", "create", a => a.GetProperty("subject").GetString() == "filed by a rule"));
        Assert.True(Has(filed, "folder", "create", a => a.GetProperty("display_name").GetString() == "Projects"));
        string folderId = filed.First(d => Describe(d) == "folder.create").GetProperty("id").GetString()!;

        cursor = await LatestCursorAsync(http);
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var projects = await imap.GetFolderAsync("Projects");
            await projects.RenameAsync(projects.ParentFolder!, "Projects 2027");
        }
        var renamed = await DeltasUntilAsync(http, cursor, d => Has(d, "folder", "modify", a => a.GetProperty("display_name").GetString() == "Projects 2027"));
        Assert.Equal(folderId, renamed.First(d => Describe(d) == "folder.modify").GetProperty("id").GetString());

        cursor = await LatestCursorAsync(http);
        using (var imap = await TestStack.ConnectImapAsync(email))
        {
            var folder = await imap.GetFolderAsync("Projects 2027");
            await folder.OpenAsync(FolderAccess.ReadWrite);
            await folder.MoveToAsync((await folder.SearchAsync(MailKit.Search.SearchQuery.All)).ToList(), imap.Inbox);
        }
        // The moved message keeps its id and shows in the inbox.
        var moved = await DeltasUntilAsync(http, cursor, d => Has(d, "message", "modify",
            a => a.GetProperty("subject").GetString() == "filed by a rule" && a.GetProperty("folder").ValueKind == JsonValueKind.Object
                 && a.GetProperty("folder").GetProperty("name").GetString() == "inbox"));
        Assert.Equal(filed.First(d => Describe(d) == "message.create" && d.GetProperty("attributes").GetProperty("subject").GetString() == "filed by a rule").GetProperty("id").GetString(),
            moved.Last(d => Describe(d) == "message.modify").GetProperty("id").GetString());
        Assert.DoesNotContain(moved, d => Describe(d) == "message.delete");
    }

    [Fact]
    public async Task A_long_poll_answers_when_a_change_arrives_and_at_its_timeout_otherwise()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "first"));
        await DeltasUntilAsync(http, "0", d => Has(d, "message", "create"));
        string cursor = await LatestCursorAsync(http);

        // Nothing new: an empty answer at the timeout, ending where it started.
        using (var quiet = await http.GetAsync($"/delta/longpoll?cursor={cursor}&timeout=1"))
        {
            var page = await quiet.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Empty(page.GetProperty("deltas").EnumerateArray());
            Assert.Equal(cursor, page.GetProperty("cursor_end").GetString());
        }

        var poll = http.GetAsync($"/delta/longpoll?cursor={cursor}&timeout=60&exclude_types=contact");
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "second"));
        using var answered = await poll;
        var deltas = (await answered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deltas").EnumerateArray().ToList();
        Assert.NotEmpty(deltas);
        Assert.DoesNotContain(deltas, d => d.GetProperty("object").GetString() == "contact");
        output.WriteLine(string.Join(", ", deltas.Select(Describe)));
    }

    [Fact]
    public async Task A_stream_sends_changes_as_json_lines_and_heartbeats_while_quiet()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        string cursor = await LatestCursorAsync(http);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/delta/streaming?cursor={cursor}&include_types=message");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // Quiet: heartbeats (empty lines) every second.
        Assert.Equal("", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));

        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "streamed"));
        JsonElement? delta = null;
        var deadline = DateTime.UtcNow + Timeout;
        while (delta is null && DateTime.UtcNow < deadline)
        {
            string? line = await reader.ReadLineAsync().WaitAsync(Timeout);
            Assert.NotNull(line);
            if (line.Length > 0) delta = JsonDocument.Parse(line).RootElement;
        }
        Assert.NotNull(delta);
        Assert.Equal("message", delta.Value.GetProperty("object").GetString());
        Assert.Equal("streamed", delta.Value.GetProperty("attributes").GetProperty("subject").GetString());
    }

    [Fact]
    public async Task Long_requests_beyond_the_per_account_limit_get_a_429()
    {
        var (_, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        string cursor = await LatestCursorAsync(http);
        var open = Enumerable.Range(0, 2).Select(_ => http.GetAsync($"/delta/longpoll?cursor={cursor}&timeout=5&include_types=event")).ToList();
        await Task.Delay(500);
        await ApiErrors.AssertAsync(await http.GetAsync($"/delta/longpoll?cursor={cursor}&timeout=1"), HttpStatusCode.TooManyRequests);
        foreach (var response in await Task.WhenAll(open)) Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Freed again once they answered.
        using var after = await http.GetAsync($"/delta/longpoll?cursor={cursor}&timeout=1&include_types=event");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Bad_cursors_types_and_timeouts_are_4xx_naming_the_field()
    {
        var (_, token, _) = await host.ConnectNewAccountAsync();
        var (_, otherToken, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        using var other = host.Client(otherToken);
        string otherCursor = await LatestCursorAsync(other);

        async Task Expect400(string path, string word)
        {
            var body = await ApiErrors.AssertAsync(await http.GetAsync(path), HttpStatusCode.BadRequest);
            Assert.Contains(word, body.GetProperty("message").GetString());
        }
        await Expect400("/delta", "cursor");
        await Expect400("/delta?cursor=nonsense", "cursor");
        await Expect400($"/delta?cursor={otherCursor}", "another account");
        await Expect400("/delta?cursor=0&include_types=message,banana", "banana");
        await Expect400("/delta?cursor=0&include_types=message&exclude_types=thread", "not both");
        await Expect400("/delta?cursor=0&view=ids", "view");
        await Expect400("/delta?cursor=0&limit=0", "limit");
        await Expect400("/delta?cursor=0&colour=red", "colour");
        await Expect400("/delta?cursor=0&timeout=5", "timeout");
        await Expect400("/delta/longpoll?cursor=0&timeout=-1", "timeout");
        await Expect400("/delta/longpoll?cursor=0&timeout=999999", "timeout");
        await Expect400("/delta/streaming?cursor=0&exclude_types=nope", "nope");

        // A cursor ahead of the log (as if from a restored backup of another deployment) is not silently accepted.
        string ahead = Nylas.Engine.Storage.ChangeCursor.Encode(JsonDocument.Parse(await http.GetStringAsync("/account")).RootElement.GetProperty("id").GetString()!, 1_000_000);
        await Expect400($"/delta?cursor={ahead}", "ahead");

        var noStart = await ApiErrors.AssertAsync(await http.PostAsync("/delta/generate_cursor", new StringContent("{}", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Contains("start", noStart.GetProperty("message").GetString());
        await ApiErrors.AssertAsync(await host.Client().GetAsync("/delta?cursor=0"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Generate_cursor_from_a_time_starts_after_what_happened_before_it()
    {
        var (email, token, _) = await host.ConnectNewAccountAsync();
        using var http = host.Client(token);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "before"));
        await DeltasUntilAsync(http, "0", d => Has(d, "message", "create"));
        await Task.Delay(1100); // the cursor is generated from whole seconds
        long start = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await Task.Delay(1100);
        await TestStack.AppendAsync(email, TestStack.SimpleMessage(email, "after"));

        using var generated = await http.PostAsync("/delta/generate_cursor", new StringContent($"{{\"start\": {start}}}", Encoding.UTF8, "application/json"));
        generated.EnsureSuccessStatusCode();
        string cursor = (await generated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("cursor").GetString()!;
        var deltas = await DeltasUntilAsync(http, cursor, d => Has(d, "message", "create", a => a.GetProperty("subject").GetString() == "after"));
        Assert.DoesNotContain(deltas, d => Describe(d) == "message.create" && d.GetProperty("attributes").GetProperty("subject").GetString() == "before");
    }
}
