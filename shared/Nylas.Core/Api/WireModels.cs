using System.Text.Json.Serialization;

namespace Nylas.Core.Api;

// The Nylas API v2 JSON shapes (see the README's API section). Property names are serialized
// snake_case by ApiJson; timestamps are Unix seconds.

public sealed record ApiParticipant(string Name, string Email);

/// <summary>The folder a message is in, as folder accounts show it (no <c>labels</c> key at all).</summary>
public sealed record ApiFolderRef(string Id, string? Name, string DisplayName);

/// <summary>A message, or a draft (<c>object: "draft"</c>, which adds <c>version</c> and <c>reply_to_message_id</c>).</summary>
public sealed record ApiMessage
{
    public const string DraftObject = "draft";

    public required string Id { get; init; }
    public string Object { get; init; } = "message";
    public required string AccountId { get; init; }
    public string? ThreadId { get; init; }
    public string Subject { get; init; } = "";
    public IReadOnlyList<ApiParticipant> From { get; init; } = [];
    public IReadOnlyList<ApiParticipant> To { get; init; } = [];
    public IReadOnlyList<ApiParticipant> Cc { get; init; } = [];
    public IReadOnlyList<ApiParticipant> Bcc { get; init; } = [];
    public IReadOnlyList<ApiParticipant> ReplyTo { get; init; } = [];
    public long Date { get; init; }
    public string Snippet { get; init; } = "";
    /// <summary>Null (key left out) for messages inside an expanded thread, which v2 sent without bodies.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Body
    {
        get => BodyUtf8 is { } utf8 ? System.Text.Encoding.UTF8.GetString(utf8) : _body;
        init => _body = value;
    }
    private readonly string? _body = "";

    /// <summary>
    /// The body as the database returns it, UTF-8; when set, it is the body (<see cref="Body"/> decodes it on demand).
    /// Reads set this: the wire writer escapes the bytes as they are, without a UTF-16 copy of every body on a page.
    /// </summary>
    [JsonIgnore]
    public byte[]? BodyUtf8 { get; init; }
    public bool Unread { get; init; }
    public bool Starred { get; init; }
    public IReadOnlyList<ApiFile> Files { get; init; } = [];
    public IReadOnlyList<Calendar.ApiEvent> Events { get; init; } = [];
    public ApiFolderRef? Folder { get; init; }
    /// <summary>Only label accounts (Gmail) carry this key; the SDK picks folder_id vs label_ids by its presence.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ApiFolderRef>? Labels { get; init; }
    /// <summary>Only with <c>view=expanded</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, object?>? Headers { get; init; }
    /// <summary>Set when the raw message could not be parsed; the raw MIME is still served.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ParseError { get; init; }
    /// <summary>The application's key-value pairs (kept in the mirror only); <c>{}</c> when none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>The job status of the mail-server write a PUT queued (its last one); absent on reads and when nothing is queued.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? JobStatusId { get; init; }
    /// <summary>Drafts only (the key is left out of messages): 0 when created, one more on every update.</summary>
    public int Version { get; init; }
    /// <summary>Drafts only: the message the draft answers, or null.</summary>
    public string? ReplyToMessageId { get; init; }

    [JsonIgnore]
    public bool IsDraft => Object == DraftObject;
}

public sealed record ApiAccount
{
    public required string Id { get; init; }
    public string Object => "account";
    public required string AccountId { get; init; }
    public string Name { get; init; } = "";
    public required string EmailAddress { get; init; }
    /// <summary>The same address as the v2 management API spelled it; the SDK's ManagementAccount (<c>Nylas.accounts</c>) reads this key.</summary>
    public string Email => EmailAddress;
    public required string Provider { get; init; }
    public string OrganizationUnit { get; init; } = "folder";
    public required string SyncState { get; init; }
    public string BillingState { get; init; } = "paid";
    public long LinkedAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SyncError { get; init; }
    /// <summary>Only in the answer to connecting an account.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AccessToken { get; init; }
}

public sealed record ApiCount(long Count);

public sealed record ApiErrorBody(string Type, string Message);

/// <summary>A folder (folder accounts) or label (Gmail): <c>name</c> is the role, null for the user's own folders.</summary>
public sealed record ApiFolder
{
    public required string Id { get; init; }
    public required string Object { get; init; }
    public required string AccountId { get; init; }
    public string? Name { get; init; }
    public required string DisplayName { get; init; }
    /// <summary>The job status of the write that answered this folder (POST, PUT); absent on reads.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? JobStatusId { get; init; }
}

/// <summary>A file (attachment or inline part) as listed on its message.</summary>
public sealed record ApiFile
{
    public required string Id { get; init; }
    public string Object => "file";
    public required string AccountId { get; init; }
    public required string ContentType { get; init; }
    public long Size { get; init; }
    public required string Filename { get; init; }
    public string? ContentId { get; init; }
    public string? ContentDisposition { get; init; }
    /// <summary>Set by /files (every message carrying the file); left out in a message's own files list.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? MessageIds { get; init; }
}

/// <summary>A conversation; <c>folders</c> for folder accounts, <c>labels</c> for label accounts (never both keys).</summary>
public sealed record ApiThread
{
    public required string Id { get; init; }
    public string Object => "thread";
    public required string AccountId { get; init; }
    public string Subject { get; init; } = "";
    public IReadOnlyList<ApiParticipant> Participants { get; init; } = [];
    public long LastMessageTimestamp { get; init; }
    public long? LastMessageReceivedTimestamp { get; init; }
    public long? LastMessageSentTimestamp { get; init; }
    public long FirstMessageTimestamp { get; init; }
    public string Snippet { get; init; } = "";
    public bool Unread { get; init; }
    public bool Starred { get; init; }
    public bool HasAttachments { get; init; }
    public int Version { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ApiFolderRef>? Folders { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ApiFolderRef>? Labels { get; init; }
    /// <summary>Left out with <c>view=expanded</c>, which carries <see cref="Messages"/> instead.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? MessageIds { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? DraftIds { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ApiMessage>? Messages { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ApiMessage>? Drafts { get; init; }
    /// <summary>The thread's own key-value pairs (not its messages'); <c>{}</c> when none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>The job status of the mail-server write a PUT queued (its last one); absent on reads and when nothing is queued.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? JobStatusId { get; init; }
}

/// <summary>An address seen in the account's mail (contacts are read-only, derived by ingest).</summary>
public sealed record ApiContact
{
    public required string Id { get; init; }
    public string Object => "contact";
    public required string AccountId { get; init; }
    public string Name { get; init; } = "";
    public required string Email { get; init; }
    /// <summary>
    /// The hosted v2 shape, which the v2 SDK's Contact model reads (it has no <c>email</c>/<c>name</c>):
    /// the same address, so SDK apps see it as <c>contact.emailAddresses</c>.
    /// </summary>
    public IReadOnlyList<ApiContactEmail> Emails => [new(null, Email)];
    /// <summary>Where v2 found the contact: <c>inbox</c> for addresses seen in mail.</summary>
    public string Source => "inbox";
    public IReadOnlyList<ApiPhoneNumber> PhoneNumbers { get; init; } = [];
}

public sealed record ApiContactEmail(string? Type, string Email);

public sealed record ApiPhoneNumber(string Type, string Number);

public sealed record ApiCalendar
{
    public required string Id { get; init; }
    public string Object => "calendar";
    public required string AccountId { get; init; }
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    public bool ReadOnly { get; init; } = true;
}
