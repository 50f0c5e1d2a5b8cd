using System.Text.Json;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Nylas.Engine.Security;
using Nylas.Engine.Storage;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Connect;

/// <summary>
/// The one-time codes of the native-auth flow: a verified connection waits here, sealed, until its
/// application redeems the code (once, before it expires). Only the code's SHA-256 is stored.
/// </summary>
public sealed class ConnectCodeStore(ShardDirectory shards, SecretSealer sealer, TimeProvider clock, IOptions<NylasOptions> options)
{
    public async Task<string> IssueAsync(long applicationId, VerifiedConnection verified, CancellationToken cancellationToken = default)
    {
        string code = Credentials.NewSecret();
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        // Expired codes go as new ones come: the table stays small without a timer.
        await using (var purge = new MySqlCommand("DELETE FROM connect_codes WHERE expires_at < @old LIMIT 1000", connection))
        {
            purge.Parameters.AddWithValue("@old", now.AddHours(-1));
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var insert = new MySqlCommand("""
            INSERT INTO connect_codes (code_hash, application_id, request_sealed, created_at, expires_at)
            VALUES (@hash, @app, @request, @now, @expires)
            """, connection);
        insert.Parameters.AddWithValue("@hash", Credentials.Hash(code));
        insert.Parameters.AddWithValue("@app", applicationId);
        insert.Parameters.AddWithValue("@request", sealer.Seal(JsonSerializer.Serialize(verified), SecretBinding.ConnectRequest(applicationId)));
        insert.Parameters.AddWithValue("@now", now);
        insert.Parameters.AddWithValue("@expires", now.AddSeconds(options.Value.Connect.CodeLifetimeSeconds));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return code;
    }

    /// <summary>
    /// The connection behind an unused, unexpired code of this application, marking the code used and
    /// wiping the sealed credentials in the same transaction; null for any other code (unknown, expired,
    /// used, another application's: one answer, nothing to probe).
    /// </summary>
    public async Task<VerifiedConnection?> RedeemAsync(long applicationId, string code, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        byte[] hash = Credentials.Hash(code);
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        byte[]? sealedRequest;
        await using (var find = new MySqlCommand("""
            SELECT request_sealed FROM connect_codes
            WHERE code_hash = @hash AND application_id = @app AND used_at IS NULL AND expires_at > @now
            FOR UPDATE
            """, connection, tx))
        {
            find.Parameters.AddWithValue("@hash", hash);
            find.Parameters.AddWithValue("@app", applicationId);
            find.Parameters.AddWithValue("@now", now);
            sealedRequest = await find.ExecuteScalarAsync(cancellationToken) as byte[];
        }
        if (sealedRequest is null) return null;
        await using (var use = new MySqlCommand("UPDATE connect_codes SET used_at = @now, request_sealed = NULL WHERE code_hash = @hash", connection, tx))
        {
            use.Parameters.AddWithValue("@now", now);
            use.Parameters.AddWithValue("@hash", hash);
            await use.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return JsonSerializer.Deserialize<VerifiedConnection>(sealer.Unseal(sealedRequest, SecretBinding.ConnectRequest(applicationId)));
    }
}
