using Nylas.Core.Threading;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Core.Tests.Threading;

/// <summary>
/// The acceptance criterion: whatever the arrival order (and with redeliveries), the same messages end
/// up in the same threads, and those are the threads written down for each mailbox.
/// </summary>
public class ShuffleInvarianceTests(ITestOutputHelper output)
{
    private const int Permutations = 200;

    public static TheoryData<string> MailboxNames => ["work", "gmail", "lists-1", "lists-2", "lists-3"];

    private static Mailbox Build(string name) => name switch
    {
        "work" => ThreadingMailboxes.Work(),
        "gmail" => ThreadingMailboxes.Gmail(),
        "lists-1" => ThreadingMailboxes.Lists(seed: 11),
        "lists-2" => ThreadingMailboxes.Lists(seed: 22, conversations: 25),
        "lists-3" => ThreadingMailboxes.Lists(seed: 33, conversations: 28),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(MailboxNames))]
    public async Task Every_arrival_order_gives_the_expected_threads(string name)
    {
        var mailbox = Build(name);
        Assert.InRange(mailbox.Messages.Count, 60, 250);
        var expected = mailbox.ExpectedPartition();
        var expectedThreads = mailbox.Messages.Select(m => m.ExpectedThread).Distinct().Count();
        output.WriteLine($"{name}: {mailbox.Messages.Count} messages, {expectedThreads} threads, {Permutations} orders");

        // The order written, its reverse, then seeded random permutations.
        var orders = new List<IReadOnlyList<TestMessage>> { mailbox.Messages, mailbox.Messages.Reverse().ToArray() };
        var random = new Random(name.Length * 7919 + 17);
        while (orders.Count < Permutations) orders.Add(Mailbox.Shuffle(mailbox.Messages, random));

        for (var i = 0; i < orders.Count; i++)
        {
            var store = await Mailbox.IngestAll(orders[i]);
            var actual = Mailbox.Partition(store);
            Assert.True(expected == actual, $"{name}, permutation {i}:\n{Diff(expected, actual)}");
            Assert.Equal(expectedThreads, store.ThreadIds.Count); // no empty or leftover threads
        }
    }

    [Theory]
    [MemberData(nameof(MailboxNames))]
    public async Task Redeliveries_in_any_order_change_nothing(string name)
    {
        var mailbox = Build(name);
        var expected = mailbox.ExpectedPartition();
        var random = new Random(name.Length * 104729 + 3);
        for (var i = 0; i < 50; i++)
        {
            // Every message once, a random fifth of them again at random later positions.
            var order = Mailbox.Shuffle(mailbox.Messages, random);
            foreach (var again in Mailbox.Shuffle(mailbox.Messages, random).Take(mailbox.Messages.Count / 5))
            {
                var first = order.IndexOf(again);
                order.Insert(random.Next(first + 1, order.Count + 1), again);
            }
            var store = await Mailbox.IngestAll(order);
            Assert.True(expected == Mailbox.Partition(store), $"{name}, run {i}:\n{Diff(expected, Mailbox.Partition(store))}");
        }
    }

    /// <summary>
    /// Adversarial random mailboxes (few ids and subjects shared by many messages, Gmail and
    /// header-threaded messages mixed, malformed ids): every order yields the connected components
    /// of the pairwise link relation, computed here in one batch.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task Random_mailboxes_thread_as_the_batch_reference_in_every_order(int seed)
    {
        var random = new Random(seed);
        var engine = new ThreadingEngine();
        var messages = RandomMailbox(random, 80 + random.Next(80));
        var reference = BatchReference(engine, messages).Select(g => g.ToArray()).ToArray();
        var expected = Mailbox.Canon(reference);
        output.WriteLine($"seed {seed}: {messages.Count} messages, {reference.Length} threads, largest {reference.Max(g => g.Length)}");
        Assert.Contains('\n', expected); // more than one thread ...
        Assert.Contains(' ', expected);  // ... and some with more than one message

        for (var i = 0; i < 60; i++)
        {
            var store = await Mailbox.IngestAll(Mailbox.Shuffle(messages, random), engine);
            var actual = Mailbox.Partition(store);
            Assert.True(expected == actual, $"seed {seed}, permutation {i}:\n{Diff(expected, actual)}");
        }
    }

    private static List<TestMessage> RandomMailbox(Random random, int count)
    {
        string[] subjects = ["Hello", "Re: Hello", "Fwd: Hello", "Lunch plans", "AW: Lunch plans", "hi", "Re: hi", "", "Invoice 42", "Re: Invoice 42", "回复：会议安排", "会议安排"];
        string?[] odd = [null, "<>", " ", "no-at-sign", "<a b@x.org>"];
        var messages = new List<TestMessage>();
        for (var i = 0; i < count; i++)
        {
            string? Id() => random.Next(10) == 0 ? odd[random.Next(odd.Length)] : $"<id{random.Next(count * 3)}@x.org>";
            var references = Enumerable.Range(0, random.Next(4) == 0 ? 0 : random.Next(1, 5)).Select(_ => Id()).OfType<string>().ToArray();
            var input = new ThreadingInput(
                MessageIdHeader: random.Next(12) == 0 ? null : $"<m{i}@x.org>",
                InReplyTo: random.Next(3) == 0 ? null : Id(),
                References: random.Next(3) == 0 ? [] : references,
                Subject: subjects[random.Next(subjects.Length)],
                Date: Mailbox.T0.AddHours(random.Next(24 * 120)),
                GmailThreadId: random.Next(6) == 0 ? $"{random.Next(5)}" : null,
                StableKey: $"sha-{i}");
            messages.Add(new TestMessage($"m{i:D3}", input, ""));
        }
        return messages;
    }

    /// <summary>The specification, in one batch: connected components of the pairwise link relation.</summary>
    private static IEnumerable<IEnumerable<string>> BatchReference(ThreadingEngine engine, IReadOnlyList<TestMessage> messages)
    {
        var keys = messages.Select(m => engine.Analyze(m.Input)).ToArray();
        var parent = Enumerable.Range(0, messages.Count).ToArray();
        int Find(int x) => parent[x] == x ? x : parent[x] = Find(parent[x]);

        bool SubjectEdge(ThreadingKeys seeker, ThreadingKeys other)
            => seeker.Subject is { SeeksBySubject: true } s && other.Subject is { } o && s.Key == o.Key
               && o.Date >= s.Date - engine.Options.SubjectLookBack && o.Date <= s.Date + engine.Options.SubjectLookAhead;

        for (var i = 0; i < messages.Count; i++)
        {
            for (var j = i + 1; j < messages.Count; j++)
            {
                var (a, b) = (keys[i], keys[j]);
                var linked = a.GmailThreadId is not null || b.GmailThreadId is not null
                    ? a.GmailThreadId == b.GmailThreadId
                    : a.MessageIds.Intersect(b.MessageIds).Any() || SubjectEdge(a, b) || SubjectEdge(b, a);
                if (linked) parent[Find(i)] = Find(j);
            }
        }
        return Enumerable.Range(0, messages.Count).GroupBy(Find).Select(g => g.Select(i => messages[i].Key));
    }

    private static string Diff(string expected, string actual)
    {
        var e = expected.Split('\n').ToHashSet();
        var a = actual.Split('\n').ToHashSet();
        return "expected but missing:\n  " + string.Join("\n  ", e.Except(a)) + "\nactual but unexpected:\n  " + string.Join("\n  ", a.Except(e));
    }
}
