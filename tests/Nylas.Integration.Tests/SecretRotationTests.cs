using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Accounts;
using Nylas.Engine.Security;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Testing;
using Xunit;
using Nylas.Engine.Connect;
using Nylas.Engine.MailSessions;

namespace Nylas.Integration.Tests;

/// <summary>The local host after a key rotation: key B seals, the old key A is in PreviousKeys.</summary>
public sealed class RotatedKeyFixture : LocalHostFixture
{
    public static readonly string OldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    public static readonly string NewKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Nylas:Security:EncryptionKey"] = NewKey;
        settings["Nylas:Security:PreviousKeys:0"] = OldKey;
    }
}

public class SecretRotationTests(RotatedKeyFixture host) : IClassFixture<RotatedKeyFixture>
{
    [Fact]
    public async Task Accounts_sealed_with_the_old_key_sync_after_a_rotation_and_after_the_reseal_the_old_key_can_go()
    {
        var services = host.App.Services;
        var shards = services.GetRequiredService<ShardDirectory>();
        var app = (await services.GetRequiredService<AccountStore>().FindApplicationAsync(host.ClientId))!;
        // Stored before the rotation: one sealed by the old key in format 2, one in format 1 (the first release's).
        var beforeRotation = new AccountStore(shards, SecretSealerTests.Sealer(RotatedKeyFixture.OldKey), TimeProvider.System);
        var imap = new ImapServer(TestStack.ImapHost, TestStack.ImapPort, ImapSecurity.StartTls, "", TestStack.TlsCertSha256());
        string v2User = TestStack.NewMailbox("k"), v1User = TestStack.NewMailbox("k");
        var (v2, v2Token) = await beforeRotation.UpsertAccountAsync(app.Id, v2User, "Old key", "imap", imap with { Username = v2User }, new AccountSecrets(TestStack.ImapPassword));
        var (v1, v1Token) = await beforeRotation.UpsertAccountAsync(app.Id, v1User, "Format 1", "imap", imap with { Username = v1User }, new AccountSecrets(TestStack.ImapPassword));
        await SetSealedAsync(v1.Id, SecretSealerTests.SealFormat1(RotatedKeyFixture.OldKey, JsonSerializer.Serialize(new AccountSecrets(TestStack.ImapPassword))));

        var syncControl = services.GetRequiredService<IAccountSyncControl>();
        await syncControl.StartAsync(v2.Id);
        await syncControl.StartAsync(v1.Id);
        await TestStack.AppendAsync(v2User, TestStack.SimpleMessage(v2User, "before the reseal"));
        await TestStack.AppendAsync(v1User, TestStack.SimpleMessage(v1User, "before the reseal"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(v2Token) == 1 && await host.CountMessagesAsync(v1Token) == 1,
            TimeSpan.FromSeconds(60)));

        // A connect code issued before the rotation, not yet redeemed.
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Nylas.Engine.NylasOptions>>();
        var pending = new VerifiedConnection(new ConnectRequest(v2User, "Pending", "imap", imap with { Username = v2User }, new AccountSecrets("pending-password")), "folder");
        string code = await new ConnectCodeStore(shards, SecretSealerTests.Sealer(RotatedKeyFixture.OldKey), TimeProvider.System, options).IssueAsync(app.Id, pending);

        var resealer = services.GetRequiredService<SecretResealer>();
        var accounts = (await resealer.ResealAllAsync()).Single(c => c.Table == "accounts");
        // (The other test of this class leaves one row no key opens.)
        Assert.DoesNotContain(v1.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), accounts.Unreadable);
        Assert.DoesNotContain(v2.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), accounts.Unreadable);
        Assert.True(accounts.Resealed >= 2, $"{accounts}");
        // Idempotent: a second run finds everything it can open current.
        var again = (await resealer.ResealAllAsync()).Single(c => c.Table == "accounts");
        Assert.Equal(0, again.Resealed);
        Assert.Equal(again.Examined, again.AlreadyCurrent + again.Unreadable.Count);

        // Only the new key now: every account's secrets open, and each is bound to its own row.
        var newKeyOnly = new AccountStore(shards, SecretSealerTests.Sealer(RotatedKeyFixture.NewKey), TimeProvider.System);
        Assert.Equal(TestStack.ImapPassword, (await newKeyOnly.GetSecretsAsync(v2.Id)).ImapPassword);
        Assert.Equal(TestStack.ImapPassword, (await newKeyOnly.GetSecretsAsync(v1.Id)).ImapPassword);
        await Assert.ThrowsAnyAsync<CryptographicException>(() => beforeRotation.GetSecretsAsync(v2.Id));
        var codes = new ConnectCodeStore(shards, SecretSealerTests.Sealer(RotatedKeyFixture.NewKey), TimeProvider.System, options);
        Assert.Equal("pending-password", (await codes.RedeemAsync(app.Id, code))!.Request.Secrets.ImapPassword);

        // Sync goes on with the re-sealed secrets.
        await TestStack.AppendAsync(v2User, TestStack.SimpleMessage(v2User, "after the reseal"));
        await TestStack.AppendAsync(v1User, TestStack.SimpleMessage(v1User, "after the reseal"));
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => await host.CountMessagesAsync(v2Token) == 2 && await host.CountMessagesAsync(v1Token) == 2,
            TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_sealed_value_copied_to_another_accounts_row_does_not_open()
    {
        var services = host.App.Services;
        var store = services.GetRequiredService<AccountStore>();
        var app = (await store.FindApplicationAsync(host.ClientId))!;
        var imap = new ImapServer(TestStack.ImapHost, TestStack.ImapPort, ImapSecurity.StartTls, "", TestStack.TlsCertSha256());
        string victim = TestStack.NewMailbox("k"), attacker = TestStack.NewMailbox("k");
        var (victimAccount, _) = await store.UpsertAccountAsync(app.Id, victim, "Victim", "imap", imap with { Username = victim }, new AccountSecrets("victims-password"));
        var (attackerAccount, _) = await store.UpsertAccountAsync(app.Id, attacker, "Attacker", "imap", imap with { Username = attacker }, new AccountSecrets("attackers-password"));

        var stolen = (byte[])(await host.Databases.QueryScalarAsync("global", $"SELECT secrets_sealed FROM accounts WHERE id = {victimAccount.Id}"))!;
        await SetSealedAsync(attackerAccount.Id, stolen);
        await Assert.ThrowsAnyAsync<CryptographicException>(() => store.GetSecretsAsync(attackerAccount.Id));
        Assert.Equal("victims-password", (await store.GetSecretsAsync(victimAccount.Id)).ImapPassword);
        // The re-seal command names the row it cannot open and leaves it alone.
        var accounts = (await services.GetRequiredService<SecretResealer>().ResealAllAsync()).Single(c => c.Table == "accounts");
        Assert.Contains(attackerAccount.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), accounts.Unreadable);
    }

    private async Task SetSealedAsync(long accountId, byte[] sealedValue)
    {
        await using var cmd = host.App.Services.GetRequiredService<ShardDirectory>().Global.CreateCommand("UPDATE accounts SET secrets_sealed = @s WHERE id = @id");
        cmd.Parameters.AddWithValue("@s", sealedValue);
        cmd.Parameters.AddWithValue("@id", accountId);
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
    }
}
