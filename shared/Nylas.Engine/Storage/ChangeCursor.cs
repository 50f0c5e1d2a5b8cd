using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Nylas.Engine.Storage;

/// <summary>
/// The opaque cursor of /delta and webhook deliveries: the account's change sequence number plus a tag of the
/// account, so that a cursor of one account given to another is refused instead of silently meaning something else.
/// "0" is the v2 spelling of "from the start".
/// </summary>
public static class ChangeCursor
{
    private const byte Version = 1;
    private const int TagBytes = 4;

    public static string Encode(string accountPublicId, long seq)
    {
        Span<byte> bytes = stackalloc byte[1 + 8 + TagBytes];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], seq);
        Tag(accountPublicId).CopyTo(bytes[9..]);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public enum DecodeResult { Ok, Malformed, OtherAccount }

    public static DecodeResult TryDecode(string cursor, string accountPublicId, out long seq)
    {
        seq = 0;
        if (cursor == "0") return DecodeResult.Ok;
        if (cursor.Length != 18) return DecodeResult.Malformed;
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(cursor.Replace('-', '+').Replace('_', '/') + "==");
        }
        catch (FormatException)
        {
            return DecodeResult.Malformed;
        }
        if (bytes.Length != 1 + 8 + TagBytes || bytes[0] != Version) return DecodeResult.Malformed;
        seq = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(1));
        if (seq < 0) return DecodeResult.Malformed;
        return bytes.AsSpan(9).SequenceEqual(Tag(accountPublicId)) ? DecodeResult.Ok : DecodeResult.OtherAccount;
    }

    private static byte[] Tag(string accountPublicId) => SHA256.HashData(Encoding.UTF8.GetBytes(accountPublicId))[..TagBytes];
}
