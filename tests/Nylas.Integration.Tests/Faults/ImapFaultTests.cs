using System.Text.Json;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Nylas.Testing;
using Nylas.Testing.Faults;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Integration.Tests.Faults;

/// <summary>
/// Faults on the IMAP connection during an initial sync with concurrent changes by another client: afterwards the mirror
/// must equal the server (<see cref="MirrorCheck"/>). Deadlines are generous; no timing is asserted.
/// </summary>
public sealed class ImapFaultTests(FaultHostFixture host, ITestOutputHelper output) : IClassFixture<FaultHostFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(FaultSize.Full ? 300 : 120);

    /// <summary>A response line that starts a message's body (the step's UID FETCH BODY.PEEK[]).</summary>
    private static readonly Regex BodyLine = new(@"^\* \d+ FETCH \(.*BODY\[\] \{\d+\}$", RegexOptions.Compiled);

    [Fact]
    public async Task A_connection_cut_mid_FETCH_loses_nothing()
    {
        await using var run = new FaultRun(host, output);
        int at = FaultSize.Point(40, FaultSize.Messages / 2, run.Seed);
        output.WriteLine($"cut at the FETCH response of body {at + 1}");
        var cut = run.Proxy.Add(new FaultRule { Direction = FaultDirection.ToClient, Line = BodyLine, Skip = at, Action = FaultAction.Cut });
        await run.StartAsync();
        run.StartChanges();
        await cut.FiredTask.WaitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine($"cut with {await run.ServedAsync()} of {run.Mailbox.Total} served");
        await run.AssertMirrorEqualsServerAsync(Settle);
    }

    [Fact]
    public async Task A_server_that_stops_answering_mid_FETCH_without_closing_is_given_up_and_the_sync_completes()
    {
        // Today's bound: MailKit's per-read timeout, Nylas:Sync:ConnectTimeoutSeconds (30 s by default), then a new connection.
        await using var run = new FaultRun(host, output);
        int at = FaultSize.Point(40, FaultSize.Messages / 2, run.Seed);
        output.WriteLine($"stall at the FETCH response of body {at + 1}");
        var stall = run.Proxy.Add(new FaultRule { Direction = FaultDirection.ToClient, Line = BodyLine, Skip = at, Action = FaultAction.Stall });
        await run.StartAsync();
        run.StartChanges();
        await stall.FiredTask.WaitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine($"stalled with {await run.ServedAsync()} of {run.Mailbox.Total} served");
        await run.AssertMirrorEqualsServerAsync(Settle);
    }

    [Fact]
    public async Task A_folder_the_server_refuses_to_SELECT_does_not_stop_the_others_and_syncs_once_it_opens()
    {
        await using var run = new FaultRun(host, output);
        var refuse = run.Proxy.Add(new FaultRule
        {
            Direction = FaultDirection.ToServer, Line = new Regex(@"^\S+ (SELECT|EXAMINE) ""?INBOX""?( |$)"), Times = 0,
            Action = FaultAction.Answer, Answer = "{tag} NO [SERVERBUG] Internal error occurred. Refer to server log for more information.",
        });
        await run.StartAsync();
        run.StartChanges();
        await refuse.FiredTask.WaitAsync(TimeSpan.FromSeconds(120));
        // INBOX is the first folder a step visits: mail that arrives in the others after the refusal must come in while it stays refused.
        await run.StopChangesAsync();
        var random = new Random(run.Seed);
        foreach (string folder in new[] { "Archive", "Lists" })
            await TestStack.AppendManyAsync(run.Email, Enumerable.Range(0, 5).Select(i => FaultMailbox.Generated(run.Email, 900_000 + i, random)), folder);
        await run.AssertMirrorEqualsServerAsync(Settle, new HashSet<string>(FaultMailbox.Folders.Where(f => f != "INBOX")));
        var account = await run.Api.GetFromJsonAsync<JsonElement>("/account");
        output.WriteLine($"with INBOX refused: sync_state {account.GetProperty("sync_state")}");
        output.WriteLine($"SELECT INBOX refused {refuse.Fired} times");
        run.Proxy.Clear();
        await run.AssertMirrorEqualsServerAsync(Settle);
    }

    [Fact]
    public async Task A_UID_the_server_leaves_out_of_a_FETCH_answer_once_is_not_lost()
    {
        await using var run = new FaultRun(host, output);
        // The step's summary FETCH (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]) answers for every UID but one, once.
        var drop = run.Proxy.Add(new FaultRule
        {
            Direction = FaultDirection.ToClient, Line = new Regex($@"^\* \d+ FETCH \(UID {FaultSize.Point(17, 100, run.Seed)} .*HEADER\.FIELDS"), Action = FaultAction.DropLine,
        });
        await run.StartAsync();
        run.StartChanges();
        await drop.FiredTask.WaitAsync(TimeSpan.FromSeconds(120));
        await run.AssertMirrorEqualsServerAsync(Settle);
    }

    [Fact]
    public async Task A_UIDVALIDITY_reset_while_ingest_is_behind_leaves_the_mirror_equal_to_the_server()
    {
        await using var run = new FaultRun(host, output);
        await run.StartAsync();
        run.StartChanges();
        await run.WaitForServedAsync(FaultSize.Point(50, FaultSize.Messages / 2, run.Seed));
        // Dovecot keeps the UIDs and only changes UIDVALIDITY: every cached UID of INBOX is stale for the client.
        string status = await TestStack.DoveadmAsync($"mailbox status -u {run.Email} uidvalidity INBOX");
        long old = long.Parse(status.Trim().Split('=')[1]);
        await TestStack.DoveadmAsync($"mailbox update -u {run.Email} --uid-validity {old + 1000} INBOX");
        output.WriteLine($"INBOX UIDVALIDITY {old} -> {old + 1000} with {await run.ServedAsync()} of {run.Mailbox.Total} served");
        await run.AssertMirrorEqualsServerAsync(Settle);
    }
}

/// <summary>A safety cycle of an hour: only the mailbox watcher can bring new mail in within the test's deadline.</summary>
public sealed class WatchFaultHostFixture : FaultHostFixture
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        base.Configure(settings);
        settings["Nylas:Sync:IdleSeconds"] = "3600";
        // Today's bound for a dead IDLE: IDLE ends after IdleRefreshSeconds, then DONE waits MailKit's timeout (ConnectTimeoutSeconds).
        settings["Nylas:Sync:IdleRefreshSeconds"] = "10";
        settings["Nylas:Sync:ConnectTimeoutSeconds"] = "10";
    }
}

/// <summary>Faults on the watcher's IDLE connection (Sync/Watching): new mail must still arrive.</summary>
public sealed class WatcherFaultTests(WatchFaultHostFixture host, ITestOutputHelper output) : IClassFixture<WatchFaultHostFixture>
{
    private static readonly Regex Idle = new(@"^\S+ IDLE$", RegexOptions.Compiled);

    private async Task NewMailArrivesAfterAsync(FaultAction action)
    {
        await using var run = new FaultRun(host, output);
        await run.StartAsync(messages: 20);
        await run.WaitForServedAsync(20);
        var fault = run.Proxy.Add(new FaultRule { Direction = FaultDirection.ToServer, Line = Idle, Action = action });
        await fault.FiredTask.WaitAsync(TimeSpan.FromSeconds(120));
        // Only the watcher may bring the new message in: a sync step still running when the fault came would fetch it
        // whether or not the watcher noticed its connection died.
        await run.WaitForSyncWaitingAsync(TimeSpan.FromSeconds(60));
        await TestStack.AppendAsync(run.Email, TestStack.SimpleMessage(run.Email, "after the fault"));
        var took = await TestStack.WaitUntilAsync(async () => await run.ServedAsync() == 21, TimeSpan.FromSeconds(120));
        output.WriteLine(took is { } t ? $"new mail served {t.TotalSeconds:F0} s after the {action}" : $"new mail not served 120 s after the {action}");
        foreach (string f in run.Proxy.Faults) output.WriteLine(f);
        if (!took.HasValue) run.WriteHostLog();
        Assert.True(took.HasValue, $"new mail not served within 120 s after the watcher's IDLE connection was {action}");
        await run.AssertMirrorEqualsServerAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public Task A_connection_cut_mid_IDLE_is_reopened_and_new_mail_arrives() => NewMailArrivesAfterAsync(FaultAction.Cut);

    [Fact]
    public Task A_dead_IDLE_connection_is_detected_and_new_mail_arrives() => NewMailArrivesAfterAsync(FaultAction.Stall);
}
