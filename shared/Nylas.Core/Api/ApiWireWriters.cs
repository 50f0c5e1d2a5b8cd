using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Nylas.Core.Calendar;

namespace Nylas.Core.Api;

/// <summary>
/// Writes messages and threads, the bulk of every list page, straight to the <see cref="Utf8JsonWriter"/> with
/// pre-encoded names, instead of through the serializer's per-property metadata (the largest share of the host's CPU
/// per page in bench/Nylas.ApiBench). The output is the contract of <see cref="ApiJson.ContractOptions"/> byte for
/// byte (tests/Nylas.Core.Tests/Api compares the two); reading goes through that contract unchanged.
/// </summary>
internal static class ApiWireWriters
{
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    private static JsonEncodedText N(string name) => JsonEncodedText.Encode(name, Encoder);

    private static readonly JsonEncodedText Id = N("id"), Object = N("object"), AccountId = N("account_id"), ThreadId = N("thread_id"),
        Subject = N("subject"), From = N("from"), To = N("to"), Cc = N("cc"), Bcc = N("bcc"), ReplyTo = N("reply_to"), Date = N("date"),
        Snippet = N("snippet"), Body = N("body"), Unread = N("unread"), Starred = N("starred"), Files = N("files"), Events = N("events"),
        Folder = N("folder"), Labels = N("labels"), Headers = N("headers"), ParseError = N("parse_error"), Metadata = N("metadata"),
        JobStatusId = N("job_status_id"), Version = N("version"), ReplyToMessageId = N("reply_to_message_id"), Name = N("name"),
        Email = N("email"), DisplayName = N("display_name"), ContentType = N("content_type"), Size = N("size"), Filename = N("filename"),
        ContentId = N("content_id"), ContentDisposition = N("content_disposition"), MessageIds = N("message_ids"),
        Participants = N("participants"), LastMessageTimestamp = N("last_message_timestamp"),
        LastMessageReceivedTimestamp = N("last_message_received_timestamp"), LastMessageSentTimestamp = N("last_message_sent_timestamp"),
        FirstMessageTimestamp = N("first_message_timestamp"), HasAttachments = N("has_attachments"), Folders = N("folders"),
        DraftIds = N("draft_ids"), Messages = N("messages"), Drafts = N("drafts"), FileObject = N("file"), ThreadObject = N("thread");

    public sealed class MessageConverter : JsonConverter<ApiMessage>
    {
        public override ApiMessage? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            => JsonSerializer.Deserialize<ApiMessage>(ref reader, ApiJson.ContractOptions);

        public override void Write(Utf8JsonWriter writer, ApiMessage value, JsonSerializerOptions options) => WriteMessage(writer, value, options);
    }

    public sealed class ThreadConverter : JsonConverter<ApiThread>
    {
        public override ApiThread? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            => JsonSerializer.Deserialize<ApiThread>(ref reader, ApiJson.ContractOptions);

        public override void Write(Utf8JsonWriter writer, ApiThread value, JsonSerializerOptions options) => WriteThread(writer, value, options);
    }

    private static void WriteMessage(Utf8JsonWriter w, ApiMessage m, JsonSerializerOptions options)
    {
        w.WriteStartObject();
        w.WriteString(Id, m.Id);
        w.WriteString(Object, m.Object);
        w.WriteString(AccountId, m.AccountId);
        w.WriteString(ThreadId, m.ThreadId);
        w.WriteString(Subject, m.Subject);
        WriteParticipants(w, From, m.From);
        WriteParticipants(w, To, m.To);
        WriteParticipants(w, Cc, m.Cc);
        WriteParticipants(w, Bcc, m.Bcc);
        WriteParticipants(w, ReplyTo, m.ReplyTo);
        w.WriteNumber(Date, m.Date);
        w.WriteString(Snippet, m.Snippet);
        if (m.BodyUtf8 is { } utf8) w.WriteString(Body, utf8);
        else if (m.Body is not null) w.WriteString(Body, m.Body);
        w.WriteBoolean(Unread, m.Unread);
        w.WriteBoolean(Starred, m.Starred);
        w.WritePropertyName(Files);
        if (m.Files is null) w.WriteNullValue();
        else
        {
            w.WriteStartArray();
            foreach (var file in m.Files) WriteFile(w, file);
            w.WriteEndArray();
        }
        w.WritePropertyName(Events);
        if (m.Events is null) w.WriteNullValue();
        else
        {
            w.WriteStartArray();
            foreach (var e in m.Events)
                if (e is null) w.WriteNullValue();
                else JsonSerializer.Serialize(w, e, options);
            w.WriteEndArray();
        }
        // A label account's message has labels and no folder key (ApiJson's contract).
        if (m.Labels is null)
        {
            w.WritePropertyName(Folder);
            WriteFolderRef(w, m.Folder);
        }
        else
        {
            w.WritePropertyName(Labels);
            WriteFolderRefs(w, m.Labels);
        }
        if (m.Headers is not null)
        {
            w.WritePropertyName(Headers);
            w.WriteStartObject();
            foreach (var (key, header) in m.Headers)
            {
                w.WritePropertyName(key);
                switch (header)
                {
                    case null: w.WriteNullValue(); break;
                    case string s: w.WriteStringValue(s); break;
                    default: JsonSerializer.Serialize(w, header, header.GetType(), options); break;
                }
            }
            w.WriteEndObject();
        }
        if (m.ParseError is not null) w.WriteString(ParseError, m.ParseError);
        WriteMetadata(w, m.Metadata);
        if (m.JobStatusId is not null) w.WriteString(JobStatusId, m.JobStatusId);
        if (m.IsDraft)
        {
            w.WriteNumber(Version, m.Version);
            w.WriteString(ReplyToMessageId, m.ReplyToMessageId);
        }
        w.WriteEndObject();
    }

    private static void WriteThread(Utf8JsonWriter w, ApiThread t, JsonSerializerOptions options)
    {
        w.WriteStartObject();
        w.WriteString(Id, t.Id);
        w.WriteString(Object, ThreadObject);
        w.WriteString(AccountId, t.AccountId);
        w.WriteString(Subject, t.Subject);
        WriteParticipants(w, Participants, t.Participants);
        w.WriteNumber(LastMessageTimestamp, t.LastMessageTimestamp);
        WriteNumber(w, LastMessageReceivedTimestamp, t.LastMessageReceivedTimestamp);
        WriteNumber(w, LastMessageSentTimestamp, t.LastMessageSentTimestamp);
        w.WriteNumber(FirstMessageTimestamp, t.FirstMessageTimestamp);
        w.WriteString(Snippet, t.Snippet);
        w.WriteBoolean(Unread, t.Unread);
        w.WriteBoolean(Starred, t.Starred);
        w.WriteBoolean(HasAttachments, t.HasAttachments);
        w.WriteNumber(Version, t.Version);
        if (t.Folders is not null)
        {
            w.WritePropertyName(Folders);
            WriteFolderRefs(w, t.Folders);
        }
        if (t.Labels is not null)
        {
            w.WritePropertyName(Labels);
            WriteFolderRefs(w, t.Labels);
        }
        if (t.MessageIds is not null) WriteStrings(w, MessageIds, t.MessageIds);
        if (t.DraftIds is not null) WriteStrings(w, DraftIds, t.DraftIds);
        if (t.Messages is not null) WriteMessages(w, Messages, t.Messages, options);
        if (t.Drafts is not null) WriteMessages(w, Drafts, t.Drafts, options);
        WriteMetadata(w, t.Metadata);
        if (t.JobStatusId is not null) w.WriteString(JobStatusId, t.JobStatusId);
        w.WriteEndObject();
    }

    private static void WriteMessages(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<ApiMessage> messages, JsonSerializerOptions options)
    {
        w.WritePropertyName(name);
        w.WriteStartArray();
        foreach (var m in messages)
            if (m is null) w.WriteNullValue();
            else WriteMessage(w, m, options);
        w.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter w, JsonEncodedText name, long? value)
    {
        if (value is long v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static void WriteParticipants(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<ApiParticipant>? participants)
    {
        w.WritePropertyName(name);
        if (participants is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartArray();
        foreach (var p in participants)
        {
            if (p is null)
            {
                w.WriteNullValue();
                continue;
            }
            w.WriteStartObject();
            w.WriteString(Name, p.Name);
            w.WriteString(Email, p.Email);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteFolderRefs(Utf8JsonWriter w, IReadOnlyList<ApiFolderRef> folders)
    {
        w.WriteStartArray();
        foreach (var f in folders) WriteFolderRef(w, f);
        w.WriteEndArray();
    }

    private static void WriteFolderRef(Utf8JsonWriter w, ApiFolderRef? folder)
    {
        if (folder is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        w.WriteString(Id, folder.Id);
        w.WriteString(Name, folder.Name);
        w.WriteString(DisplayName, folder.DisplayName);
        w.WriteEndObject();
    }

    private static void WriteFile(Utf8JsonWriter w, ApiFile? file)
    {
        if (file is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        w.WriteString(Id, file.Id);
        w.WriteString(Object, FileObject);
        w.WriteString(AccountId, file.AccountId);
        w.WriteString(ContentType, file.ContentType);
        w.WriteNumber(Size, file.Size);
        w.WriteString(Filename, file.Filename);
        w.WriteString(ContentId, file.ContentId);
        w.WriteString(ContentDisposition, file.ContentDisposition);
        if (file.MessageIds is not null) WriteStrings(w, MessageIds, file.MessageIds);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, JsonEncodedText name, IReadOnlyList<string> values)
    {
        w.WritePropertyName(name);
        w.WriteStartArray();
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void WriteMetadata(Utf8JsonWriter w, IReadOnlyDictionary<string, string>? metadata)
    {
        w.WritePropertyName(Metadata);
        if (metadata is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        foreach (var (key, value) in metadata) w.WriteString(key, value);
        w.WriteEndObject();
    }
}
