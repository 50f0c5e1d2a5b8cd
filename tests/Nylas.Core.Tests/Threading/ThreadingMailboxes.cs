namespace Nylas.Core.Tests.Threading;

/// <summary>Realistic mailboxes with their expected threads written down (the first argument of each Add).</summary>
internal static class ThreadingMailboxes
{
    /// <summary>An IMAP work mailbox: header-threaded conversations, broken clients, notifications, junk.</summary>
    public static Mailbox Work()
    {
        var m = new Mailbox();

        // A long project conversation: root + 30 replies as a random tree, full References.
        m.Conversation("release", "Release 2.0 rollout", 0, 30, 5, seed: 1);

        // Chain, fork, a forward under a new subject (In-Reply-To only) and a reply to it, a German
        // reply, and a forward from a client that drops the headers (joins by subject).
        m.Add("q3", "q3-0", "Q3 planning", 2);
        m.Add("q3", "q3-1", "Re: Q3 planning", 2.2, inReplyTo: "q3-0", references: ["q3-0"]);
        m.Add("q3", "q3-2", "Re: Q3 planning", 2.4, inReplyTo: "q3-1", references: ["q3-0", "q3-1"]);
        m.Add("q3", "q3-3", "RE: Q3 planning", 2.5, inReplyTo: "q3-1", references: ["q3-0", "q3-1"]);
        m.Add("q3", "q3-4", "Fwd: Budget numbers for Q3", 3, inReplyTo: "q3-2");
        m.Add("q3", "q3-5", "Re: Fwd: Budget numbers for Q3", 3.5, inReplyTo: "q3-4", references: ["q3-4"]);
        m.Add("q3", "q3-6", "AW: Q3 planning", 4, inReplyTo: "q3-3", references: ["q3-0", "q3-1", "q3-3"]);
        m.Add("q3", "q3-7", "Fwd: Q3 planning", 10);

        // Missing middle: v-2 never arrives.
        m.Add("vendor", "v-1", "Vendor contract renewal", 5);
        m.Add("vendor", "v-3", "Re: Vendor contract renewal", 6, inReplyTo: "v-2", references: ["v-1", "v-2"]);
        m.Add("vendor", "v-4", "Re: Vendor contract renewal", 6.5, inReplyTo: "v-3", references: ["v-2", "v-3"]);
        m.Add("vendor", "v-5", "Re: Vendor contract renewal", 7, inReplyTo: "v-2");

        // Late parent: the root b-R never arrives; b-P links b-c1/b-c3 (In-Reply-To only) with b-c2.
        m.Add("budget", "b-P", "Re: Travel budget", 8, inReplyTo: "b-R", references: ["b-R"]);
        m.Add("budget", "b-c1", "Re: Travel budget", 9, inReplyTo: "b-P");
        m.Add("budget", "b-c2", "Re: Travel budget", 9.5, inReplyTo: "b-R", references: ["b-R"]);
        m.Add("budget", "b-c3", "Re: Travel budget", 10, inReplyTo: "b-c1");

        // Two "Hello" conversations 150 days apart, each with a proper and a headerless reply.
        m.Add("hello-1", "h1-0", "Hello", 20);
        m.Add("hello-1", "h1-1", "Re: Hello", 20.5, inReplyTo: "h1-0", references: ["h1-0"]);
        m.Add("hello-1", "h1-2", "Re: Hello", 22);
        m.Add("hello-2", "h2-0", "Hello", 170);
        m.Add("hello-2", "h2-1", "Re: Hello", 171, inReplyTo: "h2-0", references: ["h2-0"]);
        m.Add("hello-2", "h2-2", "RE: HELLO", 173);
        // A third "Hello", not a reply, days after the second: a new conversation.
        m.Add("hello-3", "h3-0", "Hello", 176); // 3 days after the headerless h2-2: beyond its 2-day look-ahead

        // Notifications: each its own thread although the subjects repeat within days.
        for (var i = 0; i < 6; i++) m.Add($"invoice-{i}", $"inv-{i}", "Your invoice from Acme Cloud", i * 30 + 1);
        for (var i = 0; i < 8; i++) m.Add($"report-{i}", $"rep-{i}", "Weekly report", i * 7 + 0.5);

        // No headers at all, and generic subjects: each alone.
        for (var i = 0; i < 6; i++) m.Add($"bare-{i}", $"bare-{i}", null, i, noMessageId: true);
        m.Add("generic-1", "gen-1", "hi", 3);
        m.Add("generic-2", "gen-2", "Re: hi", 3.1);
        m.Add("generic-3", "gen-3", "(no subject)", 3);
        m.Add("generic-4", "gen-4", "Re: (no subject)", 3.2);

        // A mailing list: a thread with a headerless reply, and the same subject 100 days later.
        m.Add("list-1", "l1-0", "[dev] Build broken on main", 12);
        m.Add("list-1", "l1-1", "Re: [dev] Build broken on main", 12.1, inReplyTo: "l1-0", references: ["l1-0"]);
        m.Add("list-1", "l1-2", "Re: [dev] Re: Build broken on main", 12.3, inReplyTo: "l1-1", references: ["l1-0", "l1-1"]);
        m.Add("list-1", "l1-3", "Re: [dev] Build broken on main", 13);
        m.Add("list-2", "l2-0", "[dev] Build broken on main", 112);
        m.Add("list-2", "l2-1", "Re: [dev] Build broken on main", 112.5, inReplyTo: "l2-0", references: ["l2-0"]);

        // Other languages, replies without headers.
        m.Add("angebot", "de-0", "Angebot Büromöbel", 30);
        m.Add("angebot", "de-1", "AW: Angebot Büromöbel", 31);
        m.Add("angebot", "de-2", "WG: AW: Angebot Büromöbel", 33);
        m.Add("meeting-zh", "zh-0", "会议安排", 40);
        m.Add("meeting-zh", "zh-1", "回复：会议安排", 40.5);
        m.Add("meeting-ru", "ru-0", "Встреча в пятницу", 50);
        m.Add("meeting-ru", "ru-1", "Ответ: Встреча в пятницу", 50.2);
        m.Add("meeting-ru", "ru-2", "Пересл: Встреча в пятницу", 51);

        // Loops, duplicates, malformed ids.
        m.Add("audit", "loop-0", "Security audit", 60);
        m.Add("audit", "loop-1", "Re: Security audit", 60.5, references: ["loop-1", "loop-0", "loop-0"], inReplyTo: "loop-0");
        m.Add("audit", "loop-2", "Re: Security audit", 61, references: ["loop-2"], rawInReplyTo: "<>");
        m.Add("empty-id-1", "e-1", "Quarterly report draft", 62, messageId: "<>", rawReferences: ["<>", ""], rawInReplyTo: "<>");
        m.Add("empty-id-2", "e-2", "Server maintenance window", 62, messageId: "<>", rawReferences: ["<>", " "]);
        m.Add("empty-id-3", "e-3", "Holiday schedule", 62, messageId: "   ");

        // The same message twice (INBOX and Sent copies).
        m.Add("minutes", "min-inbox", "Board minutes", 85, messageId: "<board-minutes-7@example.net>");
        m.Add("minutes", "min-sent", "Board minutes", 85, messageId: "board-minutes-7@example.net");

        // Headerless replies chaining across more than the window, then a new conversation.
        m.Add("sync", "w0", "Weekly sync", 70);
        m.Add("sync", "w1", "Re: Weekly sync", 90);
        m.Add("sync", "w2", "Re: Weekly sync", 115);
        m.Add("sync", "w3", "Fwd: Weekly sync", 140);
        m.Add("sync-new", "w4", "Weekly sync", 172);

        // A bot with a huge References list.
        m.Add("dc", "dc-0", "Datacenter migration", 80);
        m.Add("dc", "dc-1", "Re: Datacenter migration", 80.5, inReplyTo: "dc-0", references: ["dc-0"]);
        m.Add("dc", "dc-2", "Re: Datacenter migration", 81, references: ["dc-0"],
            rawReferences: [.. Enumerable.Range(0, 2000).Select(i => $"<n{i}@bot.example>"), Mailbox.Id("dc-1")]);

        return m;
    }

    /// <summary>A Gmail mailbox: X-GM-THRID decides, whatever the headers and subjects say.</summary>
    public static Mailbox Gmail()
    {
        var m = new Mailbox();
        m.Conversation("g1001", "Launch checklist", 0, 20, 3, seed: 7, gmail: "1001");
        m.Conversation("g1002", "Dinner Friday", 1, 8, 2, seed: 8, gmail: "1002");
        m.Conversation("g1009", "Quarterly offsite", 9, 12, 6, seed: 9, gmail: "1009");
        // Gmail split it off (subject changed) although it replies by headers into 1002.
        m.Add("g1003", "g3-0", "Dinner Friday — change of venue", 1.5, inReplyTo: "g1002-0", references: ["g1002-0"], gmail: "1003");
        m.Add("g1003", "g3-1", "Re: Dinner Friday — change of venue", 1.6, inReplyTo: "g3-0", references: ["g1002-0", "g3-0"], gmail: "1003");
        // Same subject within days: different Gmail threads stay apart, headerless replies included.
        m.Add("g1004", "g4-0", "Hello", 2, gmail: "1004");
        m.Add("g1004", "g4-1", "Re: Hello", 2.1, gmail: "1004");
        m.Add("g1005", "g5-0", "Hello", 3, gmail: "1005");
        m.Add("g1005", "g5-1", "Re: Hello", 3.1, gmail: "1005");
        // Nothing but the Gmail id.
        for (var i = 0; i < 5; i++) m.Add("g1006", $"g6-{i}", null, 4 + i, noMessageId: true, gmail: "1006");
        // Messages sharing a Message-ID but in different Gmail threads stay apart.
        m.Add("g1007", "g7-0", "Statement", 5, messageId: "<dup@bank.example>", gmail: "1007");
        m.Add("g1008", "g8-0", "Statement", 6, messageId: "<dup@bank.example>", gmail: "1008");
        // Header-threaded messages (no X-GM-THRID) never join Gmail threads, but link each other.
        m.Add("headers", "x-0", "Re: Launch checklist", 6, inReplyTo: "g1001-0", references: ["g1001-0"]);
        m.Add("headers", "x-1", "Re: Launch checklist", 7, inReplyTo: "g1001-0", references: ["g1001-0"]);
        for (var i = 0; i < 10; i++) m.Add($"g20{i:D2}", $"single-{i}", "Your order has shipped", i, gmail: $"20{i:D2}");
        return m;
    }

    /// <summary>
    /// Mailing lists and clients of every kind, generated: full References, In-Reply-To only,
    /// root + last two, parent only, replies without headers, lost messages (only where the rest
    /// still links), plus notifications and junk. Every conversation has a unique subject.
    /// </summary>
    public static Mailbox Lists(int seed, int conversations = 18)
    {
        var random = new Random(seed);
        var m = new Mailbox();
        string[] prefixes = ["Re: ", "RE: ", "AW: ", "Re[2]: ", "SV: ", "Re: [list] ", "[list] Re: "];
        string[] words = ["parser", "cache", "deploy", "login", "latency", "backup", "schema", "quota", "timeout", "upgrade"];
        for (var c = 0; c < conversations; c++)
        {
            var thread = $"conv{c}";
            var subject = $"[list] Topic {c}: {words[c % words.Length]} {words[(c * 7 + 3) % words.Length]}";
            var style = c % 5;        // 0 full, 1 In-Reply-To only, 2 root + last two, 3 parent only, 4 full with lost messages
            var start = random.NextDouble() * 120;
            var replies = 3 + random.Next(8);
            var paths = new List<string[]> { new[] { $"{thread}-0" } };
            var lostRoot = style == 4 && random.Next(2) == 0;
            if (!lostRoot) m.Add(thread, $"{thread}-0", subject, start);
            for (var i = 1; i <= replies; i++)
            {
                var parent = paths[random.Next(paths.Count)];
                var key = $"{thread}-{i}";
                var path = parent.Append(key).ToArray();
                paths.Add(path);
                var day = start + i * (0.05 + random.NextDouble() * 0.5);
                var replySubject = prefixes[random.Next(prefixes.Length)] + subject.Replace("[list] ", "");
                // Only where the root was received, some clients drop the reply headers.
                if (!lostRoot && style != 4 && random.Next(8) == 0)
                {
                    m.Add(thread, key, replySubject, day);
                    continue;
                }
                var lost = style == 4 && random.Next(4) == 0;
                if (lost) continue; // never received; its children still carry the root in References
                switch (style)
                {
                    case 0:
                    case 4:
                        m.Add(thread, key, replySubject, day, inReplyTo: parent[^1], references: parent);
                        break;
                    case 1:
                        m.Add(thread, key, replySubject, day, inReplyTo: parent[^1]);
                        break;
                    case 2:
                        m.Add(thread, key, replySubject, day, inReplyTo: parent[^1], references: [parent[0], .. parent.Skip(1).TakeLast(2)]);
                        break;
                    default:
                        m.Add(thread, key, replySubject, day, references: [parent[^1]]);
                        break;
                }
            }
        }
        // Noise: digests with the same subject every day, bare messages, one-offs.
        for (var i = 0; i < 20; i++) m.Add($"digest-{i}", $"digest-{i}", "[list] Daily digest", i);
        for (var i = 0; i < 8; i++) m.Add($"bare-{i}", $"bare-{i}", null, i * 3, noMessageId: true);
        for (var i = 0; i < 6; i++) m.Add($"oneoff-{i}", $"oneoff-{i}", $"Question about invoice {1000 + i}", 10 + i);
        return m;
    }
}
