using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Security;

/// <summary>Random credentials we hand out and their one-way hashes (what the database keeps).</summary>
public static class Credentials
{
    private const string TokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>A new access token or client secret: 40 characters, ~238 bits of entropy.</summary>
    public static string NewSecret() => RandomNumberGenerator.GetString(TokenAlphabet, 40);

    /// <summary>A client id: 25 lower-case alphanumerics (public, not secret).</summary>
    public static string NewClientId() => RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 25);

    /// <summary>SHA-256 is enough for high-entropy random secrets (no dictionary to attack); it keeps lookups indexable.</summary>
    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(string secret, ReadOnlySpan<byte> storedHash)
        => CryptographicOperations.FixedTimeEquals(Hash(secret), storedHash);
}

/// <summary>Seals account secrets (IMAP/SMTP passwords, refresh tokens) with AES-256-GCM before they reach the database.</summary>
public sealed class SecretSealer
{
    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public SecretSealer(IOptions<NylasOptions> options)
    {
        string configured = options.Value.Security.EncryptionKey;
        byte[]? key = null;
        try { key = Convert.FromBase64String(configured); } catch (FormatException) { }
        if (key is not { Length: 32 })
            throw new InvalidOperationException("Nylas:Security:EncryptionKey must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`).");
        _key = key;
    }

    public byte[] Seal(string plaintext)
    {
        byte[] plain = Encoding.UTF8.GetBytes(plaintext);
        byte[] output = new byte[1 + NonceSize + TagSize + plain.Length];
        output[0] = FormatVersion;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(1 + NonceSize + TagSize), output.AsSpan(1 + NonceSize, TagSize));
        return output;
    }

    public string Unseal(byte[] sealedData)
    {
        if (sealedData.Length < 1 + NonceSize + TagSize || sealedData[0] != FormatVersion)
            throw new CryptographicException("Sealed secret has an unknown format.");
        var nonce = sealedData.AsSpan(1, NonceSize);
        var tag = sealedData.AsSpan(1 + NonceSize, TagSize);
        var cipher = sealedData.AsSpan(1 + NonceSize + TagSize);
        byte[] plain = new byte[cipher.Length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(nonce, cipher, tag, plain);
        return Encoding.UTF8.GetString(plain);
    }
}
