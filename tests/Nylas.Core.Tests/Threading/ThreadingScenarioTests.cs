using Nylas.Core.Messages;
using Nylas.Core.Threading;
using Xunit;

namespace Nylas.Core.Tests.Threading;

/// <summary>Golden scenarios, fed in the order written (the shuffle tests cover every other order).</summary>
public class ThreadingScenarioTests
{
    private readonly ThreadingEngine _engine = new();
    private readonly InMemoryThreadStore _store = new();

    private ValueTask<long> Ingest(TestMessage message) => _store.IngestAsync(_engine, message.Key, message.Input);

    private async Task AssertPartition(Mailbox mailbox, params string[] order)
    {
        var byKey = mailbox.Messages.ToDictionary(m => m.Key);
        var store = await Mailbox.IngestAll(order.Length == 0 ? mailbox.Messages : order.Select(k => byKey[k]));
        Assert.Equal(mailbox.ExpectedPartition(), Mailbox.Partition(store));
    }

    [Fact]
    public async Task A_simple_chain_is_one_thread()
    {
        var m = new Mailbox();
        var a1 = m.Add("a", "a1", "Q3 planning", 0);
        var a2 = m.Add("a", "a2", "Re: Q3 planning", 1, inReplyTo: "a1", references: ["a1"]);
        var a3 = m.Add("a", "a3", "Re: Q3 planning", 2, inReplyTo: "a2", references: ["a1", "a2"]);

        var t1 = await Ingest(a1);
        var d2 = await _engine.DecideAsync(a2.Input, _store);
        Assert.Equal(t1, d2.JoinThreadId);
        Assert.Empty(d2.MergeThreadIds);
        Assert.Equal(["a2@mail.example.org", "a1@mail.example.org"], d2.MessageIdsToIndex);
        Assert.Equal("q3 planning", d2.NormalizedSubject);
        Assert.Equal(t1, _store.Apply(a2.Key, d2));
        Assert.Equal(t1, await Ingest(a3));
        Assert.Single(_store.ThreadIds);
    }

    [Fact]
    public async Task A_fork_is_one_thread()
    {
        var m = new Mailbox();
        m.Add("r", "r", "Offsite venue", 0);
        m.Add("r", "b", "Re: Offsite venue", 1, inReplyTo: "r", references: ["r"]);
        m.Add("r", "c", "Re: Offsite venue", 1.1, inReplyTo: "r", references: ["r"]);
        m.Add("r", "d", "Re: Offsite venue", 2, inReplyTo: "b", references: ["r", "b"]);
        m.Add("r", "e", "Re: Offsite venue", 2.5, inReplyTo: "c", references: ["r", "c"]);
        await AssertPartition(m);
        await AssertPartition(m, "e", "d", "c", "b", "r");
    }

    [Fact]
    public async Task A_missing_middle_message_does_not_split_the_thread()
    {
        var m = new Mailbox();
        m.Add("t", "m1", "Contract", 0);
        // m2 (reply to m1) was never received.
        m.Add("t", "m3", "Re: Contract", 2, inReplyTo: "m2", references: ["m1", "m2"]);
        // Only In-Reply-To/References to the missing one: it links through the referenced id.
        m.Add("t", "m4", "Re: Contract", 3, inReplyTo: "m2", references: ["m2"]);
        await AssertPartition(m);
        await AssertPartition(m, "m4", "m1", "m3");
    }

    [Fact]
    public async Task A_late_parent_merges_the_threads_its_children_started()
    {
        var m = new Mailbox();
        // R (root, never received) <- P <- c1; R <- c2. c1's client only sets In-Reply-To.
        var c1 = m.Add("t", "c1", "Re: Budget", 2, inReplyTo: "P");
        var c2 = m.Add("t", "c2", "Re: Budget", 3, inReplyTo: "R", references: ["R"]);
        var p = m.Add("t", "P", "Re: Budget", 1, inReplyTo: "R", references: ["R"]);

        var t1 = await Ingest(c1);
        var t2 = await Ingest(c2);
        Assert.NotEqual(t1, t2);
        Assert.Equal(2, _store.ThreadIds.Count);

        var decision = await _engine.DecideAsync(p.Input, _store);
        Assert.Equal(Math.Min(t1, t2), decision.JoinThreadId);
        Assert.Equal([Math.Max(t1, t2)], decision.MergeThreadIds);
        var t = _store.Apply(p.Key, decision);

        Assert.Equal(Math.Min(t1, t2), t);
        Assert.Equal([t], _store.ThreadIds);
        Assert.Equal(t, _store.ThreadOf("c1"));
        Assert.Equal(t, _store.ThreadOf("c2"));
        // Every id now points at the surviving thread.
        foreach (var id in new[] { "c1", "c2", "P", "R" }) Assert.Equal(t, _store.ThreadOfMessageId($"{id}@mail.example.org"));
    }

    [Fact]
    public async Task A_late_parent_joins_the_thread_of_its_children()
    {
        var m = new Mailbox();
        var c1 = m.Add("t", "c1", "Re: Picnic", 2, inReplyTo: "P");
        var c2 = m.Add("t", "c2", "Re: Picnic", 3, inReplyTo: "P");
        var p = m.Add("t", "P", "Picnic", 1);
        var t = await Ingest(c1);
        Assert.Equal(t, await Ingest(c2));
        Assert.Equal(t, await Ingest(p));
        Assert.Single(_store.ThreadIds);
    }

    [Fact]
    public async Task Same_subject_conversations_further_apart_than_the_window_stay_apart()
    {
        var m = new Mailbox();
        m.Add("jan", "h1", "Hello", 0);
        m.Add("jan", "h1r", "Re: Hello", 1, inReplyTo: "h1", references: ["h1"]);
        m.Add("jan", "h1x", "Re: Hello", 3); // reply without headers: joins by subject
        m.Add("jun", "h2", "Hello", 150);
        m.Add("jun", "h2r", "Re: Hello", 151, inReplyTo: "h2", references: ["h2"]);
        m.Add("jun", "h2x", "RE: hello", 152);
        await AssertPartition(m);
        await AssertPartition(m, "h2x", "h1x", "h2r", "h1r", "h2", "h1");
    }

    [Fact]
    public async Task Non_replies_never_link_by_subject()
    {
        var m = new Mailbox();
        // Notifications and unrelated "Hello"s within days of each other: separate threads.
        for (var i = 0; i < 4; i++) m.Add($"invoice{i}", $"inv{i}", "Your invoice from Acme", i * 7);
        m.Add("hello-a", "ha", "Hello", 0);
        m.Add("hello-b", "hb", "Hello", 1);
        await AssertPartition(m);
    }

    [Fact]
    public async Task A_reply_without_headers_joins_by_subject_within_the_window_only()
    {
        var m = new Mailbox();
        m.Add("lunch", "l0", "Lunch?", 0);
        m.Add("lunch", "l1", "Re: Lunch?", 0.1);             // no headers, same subject
        m.Add("lunch", "l2", "AW: Lunch?", 29.9);            // 29.9 days after l0
        m.Add("lunch", "l3", "Re: Lunch?", -1.5);            // sender's clock 1.5 days behind: within the 2-day look-ahead
        m.Add("late", "l4", "Re: Lunch?", 70);               // more than 30 days after everything: alone
        m.Add("early", "l5", "Re: Lunch?", -40);             // before everything: alone
        await AssertPartition(m);
        await AssertPartition(m, "l5", "l4", "l3", "l2", "l1", "l0");
    }

    [Fact]
    public async Task Seeking_replies_chain_and_a_new_conversation_after_the_window_stays_apart()
    {
        var m = new Mailbox();
        m.Add("sync", "w0", "Weekly sync", 0);
        m.Add("sync", "w1", "Re: Weekly sync", 20);
        m.Add("sync", "w2", "Re: Weekly sync", 45); // 45 days after w0 but 25 after w1
        m.Add("sync", "w3", "Fwd: Weekly sync", 70);
        m.Add("new", "w4", "Weekly sync", 100);     // not a reply, 30 days after w3: its own conversation
        await AssertPartition(m);
        await AssertPartition(m, "w4", "w3", "w1", "w0", "w2");
    }

    [Fact]
    public async Task Generic_subjects_never_link_by_subject()
    {
        var m = new Mailbox();
        m.Add("a", "g1", "hi", 0);
        m.Add("b", "g2", "Re: hi", 0.5);
        m.Add("c", "g3", "", 0);
        m.Add("d", "g4", "Re:", 0.5);
        m.Add("e", "g5", "(no subject)", 0);
        m.Add("f", "g6", "Re: (no subject)", 0.5);
        m.Add("g", "g7", null, 0);
        m.Add("h", "g8", "Fwd:", 0.5);
        await AssertPartition(m);
    }

    [Fact]
    public async Task A_reply_with_headers_is_threaded_by_headers_only()
    {
        var m = new Mailbox();
        m.Add("hello", "h", "Hello", 0);
        // A reply to a message this mailbox never had: not a subject seeker, so it does not join "Hello".
        m.Add("other", "x", "Re: Hello", 1, inReplyTo: "unknown-parent");
        await AssertPartition(m);
    }

    [Fact]
    public async Task A_forward_with_a_new_subject_and_in_reply_to_joins()
    {
        var m = new Mailbox();
        m.Add("c", "c0", "Contract draft", 0);
        m.Add("c", "c1", "Re: Contract draft", 1, inReplyTo: "c0", references: ["c0"]);
        m.Add("c", "c2", "Fwd: Legal review needed before Friday", 2, inReplyTo: "c1");
        m.Add("c", "c3", "Re: Legal review needed before Friday", 3, inReplyTo: "c2", references: ["c2"]);
        await AssertPartition(m);
        await AssertPartition(m, "c3", "c2", "c0", "c1");
    }

    [Fact]
    public async Task Gmail_thread_ids_override_headers_and_subjects()
    {
        var m = new Mailbox();
        m.Add("g1", "a", "Hello", 0, gmail: "1700000000000000001");
        // Replies by headers to "a", but Gmail says it is another thread (e.g. the subject changed).
        m.Add("g2", "b", "Re: Hello", 1, inReplyTo: "a", references: ["a"], gmail: "1700000000000000002");
        // Nothing in common by headers or subject, same X-GM-THRID: one thread.
        m.Add("g1", "c", "Completely different", 2, gmail: "1700000000000000001");
        m.Add("g1", "d", null, 3, noMessageId: true, gmail: " 1700000000000000001 ");
        await AssertPartition(m);

        var decision = await _engine.DecideAsync(m.Messages[1].Input, _store);
        Assert.Null(decision.JoinThreadId);
        Assert.Empty(decision.MergeThreadIds);
        Assert.Empty(decision.MessageIdsToIndex);
        Assert.Null(decision.Subject);
        Assert.Equal("1700000000000000002", decision.GmailThreadId);
    }

    [Fact]
    public async Task Gmail_messages_do_not_link_header_threaded_ones()
    {
        var m = new Mailbox();
        m.Add("g", "a", "Hello there", 0, gmail: "42");
        m.Add("h", "b", "Re: Hello there", 1, inReplyTo: "a", references: ["a"]);
        m.Add("h", "c", "Re: Hello there", 2, inReplyTo: "b", references: ["a", "b"]);
        await AssertPartition(m);
    }

    [Fact]
    public async Task Redelivery_is_a_no_op()
    {
        var m = new Mailbox();
        m.Add("a", "a0", "Offsite", 0);
        m.Add("a", "a1", "Re: Offsite", 1, inReplyTo: "a0", references: ["a0"]);
        m.Add("a", "a2", "Re: Offsite", 2);                                  // subject seeker
        m.Add("a", "a3", "Re: Offsite", 2.5, noMessageId: true);             // subject seeker without id
        m.Add("b", "b0", null, 0, noMessageId: true);                        // nothing but its stable key
        m.Add("c", "c0", "Status", 0, gmail: "77");
        m.Add("d", "d0", "Re: Other", 3, inReplyTo: "x", references: ["x", "d0", "x"]);
        foreach (var message in m.Messages) await Ingest(message);
        var before = Mailbox.Partition(_store);
        var threads = _store.ThreadIds.Order().ToArray();
        var indexed = _store.IndexedMessageIdCount;

        foreach (var message in m.Messages.Reverse())
        {
            var existing = _store.ThreadOf(message.Key);
            var decision = await _engine.DecideAsync(message.Input, _store);
            Assert.Equal(existing, decision.JoinThreadId);
            Assert.Empty(decision.MergeThreadIds);
            _store.Apply(message.Key, decision);
        }
        Assert.Equal(before, Mailbox.Partition(_store));
        Assert.Equal(threads, _store.ThreadIds.Order().ToArray());
        Assert.Equal(indexed, _store.IndexedMessageIdCount);
        Assert.Equal(m.ExpectedPartition(), before);
    }

    [Fact]
    public async Task The_same_message_id_in_two_copies_is_one_thread()
    {
        var m = new Mailbox();
        m.Add("t", "inbox-copy", "Minutes", 0, messageId: "<minutes-1@example.net>");
        m.Add("t", "sent-copy", "Minutes", 0, messageId: "minutes-1@example.net");
        await AssertPartition(m);
    }

    [Fact]
    public void Loops_duplicates_and_malformed_ids_are_dropped()
    {
        var input = new ThreadingInput(
            MessageIdHeader: " <self@example.org> ",
            InReplyTo: "<>",
            References: ["<self@example.org>", "", "   ", "<>", "<a b@example.org>", "no-at-sign", "<@example.org>", "<x@>",
                "<parent@example.org>", "parent@example.org", "<parent@example.org>", new string('x', 300) + "@example.org"],
            Subject: "Re: Loop",
            Date: Mailbox.T0);
        var keys = _engine.Analyze(input);
        Assert.Equal("self@example.org", keys.OwnId);
        Assert.Equal(["self@example.org", "parent@example.org"], keys.MessageIds);
        Assert.True(keys.HasParentIds);
        Assert.False(keys.Subject!.SeeksBySubject);

        var onlySelf = _engine.Analyze(input with { References = ["<self@example.org>", "<self@example.org>"] });
        Assert.Equal(["self@example.org"], onlySelf.MessageIds);
        Assert.False(onlySelf.HasParentIds);
        Assert.True(onlySelf.Subject!.SeeksBySubject); // a self-reference is no reply header

        var malformedOwn = _engine.Analyze(input with { MessageIdHeader = "<>", StableKey = null, References = [] });
        Assert.Null(malformedOwn.OwnId);
        Assert.Empty(malformedOwn.MessageIds);
    }

    [Fact]
    public async Task Messages_with_malformed_ids_do_not_link_through_them()
    {
        var m = new Mailbox();
        m.Add("a", "x1", "Quarterly report", 0, messageId: "<>", rawReferences: ["<>", " "], rawInReplyTo: "<>");
        m.Add("b", "x2", "Server maintenance", 0, messageId: "<>", rawReferences: ["<>", " "], rawInReplyTo: "<>");
        m.Add("c", "x3", "Holiday schedule", 0, messageId: "   ");
        m.Add("d", "x4", "Parking", 0, noMessageId: true);
        await AssertPartition(m);
    }

    [Fact]
    public async Task Huge_reference_lists_are_bounded_and_still_link_root_and_parent()
    {
        var m = new Mailbox();
        m.Add("t", "root", "Release train", 0);
        m.Add("t", "parent", "Re: Release train", 1, inReplyTo: "root", references: ["root"]);
        var junk = Enumerable.Range(0, 5000).Select(i => $"<junk{i}@bot.example>").ToArray();
        var big = m.Add("t", "big", "Re: Release train", 2, references: ["root"],
            rawReferences: [.. junk, Mailbox.Id("parent")]);
        var keys = _engine.Analyze(big.Input);
        Assert.Equal(1 + 50, keys.MessageIds.Count); // own + first + last 49
        Assert.Contains("root@mail.example.org", keys.MessageIds);
        Assert.Contains("parent@mail.example.org", keys.MessageIds);
        await AssertPartition(m, "big", "root", "parent");
        await AssertPartition(m, "root", "big", "parent");
    }

    [Fact]
    public async Task A_decision_that_is_stale_is_refused()
    {
        var m = new Mailbox();
        var a = m.Add("t", "a", "Offsite", 0, inReplyTo: "p");
        var b = m.Add("t", "b", "Offsite plan", 0, inReplyTo: "q");
        var c = m.Add("t", "c", "Offsite", 0, references: ["p", "q"]);
        await Ingest(a);
        await Ingest(b);
        var decision = await _engine.DecideAsync(c.Input, _store);
        Assert.Single(decision.MergeThreadIds);
        _store.Apply(c.Key, decision);
        Assert.Throws<InvalidOperationException>(() => _store.Apply("d", decision));
    }

    [Fact]
    public async Task Extreme_dates_do_not_overflow_the_window()
    {
        var early = new ThreadingInput("<a@x.org>", null, [], "Re: Lunch plans", DateTimeOffset.MinValue);
        var late = new ThreadingInput("<b@x.org>", null, [], "Re: Lunch plans", DateTimeOffset.MaxValue);
        await _store.IngestAsync(_engine, "a", early);
        await _store.IngestAsync(_engine, "b", late);
        Assert.Equal(2, _store.ThreadIds.Count);
    }

    [Fact]
    public async Task Long_subjects_are_keyed_by_a_bounded_prefix()
    {
        var longSubject = string.Concat(Enumerable.Repeat("quarterly planning ", 30)) + "\U0001F3BB tail";
        var keys = _engine.Analyze(new ThreadingInput("<a@x.org>", null, [], "Re: " + longSubject, Mailbox.T0));
        Assert.Equal(SubjectNormalizer.Normalize(longSubject), keys.NormalizedSubject);
        Assert.True(keys.Subject!.Key.Length <= SubjectIndexEntry.MaxKeyLength);
        Assert.StartsWith(keys.Subject.Key, keys.NormalizedSubject, StringComparison.Ordinal);
        Assert.Equal("x\U0001F3BB", SubjectIndexEntry.KeyOf(new string('x', SubjectIndexEntry.MaxKeyLength - 2) + "\U0001F3BB")[^3..]);
        Assert.Equal(new string('x', SubjectIndexEntry.MaxKeyLength - 1), SubjectIndexEntry.KeyOf(new string('x', SubjectIndexEntry.MaxKeyLength - 1) + "\U0001F3BB"));

        var m = new Mailbox();
        m.Add("t", "l0", longSubject, 0);
        m.Add("t", "l1", "Re: " + longSubject, 1);
        await AssertPartition(m, "l1", "l0");
    }

    [Fact]
    public void Input_from_a_parsed_message()
    {
        var parsed = new ParsedMessage
        {
            Subject = "Re: x", MessageIdHeader = "a@b", InReplyTo = "p@b", References = ["r@b", "p@b"],
        };
        var input = ThreadingInput.From(parsed, Mailbox.T0, "9", "hash");
        Assert.Equal(new ThreadingInput("a@b", "p@b", parsed.References, "Re: x", Mailbox.T0, "9", "hash"), input);
    }
}
