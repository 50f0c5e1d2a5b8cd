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

/// <summary>What a sealed value belongs to: bound into its seal as associated data, so it opens nowhere else.</summary>
public readonly record struct SecretBinding(string Purpose, long OwnerId)
{
    /// <summary>The sealed JSON of an account's passwords and OAuth grant (accounts.secrets_sealed).</summary>
    public static SecretBinding AccountSecrets(long accountId) => new("account_secrets", accountId);

    /// <summary>A verified connection waiting for its code to be redeemed (connect_codes.request_sealed), bound to its application.</summary>
    public static SecretBinding ConnectRequest(long applicationId) => new("connect_request", applicationId);

    /// <summary>The client secret webhook deliveries are signed with (webhook_signing_keys.secret_sealed), bound to its application.</summary>
    public static SecretBinding WebhookSigningKey(long applicationId) => new("webhook_signing_key", applicationId);

    public byte[] AssociatedData() => Encoding.UTF8.GetBytes($"nylas-sealed-secret\n{Purpose}\n{OwnerId.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
}

/// <summary>
/// Seals account secrets (IMAP/SMTP passwords, refresh tokens) with AES-256-GCM before they reach the database.
/// Format 2 is <c>[2][key id: 4][nonce: 12][tag: 16][ciphertext]</c> with the <see cref="SecretBinding"/> as
/// associated data, so a value copied into another account's row does not open. The key id is the first 4 bytes
/// of the key's SHA-256: <c>Nylas:Security:EncryptionKey</c> seals, and it or any of
/// <c>Nylas:Security:PreviousKeys</c> unseals, which is what lets the key be rotated (then <see cref="SecretResealer"/>).
/// Format 1 (<c>[1][nonce][tag][ciphertext]</c>, no key id or binding) still unseals with any key of the ring.
/// </summary>
public sealed class SecretSealer
{
    private const byte LegacyFormat = 1;
    private const byte FormatVersion = 2;
    private const int KeyIdSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;
    private readonly byte[] _keyId;
    // The current key first: format 1 values are tried with each in this order.
    private readonly List<(byte[] Id, byte[] Key)> _ring = [];

    public SecretSealer(IOptions<NylasOptions> options)
    {
        var security = options.Value.Security;
        _key = ParseKey(security.EncryptionKey)
            ?? throw new InvalidOperationException("Nylas:Security:EncryptionKey must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`).");
        _keyId = KeyId(_key);
        _ring.Add((_keyId, _key));
        foreach (string configured in PreviousKeysOf(security))
        {
            var key = ParseKey(configured)
                ?? throw new InvalidOperationException("Nylas:Security:PreviousKeys must hold base64 keys of 32 bytes (comma-separated, or one per index).");
            if (!_ring.Any(k => k.Key.AsSpan().SequenceEqual(key))) _ring.Add((KeyId(key), key));
        }
    }

    /// <summary>Every entry of <c>PreviousKeys</c>, split at commas.</summary>
    public static IEnumerable<string> PreviousKeysOf(SecurityOptions security)
        => security.PreviousKeys.SelectMany(k => k.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public static bool IsKey(string configured) => ParseKey(configured) is not null;

    private static byte[]? ParseKey(string configured)
    {
        try
        {
            return Convert.FromBase64String(configured) is { Length: 32 } key ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The 4 bytes that name a key in a sealed value: no secret (a hash prefix), and no bookkeeping for operators.</summary>
    public static byte[] KeyId(byte[] key) => SHA256.HashData(key)[..KeyIdSize];

    /// <summary>The current key's id in hex, as the re-seal command reports it.</summary>
    public string CurrentKeyId => Convert.ToHexString(_keyId).ToLowerInvariant();

    public byte[] Seal(string plaintext, SecretBinding binding)
    {
        byte[] plain = Encoding.UTF8.GetBytes(plaintext);
        byte[] output = new byte[1 + KeyIdSize + NonceSize + TagSize + plain.Length];
        output[0] = FormatVersion;
        _keyId.CopyTo(output, 1);
        var nonce = output.AsSpan(1 + KeyIdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, output.AsSpan(1 + KeyIdSize + NonceSize + TagSize), output.AsSpan(1 + KeyIdSize + NonceSize, TagSize), binding.AssociatedData());
        return output;
    }

    /// <exception cref="CryptographicException">Unknown format, a key not in the ring, another binding, or tampered.</exception>
    public string Unseal(byte[] sealedData, SecretBinding binding)
    {
        if (sealedData.Length >= 1 + NonceSize + TagSize && sealedData[0] == LegacyFormat)
            return UnsealLegacy(sealedData);
        if (sealedData.Length < 1 + KeyIdSize + NonceSize + TagSize || sealedData[0] != FormatVersion)
            throw new CryptographicException("Sealed secret has an unknown format.");
        var id = sealedData.AsSpan(1, KeyIdSize);
        var nonce = sealedData.AsSpan(1 + KeyIdSize, NonceSize);
        var tag = sealedData.AsSpan(1 + KeyIdSize + NonceSize, TagSize);
        var cipher = sealedData.AsSpan(1 + KeyIdSize + NonceSize + TagSize);
        byte[] plain = new byte[cipher.Length];
        byte[] associated = binding.AssociatedData();
        CryptographicException? failure = null;
        foreach (var (keyId, key) in _ring)
        {
            if (!id.SequenceEqual(keyId)) continue;
            try
            {
                using var aes = new AesGcm(key, TagSize);
                aes.Decrypt(nonce, cipher, tag, plain, associated);
                return Encoding.UTF8.GetString(plain);
            }
            catch (AuthenticationTagMismatchException ex)
            {
                failure = ex; // another key with the same id (one in 2^32), or the wrong binding
            }
        }
        throw failure is null
            ? new CryptographicException($"Sealed secret was sealed with key {Convert.ToHexString(id).ToLowerInvariant()}, which is neither Nylas:Security:EncryptionKey nor one of Nylas:Security:PreviousKeys.")
            : new CryptographicException($"Sealed secret does not open as {binding.Purpose} of {binding.OwnerId}: it belongs elsewhere or was altered.", failure);
    }

    private string UnsealLegacy(byte[] sealedData)
    {
        var nonce = sealedData.AsSpan(1, NonceSize);
        var tag = sealedData.AsSpan(1 + NonceSize, TagSize);
        var cipher = sealedData.AsSpan(1 + NonceSize + TagSize);
        byte[] plain = new byte[cipher.Length];
        foreach (var (_, key) in _ring)
        {
            try
            {
                using var aes = new AesGcm(key, TagSize);
                aes.Decrypt(nonce, cipher, tag, plain);
                return Encoding.UTF8.GetString(plain);
            }
            catch (AuthenticationTagMismatchException)
            {
            }
        }
        throw new CryptographicException("Sealed secret (format 1) opens with none of Nylas:Security:EncryptionKey and Nylas:Security:PreviousKeys.");
    }

    /// <summary>True unless the value is format 2 under the current key: what the re-seal command rewrites.</summary>
    public bool NeedsReseal(byte[] sealedData)
        => sealedData.Length < 1 + KeyIdSize || sealedData[0] != FormatVersion || !sealedData.AsSpan(1, KeyIdSize).SequenceEqual(_keyId);
}
