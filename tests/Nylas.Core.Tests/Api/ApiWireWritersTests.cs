using System.Text.Json;
using Nylas.Core.Api;
using Nylas.Core.Calendar;
using Xunit;

namespace Nylas.Core.Tests.Api;

/// <summary>The fast writers of messages and threads give the bytes the serializer's contract gives, for every shape the API answers.</summary>
public class ApiWireWritersTests
{
    private static readonly ApiParticipant[] People =
    [
        new("Zoë \"Z\" O'Brien", "zoe@example.com"), new("", "<script>@example.com"), new("日本 😀 \u2028\u0001", "tab\there@example.com"),
    ];

    private static ApiMessage Message(string id = "m1") => new()
    {
        Id = id,
        AccountId = "acc",
        ThreadId = "t1",
        Subject = "Re: <b>Hello</b> & \"you\" — ünïcode \\ / \u00a0",
        From = [People[0]],
        To = People,
        Cc = [],
        Bcc = [People[2]],
        ReplyTo = [],
        Date = 1_700_000_000,
        Snippet = "snippet\nwith newline",
        Body = "<html><body style=\"x\">Hi &amp; <a href='y'>link</a>\r\n\t😀 \ud800 lone</body></html>",
        Unread = true,
        Starred = false,
        Files =
        [
            new ApiFile { Id = "f1", AccountId = "acc", ContentType = "image/png", Size = 12345, Filename = "logo.png", ContentId = "<cid@x>", ContentDisposition = "inline" },
            new ApiFile { Id = "f2", AccountId = "acc", ContentType = "application/pdf", Size = 0, Filename = "a \"b\".pdf", ContentId = null, ContentDisposition = null },
        ],
        Folder = new ApiFolderRef("fo1", "inbox", "Inbox"),
        Metadata = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["a"] = "1", ["ü<key>"] = "v\"" },
    };

    private static ApiEvent Event() => ApiEvent.From(new ParsedEvent
    {
        Uid = "uid@x",
        Title = "Meeting <1>",
        Organizer = new EventPerson("Boss", "boss@example.com"),
        Participants = [new EventParticipant("Me", "me@example.com", ParticipantStatuses.NoReply)],
        When = new EventWhen { Kind = EventWhenKind.Timespan, StartTime = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), EndTime = DateTimeOffset.FromUnixTimeSeconds(1_700_003_600), StartTimezone = "Europe/Paris" },
    }, "e1", "acc", "cal1", "m1") with { Metadata = new Dictionary<string, string> { ["k"] = "v" } };

    public static TheoryData<string> MessageShapes => ["plain", "draft", "labels", "expanded", "no body", "events", "parse error", "job", "nulls", "stored body"];

    /// <summary>What the escaping could treat differently in UTF-8 and in UTF-16: controls, line and paragraph separators, BOM, noncharacters, astral characters.</summary>
    private const string HardBody = "<p class=\"q\">\u0001\u001f\u007f\u0085 \u00a0 \u2028\u2029 \ufeff\ufffe\uffff \U0001F600 \u65e5\u672c e\u0301 \\ / ' & < > \r\n\t</p>";

    private static ApiMessage Shape(string shape) => shape switch
    {
        "plain" => Message(),
        "draft" => Message() with { Object = ApiMessage.DraftObject, Version = 3, ReplyToMessageId = "m0" },
        "labels" => Message() with { Folder = null, Labels = [new ApiFolderRef("l1", "all", "All Mail"), new ApiFolderRef("l2", null, "Work")] },
        "expanded" => Message() with
        {
            Headers = new Dictionary<string, object?> { ["Message-Id"] = "<a@b>", ["In-Reply-To"] = null, ["References"] = new[] { "<x@y>", "<z@w>" } },
        },
        "no body" => Message() with { Body = null, Folder = null },
        "events" => Message() with { Events = [Event(), Event() with { Id = "e2", Recurrence = new ApiEventRecurrence(["RRULE:FREQ=DAILY"], "UTC") }] },
        "parse error" => Message() with { ParseError = "bad MIME <here>", Subject = "" },
        "job" => Message() with { JobStatusId = "job1", Object = ApiMessage.DraftObject, ReplyToMessageId = null },
        "nulls" => Message() with { ThreadId = null, Folder = null, Metadata = ObjectMetadataNone },
        // As the database returns it: the page writer escapes the UTF-8 bytes, the contract the decoded string.
        "stored body" => Message() with { BodyUtf8 = System.Text.Encoding.UTF8.GetBytes(Message().Body + HardBody) },
        _ => throw new ArgumentOutOfRangeException(nameof(shape)),
    };

    private static readonly IReadOnlyDictionary<string, string> ObjectMetadataNone = new Dictionary<string, string>();

    [Theory]
    [MemberData(nameof(MessageShapes))]
    public void A_message_is_written_as_the_contract_writes_it(string shape)
    {
        var message = Shape(shape);
        Assert.Equal(JsonSerializer.Serialize(message, ApiJson.ContractOptions), JsonSerializer.Serialize(message, ApiJson.Options));
        IReadOnlyList<ApiMessage> page = [message, Message("m2")];
        Assert.Equal(JsonSerializer.Serialize(page, page.GetType(), ApiJson.ContractOptions), JsonSerializer.Serialize(page, page.GetType(), ApiJson.Options));
    }

    [Fact]
    public void A_message_inside_an_untyped_object_is_written_as_the_contract_writes_it()
    {
        object delta = new Dictionary<string, object?> { ["attributes"] = Shape("expanded"), ["object"] = "message" };
        Assert.Equal(JsonSerializer.Serialize(delta, ApiJson.ContractOptions), JsonSerializer.Serialize(delta, ApiJson.Options));
    }

    public static TheoryData<string> ThreadShapes => ["folders", "labels", "expanded", "nulls"];

    private static ApiThread Thread(string shape)
    {
        var thread = new ApiThread
        {
            Id = "t1",
            AccountId = "acc",
            Subject = "Sübject <x>",
            Participants = People,
            LastMessageTimestamp = 1_700_000_100,
            LastMessageReceivedTimestamp = 1_700_000_100,
            LastMessageSentTimestamp = null,
            FirstMessageTimestamp = 1_600_000_000,
            Snippet = "s\u2029",
            Unread = true,
            Starred = true,
            HasAttachments = false,
            Version = 7,
            Folders = [new ApiFolderRef("fo1", "inbox", "Inbox"), new ApiFolderRef("fo2", null, "Mine")],
            MessageIds = ["m1", "m2"],
            DraftIds = [],
            Metadata = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["x"] = "y" },
        };
        return shape switch
        {
            "folders" => thread,
            "labels" => thread with { Folders = null, Labels = [new ApiFolderRef("l1", "all", "All Mail")] },
            "expanded" => thread with
            {
                MessageIds = null, DraftIds = null,
                Messages = [Message() with { Body = null }, Shape("events") with { Body = null }],
                Drafts = [Shape("draft") with { Body = null }],
            },
            "nulls" => thread with { Folders = null, MessageIds = null, DraftIds = null, LastMessageReceivedTimestamp = null, JobStatusId = "j" },
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
    }

    [Theory]
    [MemberData(nameof(ThreadShapes))]
    public void A_thread_is_written_as_the_contract_writes_it(string shape)
    {
        var thread = Thread(shape);
        Assert.Equal(JsonSerializer.Serialize(thread, ApiJson.ContractOptions), JsonSerializer.Serialize(thread, ApiJson.Options));
        IReadOnlyList<ApiThread> page = [thread, Thread("folders")];
        Assert.Equal(JsonSerializer.Serialize(page, page.GetType(), ApiJson.ContractOptions), JsonSerializer.Serialize(page, page.GetType(), ApiJson.Options));
    }

    [Fact]
    public void Reading_goes_through_the_contract()
    {
        string json = JsonSerializer.Serialize(Thread("expanded"), ApiJson.Options);
        var read = JsonSerializer.Deserialize<ApiThread>(json, ApiJson.Options)!;
        var contractRead = JsonSerializer.Deserialize<ApiThread>(json, ApiJson.ContractOptions)!;
        Assert.Equal(JsonSerializer.Serialize(contractRead, ApiJson.ContractOptions), JsonSerializer.Serialize(read, ApiJson.Options));
        var message = JsonSerializer.Deserialize<ApiMessage>(JsonSerializer.Serialize(Message() with { Body = "<p>é</p>" }, ApiJson.Options), ApiJson.Options)!;
        Assert.Equal("<p>é</p>", message.Body);
        Assert.Equal(Message().To, message.To);
    }
}

/// <summary>The stored participant lists read as the serializer read them, the usual shape and the odd ones alike.</summary>
public class ApiParticipantsTests
{
    private static readonly JsonSerializerOptions Store = new(JsonSerializerDefaults.Web);

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("[{\"name\":\"A\",\"email\":\"a@x\"}]")]
    [InlineData(" [ {\"email\":\"a@x\", \"name\":\"\\u00e9\\\"q\\\"\"} , {\"name\":null,\"email\":\"b@x\"} ] ")]
    [InlineData("[{\"name\":\"日本 😀\",\"email\":\"c@x\"}]")]
    [InlineData("[{\"Name\":\"Case\",\"EMAIL\":\"d@x\"}]")]
    [InlineData("[{\"name\":\"Extra\",\"email\":\"e@x\",\"other\":1}]")]
    [InlineData("[{\"email\":\"only@x\"}]")]
    [InlineData("[null]")]
    public void Reads_what_the_serializer_reads(string json)
    {
        var expected = JsonSerializer.Deserialize<ApiParticipant[]>(json, Store) ?? [];
        Assert.Equal(expected, ApiParticipants.Parse(json));
    }

    [Fact]
    public void A_long_list_reads_too()
    {
        string json = JsonSerializer.Serialize(Enumerable.Range(0, 500).Select(i => new ApiParticipant($"Name {i} ü", $"p{i}@example.com")), Store);
        Assert.Equal(JsonSerializer.Deserialize<ApiParticipant[]>(json, Store), ApiParticipants.Parse(json));
    }

    [Fact]
    public void Broken_json_fails_as_before()
        => Assert.ThrowsAny<JsonException>(() => ApiParticipants.Parse("[{\"name\":\"A\""));
}
