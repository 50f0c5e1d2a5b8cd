using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Nylas.Core.Api;

/// <summary>
/// Reads the participant lists the store keeps as JSON (<c>[{"name":…,"email":…}]</c>, written with the web defaults):
/// five per listed message, so read with a plain <see cref="Utf8JsonReader"/> pass; anything but that exact shape goes
/// to the serializer, whose answer (or exception) it then is.
/// </summary>
public static class ApiParticipants
{
    private static readonly JsonSerializerOptions StoreOptions = new(JsonSerializerDefaults.Web);
    private const int StackBytes = 1024;

    public static IReadOnlyList<ApiParticipant> Parse(string json)
    {
        int max = Encoding.UTF8.GetMaxByteCount(json.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int length = Encoding.UTF8.GetBytes(json, buffer);
            return TryRead(buffer[..length]) ?? JsonSerializer.Deserialize<ApiParticipant[]>(json, StoreOptions) ?? [];
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static ApiParticipant[]? TryRead(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return null;
            var list = new List<ApiParticipant>(4);
            while (true)
            {
                if (!reader.Read()) return null;
                if (reader.TokenType == JsonTokenType.EndArray) break;
                if (reader.TokenType != JsonTokenType.StartObject) return null;
                string? name = null, email = null;
                bool seenName = false, seenEmail = false;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isName = reader.ValueTextEquals("name"u8);
                    if (!isName && !reader.ValueTextEquals("email"u8)) return null;
                    if (isName ? seenName : seenEmail) return null;
                    if (!reader.Read()) return null;
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null)) return null;
                    string? value = reader.GetString(); // null for a JSON null
                    if (isName) (name, seenName) = (value, true);
                    else (email, seenEmail) = (value, true);
                }
                if (reader.TokenType != JsonTokenType.EndObject) return null;
                list.Add(new ApiParticipant(name!, email!));
            }
            // Nothing but whitespace may follow the list.
            return reader.Read() ? null : list.ToArray();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
