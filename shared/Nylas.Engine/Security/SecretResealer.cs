using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Security;

/// <summary>What one run of <see cref="SecretResealer"/> did to one table.</summary>
public sealed record ResealCount(string Table, int Examined, int Resealed, int AlreadyCurrent, int ChangedMeanwhile, IReadOnlyList<string> Unreadable);

/// <summary>
/// Re-seals every stored secret with the current key in format 2 (<c>Nylas.LocalHost admin reseal</c>), after
/// <c>Nylas:Security:EncryptionKey</c> was rotated with the old key in <c>PreviousKeys</c>. Sealed values live only in
/// the global database (accounts.secrets_sealed, connect_codes.request_sealed, webhook_signing_keys.secret_sealed); shards hold none. Every value is
/// opened, so the count of unreadable ones is also a check that the ring is complete. Idempotent: values
/// already sealed with the current key are left alone, and a row written meanwhile (a rotated refresh token, sealed
/// with the current key by its writer) is not overwritten.
/// </summary>
public sealed partial class SecretResealer(ShardDirectory shards, SecretSealer sealer, ILogger<SecretResealer> logger)
{
    private const int BatchSize = 500;

    public async Task<IReadOnlyList<ResealCount>> ResealAllAsync(CancellationToken cancellationToken = default)
    {
        var accounts = await ResealTableAsync("accounts", "id", "id", "secrets_sealed",
            r => SecretBinding.AccountSecrets(r.GetInt64(0)), cancellationToken);
        var codes = await ResealTableAsync("connect_codes", "code_hash", "HEX(code_hash)", "request_sealed",
            r => SecretBinding.ConnectRequest(r.GetInt64(2)), cancellationToken, extraColumn: "application_id");
        var webhookKeys = await ResealTableAsync("webhook_signing_keys", "application_id", "application_id", "secret_sealed",
            r => SecretBinding.WebhookSigningKey(r.GetInt64(0)), cancellationToken);
        return [accounts, codes, webhookKeys];
    }

    /// <summary>Walks the table in key order, a batch at a time; each row is swapped only if it still holds what was read.</summary>
    private async Task<ResealCount> ResealTableAsync(string table, string keyColumn, string keyLabel, string sealedColumn,
        Func<System.Data.Common.DbDataReader, SecretBinding> bindingOf, CancellationToken cancellationToken, string? extraColumn = null)
    {
        int examined = 0, resealed = 0, current = 0, changed = 0;
        var unreadable = new List<string>();
        object? after = null;
        while (true)
        {
            var batch = new List<(object Key, string Label, SecretBinding Binding, byte[] Sealed)>();
            await using (var select = shards.Global.CreateCommand($"""
                SELECT {keyColumn}, {keyLabel}, {extraColumn ?? "NULL"}, {sealedColumn} FROM {table}
                WHERE {sealedColumn} IS NOT NULL {(after is null ? "" : $"AND {keyColumn} > @after")}
                ORDER BY {keyColumn} LIMIT {BatchSize}
                """))
            {
                if (after is not null) select.Parameters.AddWithValue("@after", after);
                await using var r = await select.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken))
                    batch.Add((r.GetValue(0), Convert.ToString(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)!,
                        bindingOf(r), (byte[])r.GetValue(3)));
            }
            if (batch.Count == 0) break;
            after = batch[^1].Key;

            foreach (var (key, label, binding, sealedValue) in batch)
            {
                examined++;
                string plain;
                try
                {
                    plain = sealer.Unseal(sealedValue, binding);
                }
                catch (CryptographicException ex)
                {
                    // Left as it is: perhaps a key not configured here; the operator sees the row named.
                    unreadable.Add(label);
                    LogUnreadable(table, label, ex.Message);
                    continue;
                }
                if (!sealer.NeedsReseal(sealedValue))
                {
                    current++;
                    continue;
                }
                await using var update = shards.Global.CreateCommand(
                    $"UPDATE {table} SET {sealedColumn} = @new WHERE {keyColumn} = @key AND {sealedColumn} = @old");
                update.Parameters.AddWithValue("@new", sealer.Seal(plain, binding));
                update.Parameters.AddWithValue("@key", key);
                update.Parameters.AddWithValue("@old", sealedValue);
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 1) resealed++;
                else changed++;
            }
        }
        LogResealed(table, examined, resealed, current, changed, unreadable.Count, sealer.CurrentKeyId);
        return new ResealCount(table, examined, resealed, current, changed, unreadable);
    }

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Re-seal: {Table} row {Key} opens with no configured key: {Reason}")]
    private partial void LogUnreadable(string table, string key, string reason);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Information,
        Message = "Re-seal of {Table}: {Examined} examined, {Resealed} re-sealed, {Current} already current, {Changed} changed meanwhile, {Unreadable} unreadable (key {KeyId})")]
    private partial void LogResealed(string table, int examined, int resealed, int current, int changed, int unreadable, string keyId);
}
