using System.Security.Cryptography;
using System.Text;
using Nylas.Core.Calendar;
using Nylas.Core.Messages;
using Nylas.Core.Threading;

namespace Nylas.ApiBench;

public sealed record BenchFolder(string Name, string? Role, string Attributes);

public sealed record BenchFile(int Index, string Sha256, string Filename, string ContentType, long Size);

public sealed record BenchAttachment(BenchFile File, string Disposition, string? ContentId);

/// <summary>One message as ingest would have stored it (row ids are assigned by the seeder).</summary>
public sealed class BenchMessage
{
    public required int Index { get; init; }
    public required int Thread { get; init; }
    public required string MessageIdHeader { get; init; }
    public string? InReplyTo { get; init; }
    public required IReadOnlyList<string> References { get; init; }
    public required string Subject { get; init; }
    public required Participant From { get; init; }
    public required IReadOnlyList<Participant> To { get; init; }
    public required IReadOnlyList<Participant> Cc { get; init; }
    public required long DateUnix { get; init; }
    public required long ReceivedUnix { get; init; }
    public required bool Sent { get; init; }
    public required bool Read { get; init; }
    public required bool Starred { get; init; }
    public required IReadOnlyList<int> Folders { get; init; }
    public required int BodyLength { get; init; }
    public required IReadOnlyList<BenchAttachment> Attachments { get; init; }
    public ParsedEvent? Invitation { get; init; }
}

/// <summary>A thread as its messages make it (aggregates computed the way ThreadWriter folds them in).</summary>
public sealed class BenchThread
{
    public required int Index { get; init; }
    public List<BenchMessage> Messages { get; } = [];
}

/// <summary>
/// A synthetic but realistic mailbox: conversations of 1 to 200 messages (most short), a few hundred
/// correspondents, replies that quote their parent's Message-ID, mail filed in several folders (a few messages
/// in two), attachments (some shared, some inline), and invitations. Deterministic for a seed.
/// </summary>
public sealed class Mailbox
{
    public const string Owner = "bench@example.com";
    public const string OwnerName = "Bench Owner";

    public static readonly IReadOnlyList<BenchFolder> FolderList =
    [
        new("INBOX", "inbox", ""), new("Sent", "sent", "\\Sent"), new("Archive", "archive", "\\Archive"),
        new("Trash", "trash", "\\Trash"), new("Drafts", "drafts", "\\Drafts"), new("Junk", "spam", "\\Junk"),
        new("Newsletters", null, ""), new("Projects", null, ""), new("Receipts", null, ""),
    ];

    private const int Inbox = 0, SentFolder = 1, Archive = 2, Trash = 3, Newsletters = 6, Projects = 7, Receipts = 8;

    private static readonly string[] FirstNames = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal", "Lena", "Marta", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yusuf", "Zoë"];
    private static readonly string[] LastNames = ["Andersen", "Baker", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Hoffmann", "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Müller", "Nakamura", "O'Brien", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"];
    private static readonly string[] Domains = ["example.org", "example.net", "acme.example", "globex.example", "initech.example", "umbrella.example", "mail.example"];
    private static readonly string[] Topics = ["Quarterly report", "Budget review", "Release plan", "Team offsite", "Contract renewal", "Invoice", "Design review", "Hiring update", "Customer escalation", "Roadmap", "Lunch on Friday", "Server migration", "Weekly sync", "Conference travel", "Security audit", "Onboarding", "Feedback on the draft", "Board meeting", "Support ticket", "Pricing proposal"];
    private static readonly string[] Words = "the a project meeting we should next week please review attached numbers update customer team plan draft changes schedule budget approve notes thanks question deadline agenda follow up status call tomorrow morning afternoon report figures quarter release version fix issue server data access share document comments before after friday monday".Split(' ');
    private static readonly (string Name, string Type, long Min, long Max)[] FileKinds =
    [
        ("report.pdf", "application/pdf", 40_000, 2_000_000), ("figures.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 15_000, 600_000),
        ("proposal.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 20_000, 900_000),
        ("photo.jpg", "image/jpeg", 80_000, 4_000_000), ("notes.txt", "text/plain", 500, 20_000), ("archive.zip", "application/zip", 100_000, 8_000_000),
    ];

    public required IReadOnlyList<BenchMessage> Messages { get; init; }
    public required IReadOnlyList<BenchThread> Threads { get; init; }
    public required IReadOnlyList<BenchFile> Files { get; init; }
    public required int Seed { get; init; }

    /// <summary>Messages newest first, as the API lists them (received time, then row id, descending).</summary>
    public IEnumerable<BenchMessage> NewestFirst() => Messages.OrderByDescending(m => m.ReceivedUnix).ThenByDescending(m => m.Index);

    public static Mailbox Generate(int messageCount, int seed, DateTimeOffset now)
    {
        var random = new Random(seed);
        var people = Enumerable.Range(0, 600).Select(i =>
        {
            string first = FirstNames[random.Next(FirstNames.Length)], last = LastNames[random.Next(LastNames.Length)];
            string local = $"{first}.{last}{(i >= 100 ? i.ToString() : "")}".ToLowerInvariant().Replace("'", "");
            return new Participant($"{first} {last}", $"{Ascii(local)}@{Domains[i % Domains.Length]}");
        }).ToArray();
        var owner = new Participant(OwnerName, Owner);
        long end = now.AddDays(-1).ToUnixTimeSeconds(), start = now.AddYears(-3).ToUnixTimeSeconds();

        // Conversation sizes: 40 % single messages, the rest 2 + geometric (mean 4), capped at 200: ~4 messages a thread.
        var plans = new List<(int Size, long Start, Participant[] Others, string Subject, bool Newsletter)>();
        int planned = 0;
        while (planned < messageCount)
        {
            int size = random.NextDouble() < 0.4 ? 1 : Math.Min(200, 2 + (int)Math.Floor(Math.Log(1 - random.NextDouble()) / Math.Log(1 - 0.2)));
            size = Math.Min(size, messageCount - planned);
            var others = Enumerable.Range(0, 1 + (random.NextDouble() < 0.3 ? random.Next(1, 4) : 0)).Select(_ => people[random.Next(people.Length)]).Distinct().ToArray();
            bool newsletter = size == 1 && random.NextDouble() < 0.15;
            string subject = newsletter ? $"Newsletter #{plans.Count}: {Topics[random.Next(Topics.Length)]}" : $"{Topics[random.Next(Topics.Length)]} {plans.Count}";
            plans.Add((size, start + (long)(random.NextDouble() * (end - start)), others, subject, newsletter));
            planned += size;
        }

        var drafts = new List<(int Thread, int Position, long Received, BenchMessage? Parent, bool Sent, (int Thread, Participant[] Others, string Subject, bool Newsletter) Plan)>();
        for (int t = 0; t < plans.Count; t++)
        {
            long at = plans[t].Start;
            for (int k = 0; k < plans[t].Size; k++)
            {
                drafts.Add((t, k, at, null, !plans[t].Newsletter && (k == 0 ? random.NextDouble() < 0.15 : random.NextDouble() < 0.3), (t, plans[t].Others, plans[t].Subject, plans[t].Newsletter)));
                at += 60 + (long)(-Math.Log(1 - random.NextDouble()) * 8 * 3600);
            }
        }
        // Ingest order: oldest first (row ids grow with time); ties keep thread order.
        drafts.Sort((a, b) => a.Received != b.Received ? a.Received.CompareTo(b.Received) : a.Thread != b.Thread ? a.Thread.CompareTo(b.Thread) : a.Position.CompareTo(b.Position));

        var threads = plans.Select((_, i) => new BenchThread { Index = i }).ToArray();
        var files = new List<BenchFile>();
        var logo = new BenchFile(0, Sha(random), "logo.png", "image/png", 7_421);
        files.Add(logo);
        var messages = new List<BenchMessage>(messageCount);
        long recentCut = now.AddDays(-14).ToUnixTimeSeconds();
        foreach (var d in drafts)
        {
            var thread = threads[d.Thread];
            var parent = thread.Messages.LastOrDefault();
            var others = d.Plan.Others;
            Participant from = d.Sent ? owner : others[random.Next(others.Length)];
            IReadOnlyList<Participant> to = d.Sent ? [others[0]] : d.Plan.Newsletter ? [owner] : [owner, .. others.Where(o => o != from).Take(1)];
            IReadOnlyList<Participant> cc = !d.Plan.Newsletter && others.Length > 2 ? others.Where(o => o != from && !to.Contains(o)).ToArray() : [];
            var folders = new List<int>();
            if (d.Sent) folders.Add(SentFolder);
            else if (d.Plan.Newsletter) folders.Add(random.NextDouble() < 0.8 ? Newsletters : Trash);
            else
            {
                double f = random.NextDouble();
                folders.Add(f < 0.68 ? Inbox : f < 0.90 ? Archive : f < 0.95 ? Projects : f < 0.98 ? Receipts : Trash);
                // A copy in a second folder (same bytes: one message row, two locations).
                if (random.NextDouble() < 0.02 && folders[0] != Projects) folders.Add(Projects);
            }
            var attachments = new List<BenchAttachment>();
            if (d.Plan.Newsletter) attachments.Add(new BenchAttachment(logo, "inline", "logo@bench.example"));
            else if (random.NextDouble() < 0.10)
            {
                int count = random.NextDouble() < 0.7 ? 1 : random.Next(2, 4);
                for (int i = 0; i < count; i++)
                {
                    var kind = FileKinds[random.Next(FileKinds.Length)];
                    var file = new BenchFile(files.Count, Sha(random), $"{Path.GetFileNameWithoutExtension(kind.Name)}-{files.Count}{Path.GetExtension(kind.Name)}", kind.Type,
                        kind.Min + (long)(random.NextDouble() * (kind.Max - kind.Min)));
                    files.Add(file);
                    attachments.Add(new BenchAttachment(file, "attachment", null));
                }
            }
            int index = messages.Count;
            var references = parent is null ? [] : parent.References.Append(parent.MessageIdHeader).TakeLast(20).ToArray();
            long received = d.Received;
            ParsedEvent? invitation = null;
            if (!d.Plan.Newsletter && random.NextDouble() < 0.005)
            {
                var when = DateTimeOffset.FromUnixTimeSeconds(received).AddDays(random.Next(1, 14)).AddHours(random.Next(0, 8));
                invitation = new ParsedEvent
                {
                    Uid = $"evt-{index}@bench.example", Sequence = 0, Method = "REQUEST", Title = d.Plan.Subject,
                    Description = "Agenda attached.", Location = $"Room {random.Next(1, 20)}",
                    Organizer = new EventPerson(from.Name, from.Email),
                    Participants = to.Concat(cc).Select(p => new EventParticipant(p.Name, p.Email, ParticipantStatuses.NoReply)).ToArray(),
                    When = EventWhen.Timed(when, when.AddMinutes(30 * random.Next(1, 5)), "Europe/Berlin", "Europe/Berlin"),
                };
            }
            var message = new BenchMessage
            {
                Index = index,
                Thread = d.Thread,
                MessageIdHeader = $"{index}.{random.Next():x8}@{from.Email[(from.Email.IndexOf('@') + 1)..]}",
                InReplyTo = parent?.MessageIdHeader,
                References = references,
                Subject = parent is null ? d.Plan.Subject : $"Re: {d.Plan.Subject}",
                From = from,
                To = to,
                Cc = cc,
                DateUnix = received - random.Next(0, 120),
                ReceivedUnix = received,
                Sent = d.Sent,
                Read = d.Sent || random.NextDouble() < (received < recentCut ? 0.95 : 0.5),
                Starred = random.NextDouble() < 0.04,
                Folders = folders,
                BodyLength = 1_500 + random.Next(1_000),
                Attachments = attachments,
                Invitation = invitation,
            };
            messages.Add(message);
            thread.Messages.Add(message);
        }
        return new Mailbox { Messages = messages, Threads = threads, Files = files, Seed = seed };
    }

    /// <summary>An HTML body of about <paramref name="length"/> characters and its snippet, as the mapper makes them from plain text.</summary>
    public static (string Html, string Snippet) Body(BenchMessage message, int seed)
    {
        var random = new Random(seed ^ message.Index);
        var text = new StringBuilder();
        var html = new StringBuilder("<div dir=\"ltr\">");
        while (html.Length < message.BodyLength)
        {
            var sentence = string.Join(' ', Enumerable.Range(0, random.Next(6, 18)).Select(_ => Words[random.Next(Words.Length)]));
            sentence = char.ToUpperInvariant(sentence[0]) + sentence[1..] + ".";
            html.Append("<p>").Append(sentence).Append("</p>");
            text.Append(sentence).Append(' ');
        }
        html.Append("</div>");
        string plain = text.ToString().TrimEnd();
        return (html.ToString(), plain.Length <= 200 ? plain : plain[..200]);
    }

    /// <summary>What threading records for the message: its subject-index row and the Message-IDs it indexes.</summary>
    public static ThreadingKeys Keys(ThreadingEngine engine, BenchMessage m)
        => engine.Analyze(new ThreadingInput(m.MessageIdHeader, m.InReplyTo, m.References, m.Subject, DateTimeOffset.FromUnixTimeSeconds(m.DateUnix)));

    private static string Sha(Random random)
    {
        Span<byte> bytes = stackalloc byte[32];
        random.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    private static string Ascii(string s)
    {
        var normalized = s.Normalize(NormalizationForm.FormD);
        return new string(normalized.Where(c => c < 128).ToArray());
    }

    /// <summary>A stable SHA-256 for a message's raw bytes (the seeder has no MIME; only uniqueness matters).</summary>
    public static string MessageSha(int seed, int index) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"apibench:{seed}:{index}")));
}
