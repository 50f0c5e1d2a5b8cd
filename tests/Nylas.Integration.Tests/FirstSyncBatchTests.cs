using System.Net.Http.Json;
using System.Text.Json;
using MailKit;
using Nylas.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests;

/// <summary>Tiny batches and steps, so a small mailbox's first sync goes through the first small batch, full batches and several steps.</summary>
public sealed class SmallBatchHostFixture : LocalHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Sync:IdleSeconds"] = "2";
        settings["Nylas:Sync:FirstBatchMessages"] = "2";
        settings["Nylas:Sync:MaxBatchMessages"] = "3";
        settings["Nylas:Sync:MaxMessagesPerStep"] = "7";
    }
}

/// <summary>A folder's first sync fetches its newest messages in a small batch of their own first; nothing may be lost or doubled by it.</summary>
public sealed class FirstSyncBatchTests(SmallBatchHostFixture host, ITestOutputHelper output) : IClassFixture<SmallBatchHostFixture>
{
    [Fact]
    public async Task A_first_sync_that_starts_with_a_small_batch_of_the_newest_mirrors_every_message_once_with_its_flags()
    {
        string email = TestStack.NewMailbox();
        var baseDate = DateTimeOffset.UtcNow.AddDays(-5);
        var expected = new Dictionary<string, (string Folder, bool Unread)>();
        // 11 in INBOX (a first batch of 2, then batches of 3, over two steps of 7), 4 in Archive (a first batch of 2 and one of 2).
        for (int i = 0; i < 15; i++)
        {
            string folder = i < 11 ? "INBOX" : "Archive";
            string subject = $"{folder} message {i:D2}";
            var message = TestStack.SimpleMessage(email, subject);
            message.Date = baseDate.AddHours(i);
            bool seen = i % 3 == 0;
            await TestStack.AppendAsync(email, message, seen ? MessageFlags.Seen : MessageFlags.None, folder);
            expected[subject] = (folder, !seen);
        }

        using var response = await host.PostAccountAsync(email);
        var account = await response.Content.ReadFromJsonAsync<JsonElement>();
        string token = account.GetProperty("access_token").GetString()!;
        var waited = await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(token) >= expected.Count, TimeSpan.FromSeconds(60));
        Assert.NotNull(waited);
        output.WriteLine($"all {expected.Count} served after {waited.Value.TotalMilliseconds:F0} ms");
        // Later steps must not add anything (a UID fetched twice would be one message with two locations, or a duplicate).
        await Task.Delay(TimeSpan.FromSeconds(3));

        using var http = host.Client(token);
        var listed = (await http.GetFromJsonAsync<JsonElement>("/messages?limit=100")).EnumerateArray().ToList();
        Assert.Equal(expected.Count, listed.Count);
        var bySubject = listed.ToDictionary(m => m.GetProperty("subject").GetString()!);
        foreach (var (subject, (folder, unread)) in expected)
        {
            Assert.True(bySubject.TryGetValue(subject, out var m), $"'{subject}' was not mirrored");
            Assert.Equal(unread, m.GetProperty("unread").GetBoolean());
            Assert.Equal(folder.ToLowerInvariant(), m.GetProperty("folder").GetProperty("name").GetString());
        }
        // Listed newest first, as the server dated them.
        Assert.Equal(expected.Keys.OrderByDescending(s => s[^2..]), listed.Select(m => m.GetProperty("subject").GetString()));
    }
}
