using System.Numerics;
using System.Security.Cryptography;

namespace Nylas.Core.Ids;

/// <summary>Opaque public ids: base36 of 128 random bits, as the Nylas engine exposed them.</summary>
public static class PublicId
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    public const int MaxLength = 25; // 36^25 > 2^128

    public static string New()
    {
        Span<byte> bytes = stackalloc byte[17];
        RandomNumberGenerator.Fill(bytes[..16]);
        bytes[16] = 0; // keep the BigInteger positive
        var value = new BigInteger(bytes);
        Span<char> chars = stackalloc char[MaxLength];
        for (int i = MaxLength - 1; i >= 0; i--)
        {
            value = BigInteger.DivRem(value, 36, out var digit);
            chars[i] = Alphabet[(int)digit];
        }
        return new string(chars);
    }

    /// <summary>True when <paramref name="id"/> could be an id we issued; lets the API answer 400 for garbage.</summary>
    public static bool IsWellFormed(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength) return false;
        foreach (char c in id)
            if (!(c is >= '0' and <= '9' or >= 'a' and <= 'z')) return false;
        return true;
    }
}
