using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Nylas.Testing;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>
/// Faults on the connection while the platform writes to the mail servers: a draft's APPEND (syncback) and a message's
/// SMTP DATA (POST /send). A write lands once or is reported failed; never twice.
/// </summary>
public sealed class WriteFaultTests(FaultHostFixture host, ITestOutputHelper output) : IClassFixture<FaultHostFixture>
{
    /// <summary>How long the test keeps looking for a second copy after the first (syncback retries within seconds).</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(30);

    private static JsonObject Draft(string subject) => new()
    {
        ["subject"] = subject,
        ["body"] = "<p>written while the link failed</p>",
        ["to"] = new JsonArray(new JsonObject { ["name"] = "Anna", ["email"] = "anna@example.com" }),
    };

    private async Task DraftLandsOnceAsync(FaultRule rule)
    {
        await using var run = new FaultRun(host, output);
        await run.StartAsync(messages: 10);
        await run.WaitForServedAsync(10);
        Assert.NotNull(await TestStack.WaitUntilAsync(async () =>
            (await run.Api.GetFromJsonAsync<JsonElement[]>("/folders"))!.Any(f => f.GetProperty("name").GetString() == "drafts"), TimeSpan.FromSeconds(60)));
        run.Proxy.Add(rule);

        string subject = $"Draft through a failing link {Guid.NewGuid():N}";
        using (var saved = await run.Api.PostAsync("/drafts", new StringContent(Draft(subject).ToJsonString(), Encoding.UTF8, "application/json")))
            Assert.True(saved.StatusCode == HttpStatusCode.OK, $"POST /drafts: {(int)saved.StatusCode} {await saved.Content.ReadAsStringAsync()}");
        await rule.FiredTask.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(run.Email, "Drafts", subject) >= 1, TimeSpan.FromSeconds(90)));
        await Task.Delay(Linger);
        int copies = await TestStack.CountInFolderAsync(run.Email, "Drafts", subject);
        var drafts = (await run.Api.GetFromJsonAsync<JsonElement[]>("/drafts"))!.Where(d => d.GetProperty("subject").GetString() == subject).ToList();
        foreach (string f in run.Proxy.Faults) output.WriteLine(f);
        output.WriteLine($"{copies} copies in Drafts on the server, {drafts.Count} drafts in the API");
        Assert.Equal(1, copies);
        Assert.Single(drafts);
        await run.AssertMirrorEqualsServerAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public Task A_draft_whose_APPEND_is_cut_before_the_server_stored_it_lands_once()
        => DraftLandsOnceAsync(new FaultRule { Direction = FaultDirection.ToServer, Line = new Regex(@"^\S+ APPEND "), Action = FaultAction.Cut });

    [Fact]
    public Task A_draft_whose_APPEND_answer_is_cut_after_the_server_stored_it_lands_once()
        => DraftLandsOnceAsync(new FaultRule { Direction = FaultDirection.ToClient, Line = new Regex(@"^\S+ OK \[APPENDUID "), Action = FaultAction.Cut });

    [Fact]
    public async Task A_message_whose_SMTP_DATA_is_cut_is_sent_once_or_reported_failed_never_twice()
    {
        await using var smtp = new FaultProxy(TestStack.ImapHost, TestStack.SubmissionPort);
        await using var run = new FaultRun(host, output);
        await run.StartAsync(messages: 5, smtp: smtp);
        string receiver = TestStack.NewMailbox("r");
        using (var imap = await TestStack.ConnectImapAsync(receiver)) await imap.DisconnectAsync(true);

        // STARTTLS hides the protocol from the proxy: the cut comes at a byte count inside the (large) message's DATA.
        var cut = smtp.Add(new FaultRule { Direction = FaultDirection.ToServer, AfterBytes = 100_000, Action = FaultAction.Cut });
        string subject = $"Sent through a failing link {Guid.NewGuid():N}";
        var body = new JsonObject
        {
            ["subject"] = subject,
            ["body"] = "<p>" + string.Join(' ', Enumerable.Range(0, 40_000).Select(i => $"w{i}")) + "</p>",
            ["to"] = new JsonArray(new JsonObject { ["email"] = receiver }),
        };
        using var sent = await run.Api.PostAsync("/send", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        string answer = await sent.Content.ReadAsStringAsync();
        output.WriteLine($"POST /send: {(int)sent.StatusCode} {answer[..Math.Min(300, answer.Length)]}");
        Assert.Equal(1, cut.Fired);
        Assert.True((int)sent.StatusCode < 500 || sent.StatusCode == HttpStatusCode.BadGateway || sent.StatusCode == HttpStatusCode.ServiceUnavailable,
            $"POST /send answered {(int)sent.StatusCode}: {answer}");

        await TestStack.WaitUntilAsync(async () => await TestStack.CountInFolderAsync(receiver, "INBOX", subject) >= 1, TimeSpan.FromSeconds(30));
        await Task.Delay(Linger);
        int delivered = await TestStack.CountInFolderAsync(receiver, "INBOX", subject);
        output.WriteLine($"delivered {delivered} time(s)");
        Assert.True(delivered <= 1, $"delivered {delivered} times");
        if (sent.IsSuccessStatusCode) Assert.Equal(1, delivered);
        else Assert.True(JsonDocument.Parse(answer).RootElement.TryGetProperty("message", out _), $"a failure without a Nylas-style body: {answer}");
    }
}
