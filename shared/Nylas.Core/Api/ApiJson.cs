using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Nylas.Core.Api;

/// <summary>JSON settings of the wire format: snake_case names, nulls written (the v2 API shows them).</summary>
public static class ApiJson
{
    /// <summary>
    /// The wire format as the serializer derives it from the models: what <see cref="Options"/> writes, byte for byte, and
    /// how it reads. Kept apart so the fast writers of messages and threads can be checked against it.
    /// </summary>
    public static readonly JsonSerializerOptions ContractOptions = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        // Bodies are HTML: keep <, > and non-ASCII readable; the response is application/json, never HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { FolderOrLabels } },
    };

    /// <summary>The API's options: <see cref="ContractOptions"/> with messages and threads written by <see cref="ApiWireWriters"/>.</summary>
    public static readonly JsonSerializerOptions Options = new(ContractOptions)
    {
        Converters = { new ApiWireWriters.MessageConverter(), new ApiWireWriters.ThreadConverter() },
    };

    // The v2 SDK sends label_ids when a message has a labels key and folder_id when it has folder: never both keys.
    private static void FolderOrLabels(JsonTypeInfo type)
    {
        if (type.Type != typeof(ApiMessage)) return;
        foreach (var property in type.Properties)
        {
            if (property.Name == "folder") property.ShouldSerialize = (message, _) => ((ApiMessage)message).Labels is null;
            // A draft is the message shape plus these two keys; a message has neither.
            if (property.Name is "version" or "reply_to_message_id") property.ShouldSerialize = (message, _) => ((ApiMessage)message).IsDraft;
        }
    }
}
