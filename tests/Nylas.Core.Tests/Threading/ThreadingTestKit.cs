using Nylas.Core.Threading;

namespace Nylas.Core.Tests.Threading;

/// <summary>A test message: its key (the store's message key), its threading input and the label of the thread it must end up in.</summary>
internal sealed record TestMessage(string Key, ThreadingInput Input, string ExpectedThread);

/// <summary>Builds mailboxes in code: each message names the expected thread it belongs to.</summary>
internal sealed class Mailbox
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    private readonly List<TestMessage> _messages = [];
    private readonly HashSet<string> _keys = [];

    public IReadOnlyList<TestMessage> Messages => _messages;

    /// <summary>The Message-ID header of the message called <paramref name="key"/>.</summary>
    public static string Id(string key) => $"<{key}@mail.example.org>";

    /// <param name="thread">The expected thread label.</param>
    /// <param name="key">The message key; its Message-ID is <see cref="Id"/>(key) unless <paramref name="messageId"/> is given.</param>
    /// <param name="day">Days after <see cref="T0"/>.</param>
    /// <param name="inReplyTo">Key of the parent (becomes its Message-ID), or null.</param>
    /// <param name="references">Keys of the ancestors (become their Message-IDs).</param>
    /// <param name="noMessageId">The message has no Message-ID header.</param>
    /// <param name="messageId">A literal Message-ID header value instead of the one derived from the key.</param>
    /// <param name="rawReferences">Literal References values appended after <paramref name="references"/>.</param>
    public TestMessage Add(string thread, string key, string? subject, double day,
        string? inReplyTo = null, string[]? references = null, bool noMessageId = false, string? messageId = null,
        string? gmail = null, string[]? rawReferences = null, string? rawInReplyTo = null)
    {
        if (!_keys.Add(key)) throw new InvalidOperationException($"duplicate key {key}");
        var refs = (references ?? []).Select(Id).Concat(rawReferences ?? []).ToArray();
        var input = new ThreadingInput(
            MessageIdHeader: noMessageId ? null : messageId ?? Id(key),
            InReplyTo: rawInReplyTo ?? (inReplyTo is null ? null : Id(inReplyTo)),
            References: refs,
            Subject: subject,
            Date: T0.AddDays(day),
            GmailThreadId: gmail,
            StableKey: "sha256-" + key);
        var message = new TestMessage(key, input, thread);
        _messages.Add(message);
        return message;
    }

    /// <summary>
    /// A conversation: a root and <paramref name="replies"/> replies, each replying to a random earlier
    /// one (a tree), with full References, every <paramref name="stepHours"/> hours.
    /// </summary>
    public void Conversation(string thread, string subject, double startDay, int replies, double stepHours, int seed, string replyPrefix = "Re: ", string? gmail = null)
    {
        var random = new Random(seed);
        var ancestry = new List<string[]>();
        var root = $"{thread}-0";
        Add(thread, root, subject, startDay, gmail: gmail);
        ancestry.Add([root]);
        for (var i = 1; i <= replies; i++)
        {
            var parentIndex = random.Next(ancestry.Count);
            var parentPath = ancestry[parentIndex];
            var key = $"{thread}-{i}";
            Add(thread, key, replyPrefix + subject, startDay + i * stepHours / 24, inReplyTo: parentPath[^1], references: parentPath, gmail: gmail);
            ancestry.Add([.. parentPath, key]);
        }
    }

    public string ExpectedPartition() => Canon(_messages.GroupBy(m => m.ExpectedThread).Select(g => g.Select(m => m.Key)));

    /// <summary>A partition as text: keys sorted in each group, groups sorted by their first key.</summary>
    public static string Canon(IEnumerable<IEnumerable<string>> groups)
        => string.Join("\n", groups
            .Select(g => g.Order(StringComparer.Ordinal).ToArray())
            .Where(g => g.Length > 0)
            .OrderBy(g => g[0], StringComparer.Ordinal)
            .Select(g => string.Join(" ", g)));

    /// <summary>Feeds <paramref name="order"/> to a fresh store; returns the store.</summary>
    public static async Task<InMemoryThreadStore> IngestAll(IEnumerable<TestMessage> order, ThreadingEngine? engine = null)
    {
        engine ??= new ThreadingEngine();
        var store = new InMemoryThreadStore();
        foreach (var message in order)
        {
            await store.IngestAsync(engine, message.Key, message.Input);
        }
        return store;
    }

    public static string Partition(InMemoryThreadStore store) => Canon(store.Partition());

    public static List<T> Shuffle<T>(IReadOnlyList<T> items, Random random)
    {
        var list = items.ToList();
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }
}
