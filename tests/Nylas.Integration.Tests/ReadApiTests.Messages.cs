using System.Net;
using System.Text.Json;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>/messages filters, several messages by id, and full-text search of messages and threads.</summary>
public partial class ReadApiTests
{
    private async Task<List<string>> SubjectsAsync(string path, string? token = null)
        => (await ListAsync(path, token)).Select(m => m.GetProperty("subject").GetString()!).ToList();

    private async Task<string> MessageIdAsync(string subject)
        => (await ListAsync("/messages")).Single(m => m.GetProperty("subject").GetString() == subject).GetProperty("id").GetString()!;

    [Fact]
    public async Task Messages_are_filtered_as_v2_filtered_them()
    {
        Assert.Equal(["Invitation: Quarterly review", "Signed contract", "Re: Budget 2027", "Budget 2027"], await SubjectsAsync("/messages"));

        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages?subject=Budget%202027"));
        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages?from=ALICE@example.org"));
        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages?cc=dave@example.org"));
        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages?bcc=erin@example.org"));
        Assert.Empty(await ListAsync("/messages?from=dave@example.org"));
        Assert.Equal(4, (await ListAsync($"/messages?to={Uri.EscapeDataString(host.A.Email)}")).Count);
        // any_email: repeated keys (what the SDK sends) or a comma list (what v2 documented), any header.
        Assert.Equal(["Invitation: Quarterly review", "Signed contract"], await SubjectsAsync("/messages?any_email=carol@example.org&any_email=boss@example.org"));
        Assert.Equal(["Invitation: Quarterly review", "Budget 2027"], await SubjectsAsync("/messages?any_email=boss@example.org,dave@example.org"));

        Assert.Equal(4, await CountAsync("/messages?in=inbox"));
        Assert.Equal(4, await CountAsync("/messages?in=INBOX"));
        Assert.Equal(0, await CountAsync("/messages?in=no-such-folder"));
        Assert.Equal(["Re: Budget 2027"], await SubjectsAsync("/messages?unread=true"));
        Assert.Equal(3, await CountAsync("/messages?unread=false"));
        Assert.Equal(["Signed contract"], await SubjectsAsync("/messages?starred=true"));
        Assert.Equal(["Signed contract"], await SubjectsAsync($"/messages?filename={Uri.EscapeDataString(ReadApiFixture.PdfName)}"));
        Assert.Empty(await ListAsync("/messages?filename=other.pdf"));

        string budget = (await ThreadAsync("Budget 2027")).GetProperty("id").GetString()!;
        Assert.Equal(["Re: Budget 2027", "Budget 2027"], await SubjectsAsync($"/messages?thread_id={budget}"));

        // received_before is inclusive, received_after exclusive.
        Assert.Equal(["Re: Budget 2027", "Budget 2027"], await SubjectsAsync($"/messages?received_before={Unix(1)}"));
        Assert.Equal(["Invitation: Quarterly review", "Signed contract"], await SubjectsAsync($"/messages?received_after={Unix(1)}"));
        Assert.Equal(["Signed contract"], await SubjectsAsync($"/messages?received_after={Unix(1)}&received_before={Unix(2)}"));
        // Thread-level filters: the messages of threads whose last message is after 01:00.
        Assert.Equal(["Invitation: Quarterly review", "Signed contract"], await SubjectsAsync($"/messages?last_message_after={Unix(1)}"));
        Assert.Equal(["Re: Budget 2027", "Budget 2027"], await SubjectsAsync($"/messages?started_before={Unix(1)}"));

        // Filters combine, and every view and page applies them.
        Assert.Equal(["Budget 2027"], await SubjectsAsync($"/messages?thread_id={budget}&unread=false"));
        Assert.Equal(2, await CountAsync($"/messages?received_before={Unix(1)}"));
        var ids = Strings(await GetAsync($"/messages?received_before={Unix(1)}&view=ids"));
        Assert.Equal([await MessageIdAsync("Re: Budget 2027"), await MessageIdAsync("Budget 2027")], ids);
        Assert.Equal(["Budget 2027"], await SubjectsAsync($"/messages?received_before={Unix(1)}&offset=1&limit=5"));
        Assert.Equal(["Signed contract", "Re: Budget 2027"], await SubjectsAsync("/messages?offset=1&limit=2"));
        Assert.Empty(await ListAsync("/messages?offset=4"));
    }

    [Fact]
    public async Task Pages_of_threads_are_slices_of_the_whole_list()
    {
        var all = (await ListAsync("/threads")).Select(t => t.ToString()).ToList();
        Assert.Equal(all.Skip(1).Take(1), (await ListAsync("/threads?offset=1&limit=1")).Select(t => t.ToString()));
        Assert.Equal(all.Skip(2), (await ListAsync("/threads?offset=2")).Select(t => t.ToString()));
        Assert.Equal(all.Skip(1).Take(1), (await ListAsync("/threads?offset=1&limit=1&in=inbox")).Select(t => t.ToString()));
    }

    [Fact]
    public async Task Threads_take_the_message_filters_a_thread_matching_when_one_of_its_messages_does()
    {
        Assert.Equal(["Budget 2027"], (await ListAsync("/threads?cc=dave@example.org")).Select(t => t.GetProperty("subject").GetString()));
        Assert.Equal(["Signed contract"], (await ListAsync($"/threads?filename={Uri.EscapeDataString(ReadApiFixture.PdfName)}")).Select(t => t.GetProperty("subject").GetString()));
        string budget = (await ThreadAsync("Budget 2027")).GetProperty("id").GetString()!;
        Assert.Equal([budget], Strings(await GetAsync($"/threads?thread_id={budget}&view=ids")));
    }

    [Fact]
    public async Task Several_messages_are_read_by_comma_separated_ids_as_findMultiple_asks()
    {
        string root = await MessageIdAsync("Budget 2027"), contract = await MessageIdAsync("Signed contract");
        var both = await ListAsync($"/messages/{root},{contract}?offset=0&limit=100");
        Assert.Equal(["Signed contract", "Budget 2027"], both.Select(m => m.GetProperty("subject").GetString()));
        Assert.Equal((await GetAsync($"/messages/{root}")).ToString(), both[1].ToString());
        // An id the account doesn't have is left out, as a list leaves out what doesn't match.
        Assert.Equal(["Budget 2027"], await SubjectsAsync($"/messages/{root},0123456789abcdefghij"));
        Assert.Empty(await ListAsync($"/messages/{root},{contract}", host.B.Token));
    }

    [Fact]
    public async Task Search_finds_words_in_subjects_participants_bodies_and_attachment_names()
    {
        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages/search?q=numbers"));
        Assert.Equal(["Re: Budget 2027", "Budget 2027"], await SubjectsAsync("/messages/search?q=BUDGET"));
        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages/search?q=alice%40example.org"));
        Assert.Equal(["Budget 2027"], await SubjectsAsync("/messages/search?q=Dave"));
        Assert.Equal(["Signed contract"], await SubjectsAsync($"/messages/search?q={Uri.EscapeDataString("Résumé")}"));
        Assert.Equal(["Invitation: Quarterly review"], await SubjectsAsync("/messages/search?q=quarterly"));
        // Every word must match; what the user types is never a boolean operator.
        Assert.Equal(["Re: Budget 2027"], await SubjectsAsync("/messages/search?q=budget%20-looks"));
        Assert.Equal(["Re: Budget 2027"], await SubjectsAsync("/messages/search?q=%22looks%20good%22"));
        Assert.Empty(await ListAsync("/messages/search?q=%22good%20looks%22"));
        Assert.Empty(await ListAsync("/messages/search?q=zeppelin"));

        Assert.Equal(2, await CountAsync("/messages/search?q=budget"));
        Assert.Equal([await MessageIdAsync("Budget 2027")], Strings(await GetAsync("/messages/search?q=budget&view=ids&offset=1")));
        Assert.Equal(["Re: Budget 2027"], await SubjectsAsync("/messages/search?q=budget&limit=1"));

        var threads = await ListAsync("/threads/search?q=numbers");
        Assert.Equal("Budget 2027", Assert.Single(threads).GetProperty("subject").GetString());
        Assert.Equal(2, threads[0].GetProperty("message_ids").GetArrayLength());
        Assert.Equal(1, await CountAsync("/threads/search?q=budget"));
        Assert.Equal(["Signed contract"], (await ListAsync("/threads/search?q=contract")).Select(t => t.GetProperty("subject").GetString()));

        // Search reads the token's account only.
        Assert.Empty(await ListAsync("/messages/search?q=budget", host.B.Token));
        Assert.Empty(await ListAsync("/threads/search?q=budget", host.B.Token));
    }

    [Fact]
    public async Task A_search_longer_than_the_limit_is_refused()
    {
        using var http = host.Client(host.A.Token);
        await ApiErrors.AssertAsync(await http.GetAsync("/messages/search?q=" + new string('x', 501)), HttpStatusCode.BadRequest);
        await ApiErrors.AssertAsync(await http.GetAsync("/messages/search?q=" + string.Join("%20", Enumerable.Range(0, 21).Select(i => $"word{i}"))), HttpStatusCode.BadRequest);
    }
}
