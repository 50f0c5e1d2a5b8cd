using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Security;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>The sealed-secret format and its keyring, without a server.</summary>
public class SecretSealerTests
{
    private static readonly string KeyA = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string KeyB = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static SecretSealer Sealer(string current, params string[] previous)
    {
        var options = new NylasOptions();
        options.Security.EncryptionKey = current;
        options.Security.PreviousKeys = [.. previous];
        return new SecretSealer(Options.Create(options));
    }

    /// <summary>A value as the first release sealed it: [1][nonce][tag][ciphertext], no key id, no associated data.</summary>
    public static byte[] SealFormat1(string key, string plaintext)
    {
        byte[] plain = Encoding.UTF8.GetBytes(plaintext);
        byte[] output = new byte[1 + 12 + 16 + plain.Length];
        output[0] = 1;
        RandomNumberGenerator.Fill(output.AsSpan(1, 12));
        using var aes = new AesGcm(Convert.FromBase64String(key), 16);
        aes.Encrypt(output.AsSpan(1, 12), plain, output.AsSpan(29), output.AsSpan(13, 16));
        return output;
    }

    [Fact]
    public void A_sealed_secret_opens_for_its_account_only()
    {
        var sealer = Sealer(KeyA);
        byte[] sealedValue = sealer.Seal("{\"ImapPassword\":\"hunter2\"}", SecretBinding.AccountSecrets(41));
        Assert.Equal(2, sealedValue[0]);
        Assert.Equal(SecretSealer.KeyId(Convert.FromBase64String(KeyA)), sealedValue[1..5]);
        Assert.DoesNotContain("hunter2", Encoding.UTF8.GetString(sealedValue));
        Assert.Equal("{\"ImapPassword\":\"hunter2\"}", sealer.Unseal(sealedValue, SecretBinding.AccountSecrets(41)));

        // Copied to another account's row, or read as another kind of secret: it does not open.
        Assert.ThrowsAny<CryptographicException>(() => sealer.Unseal(sealedValue, SecretBinding.AccountSecrets(42)));
        Assert.ThrowsAny<CryptographicException>(() => sealer.Unseal(sealedValue, SecretBinding.ConnectRequest(41)));
        // Nor when altered.
        sealedValue[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => sealer.Unseal(sealedValue, SecretBinding.AccountSecrets(41)));
        Assert.False(sealer.NeedsReseal(sealer.Seal("x", SecretBinding.AccountSecrets(1))));
    }

    [Fact]
    public void Format_1_values_still_open_with_any_key_of_the_ring_and_need_a_reseal()
    {
        byte[] legacy = SealFormat1(KeyA, "old secret");
        Assert.Equal("old secret", Sealer(KeyA).Unseal(legacy, SecretBinding.AccountSecrets(7)));
        Assert.Equal("old secret", Sealer(KeyB, KeyA).Unseal(legacy, SecretBinding.AccountSecrets(7)));
        Assert.True(Sealer(KeyA).NeedsReseal(legacy));
        var error = Assert.ThrowsAny<CryptographicException>(() => Sealer(KeyB).Unseal(legacy, SecretBinding.AccountSecrets(7)));
        Assert.Contains("PreviousKeys", error.Message);
    }

    [Fact]
    public void After_a_rotation_the_previous_key_opens_old_values_until_they_are_resealed()
    {
        var binding = SecretBinding.AccountSecrets(9);
        byte[] underA = Sealer(KeyA).Seal("refresh-token", binding);

        var rotated = Sealer(KeyB, $" {KeyA} ");
        Assert.Equal("refresh-token", rotated.Unseal(underA, binding));
        Assert.True(rotated.NeedsReseal(underA));
        byte[] underB = rotated.Seal(rotated.Unseal(underA, binding), binding);
        Assert.False(rotated.NeedsReseal(underB));

        // The old key can go once everything is re-sealed.
        Assert.Equal("refresh-token", Sealer(KeyB).Unseal(underB, binding));
        var error = Assert.ThrowsAny<CryptographicException>(() => Sealer(KeyB).Unseal(underA, binding));
        Assert.Contains(Convert.ToHexString(SecretSealer.KeyId(Convert.FromBase64String(KeyA))).ToLowerInvariant(), error.Message);
        // Several previous keys, comma-separated in one entry or one per index.
        Assert.Equal("refresh-token", Sealer(KeyB, $"{Convert.ToBase64String(new byte[32])},{KeyA}").Unseal(underA, binding));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void A_malformed_previous_key_is_refused_by_name(string previous)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Sealer(KeyA, previous));
        Assert.Contains("Nylas:Security:PreviousKeys", error.Message);
    }
}
