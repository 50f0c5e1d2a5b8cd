using System.Data.Common;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Security;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Accounts;

/// <summary>Accounts, applications and access tokens in the global database.</summary>
public sealed class AccountStore(ShardDirectory shards, SecretSealer sealer, TimeProvider clock)
{
    private const string AccountColumns = """
        a.id, a.public_id, a.application_id, a.shard_id, a.email_address, a.name, a.provider, a.sync_state,
        a.sync_error, a.sync_enabled, a.imap_host, a.imap_port, a.imap_security, a.imap_username,
        a.imap_trusted_cert_sha256, a.created_at, a.organization_unit,
        a.smtp_host, a.smtp_port, a.smtp_security, a.smtp_username, a.smtp_trusted_cert_sha256
        """;

    public async Task<(Application Application, string ClientSecret)> CreateApplicationAsync(string name, CancellationToken cancellationToken = default)
    {
        string clientId = Credentials.NewClientId();
        string secret = Credentials.NewSecret();
        byte[] hash = Credentials.Hash(secret);
        await using var cmd = shards.Global.CreateCommand("""
            INSERT INTO applications (client_id, client_secret_hash, name, created_at) VALUES (@cid, @hash, @name, @now);
            SELECT LAST_INSERT_ID();
            """);
        cmd.Parameters.AddWithValue("@cid", clientId);
        cmd.Parameters.AddWithValue("@hash", hash);
        cmd.Parameters.AddWithValue("@name", name);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        long id = Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken));
        return (new Application(id, clientId, name, hash), secret);
    }

    public async Task<Application?> FindApplicationAsync(string clientId, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand("SELECT id, client_id, name, client_secret_hash FROM applications WHERE client_id = @cid");
        cmd.Parameters.AddWithValue("@cid", clientId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return null;
        return new Application(r.GetInt64(0), r.GetString(1), r.GetString(2), (byte[])r[3]);
    }

    /// <summary>
    /// Connects an account for an application, or re-connects it (new credentials, sync resumed) when
    /// the application already has that address; issues a new access token either way.
    /// </summary>
    public async Task<(Account Account, string AccessToken)> UpsertAccountAsync(
        long applicationId, string emailAddress, string name, string provider, ImapServer imap, AccountSecrets secrets,
        CancellationToken cancellationToken = default, SmtpServer? smtp = null)
    {
        string secretsJson = JsonSerializer.Serialize(secrets);
        string token = Credentials.NewSecret();
        var now = clock.GetUtcNow().UtcDateTime;

        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);

        long? existingId = null;
        await using (var find = new MySqlCommand("SELECT id FROM accounts WHERE application_id = @app AND email_address = @email FOR UPDATE", connection, tx))
        {
            find.Parameters.AddWithValue("@app", applicationId);
            find.Parameters.AddWithValue("@email", emailAddress);
            if (await find.ExecuteScalarAsync(cancellationToken) is long found) existingId = found;
        }

        long accountId;
        if (existingId is long id)
        {
            await using var update = new MySqlCommand("", connection, tx);
            string from = SyncStates.Of(SyncStateChange.CredentialsStored).Bind(update);
            update.CommandText = $"""
                UPDATE accounts SET name = @name, provider = @provider, imap_host = @host, imap_port = @port,
                  imap_security = @security, imap_username = @user, imap_trusted_cert_sha256 = @pin,
                  smtp_host = @smtp_host, smtp_port = @smtp_port, smtp_security = @smtp_security, smtp_username = @smtp_user,
                  smtp_trusted_cert_sha256 = @smtp_pin, secrets_sealed = @secrets, sync_state = @state, sync_error = NULL, sync_enabled = 1, updated_at = @now
                WHERE id = @id AND {from}
                """;
            AddAccountParameters(update, name, provider, imap, smtp, sealer.Seal(secretsJson, SecretBinding.AccountSecrets(id)), now);
            update.Parameters.AddWithValue("@id", id);
            await update.ExecuteNonQueryAsync(cancellationToken);
            accountId = id;
        }
        else
        {
            int shardId = await ChooseShardAsync(connection, tx, cancellationToken);
            await using var insert = new MySqlCommand("""
                INSERT INTO accounts (public_id, application_id, shard_id, email_address, name, provider, sync_state,
                  sync_enabled, imap_host, imap_port, imap_security, imap_username, imap_trusted_cert_sha256,
                  smtp_host, smtp_port, smtp_security, smtp_username, smtp_trusted_cert_sha256,
                  secrets_sealed, created_at, updated_at)
                VALUES (@pid, @app, @shard, @email, @name, @provider, @state, 1, @host, @port, @security, @user, @pin,
                  @smtp_host, @smtp_port, @smtp_security, @smtp_user, @smtp_pin, @secrets, @now, @now);
                SELECT LAST_INSERT_ID();
                """, connection, tx);
            // The seal is bound to the account id, which the insert makes: sealed right after, in the same transaction.
            AddAccountParameters(insert, name, provider, imap, smtp, [], now);
            insert.Parameters.AddWithValue("@pid", PublicId.New());
            insert.Parameters.AddWithValue("@state", SyncStates.Running);
            insert.Parameters.AddWithValue("@app", applicationId);
            insert.Parameters.AddWithValue("@shard", shardId);
            insert.Parameters.AddWithValue("@email", emailAddress);
            accountId = Convert.ToInt64(await insert.ExecuteScalarAsync(cancellationToken));
            await using var seal = new MySqlCommand("UPDATE accounts SET secrets_sealed = @secrets WHERE id = @id", connection, tx);
            seal.Parameters.AddWithValue("@secrets", sealer.Seal(secretsJson, SecretBinding.AccountSecrets(accountId)));
            seal.Parameters.AddWithValue("@id", accountId);
            await seal.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var tokenCmd = new MySqlCommand("INSERT INTO access_tokens (token_hash, account_id, created_at) VALUES (@hash, @account, @now)", connection, tx))
        {
            tokenCmd.Parameters.AddWithValue("@hash", Credentials.Hash(token));
            tokenCmd.Parameters.AddWithValue("@account", accountId);
            tokenCmd.Parameters.AddWithValue("@now", now);
            await tokenCmd.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);

        var account = await GetAsync(accountId, cancellationToken) ?? throw new InvalidOperationException("Account vanished after insert.");
        await RecordChangeAsync(account, existingId is null ? "insert" : "update", cancellationToken);
        return (account, token);
    }

    private static void AddAccountParameters(DbCommand cmd, string name, string provider, ImapServer imap, SmtpServer? smtp, byte[] sealedSecrets, DateTime now)
    {
        cmd.Parameters.AddWithValue("@smtp_host", smtp?.Host);
        cmd.Parameters.AddWithValue("@smtp_port", smtp?.Port);
        cmd.Parameters.AddWithValue("@smtp_security", smtp?.Security.ToString().ToLowerInvariant());
        cmd.Parameters.AddWithValue("@smtp_user", smtp?.Username);
        cmd.Parameters.AddWithValue("@smtp_pin", smtp?.TrustedCertSha256);
        cmd.Parameters.AddWithValue("@name", name);
        cmd.Parameters.AddWithValue("@provider", provider);
        cmd.Parameters.AddWithValue("@host", imap.Host);
        cmd.Parameters.AddWithValue("@port", imap.Port);
        cmd.Parameters.AddWithValue("@security", imap.Security.ToString().ToLowerInvariant());
        cmd.Parameters.AddWithValue("@user", imap.Username);
        cmd.Parameters.AddWithValue("@pin", imap.TrustedCertSha256);
        cmd.Parameters.AddWithValue("@secrets", sealedSecrets);
        cmd.Parameters.AddWithValue("@now", now);
    }

    /// <summary>New accounts go to the open, configured shard with the fewest accounts.</summary>
    private async Task<int> ChooseShardAsync(MySqlConnection connection, MySqlTransaction tx, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("""
            SELECT s.id, COUNT(a.id) FROM shards s LEFT JOIN accounts a ON a.shard_id = s.id
            WHERE s.open_for_new_accounts = 1 GROUP BY s.id ORDER BY COUNT(a.id), s.id
            """, connection, tx);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            int id = r.GetInt32(0);
            if (shards.ShardIds.Contains(id)) return id;
        }
        throw new InvalidOperationException("No shard is open for new accounts.");
    }

    public async Task<Account?> GetAsync(long accountId, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {AccountColumns} FROM accounts a WHERE a.id = @id");
        cmd.Parameters.AddWithValue("@id", accountId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken) ? ReadAccount(r) : null;
    }

    /// <summary>The account an access token belongs to, or null for unknown and revoked tokens.</summary>
    public async Task<Account?> FindByAccessTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand($"""
            SELECT {AccountColumns} FROM access_tokens t JOIN accounts a ON a.id = t.account_id
            WHERE t.token_hash = @hash AND t.revoked_at IS NULL
            """);
        cmd.Parameters.AddWithValue("@hash", Credentials.Hash(token));
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken) ? ReadAccount(r) : null;
    }

    /// <summary>The application's account with this public id; null when it does not exist or belongs to another application.</summary>
    public async Task<Account?> FindForApplicationAsync(long applicationId, string publicId, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {AccountColumns} FROM accounts a WHERE a.public_id = @pid AND a.application_id = @app");
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@app", applicationId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken) ? ReadAccount(r) : null;
    }

    public async Task<IReadOnlyList<Account>> ListForApplicationAsync(long applicationId, int limit, int offset, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {AccountColumns} FROM accounts a WHERE a.application_id = @app AND a.sync_state <> @deleting ORDER BY a.id LIMIT @limit OFFSET @offset");
        cmd.Parameters.AddWithValue("@app", applicationId);
        cmd.Parameters.AddWithValue("@deleting", SyncStates.Deleting);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@offset", offset);
        return await ReadAccountsAsync(cmd, cancellationToken);
    }

    /// <summary>Accounts whose sync should be running: enabled, and not waiting for new credentials.</summary>
    public async Task<IReadOnlyList<Account>> ListSyncableAsync(CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {AccountColumns} FROM accounts a WHERE a.sync_enabled = 1 AND a.sync_state <> @refused ORDER BY a.id");
        cmd.Parameters.AddWithValue("@refused", SyncStates.InvalidCredentials);
        return await ReadAccountsAsync(cmd, cancellationToken);
    }

    /// <summary>Accounts marked <c>deleting</c>: deletions under way, or interrupted ones for the deletion sweep to finish.</summary>
    public async Task<IReadOnlyList<Account>> ListDeletingAsync(CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {AccountColumns} FROM accounts a WHERE a.sync_state = @deleting ORDER BY a.id");
        cmd.Parameters.AddWithValue("@deleting", SyncStates.Deleting);
        return await ReadAccountsAsync(cmd, cancellationToken);
    }

    public async Task<AccountSecrets> GetSecretsAsync(long accountId, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand("SELECT secrets_sealed FROM accounts WHERE id = @id");
        cmd.Parameters.AddWithValue("@id", accountId);
        var sealedSecrets = await cmd.ExecuteScalarAsync(cancellationToken) as byte[]
            ?? throw new InvalidOperationException($"Account {accountId} not found.");
        return JsonSerializer.Deserialize<AccountSecrets>(sealer.Unseal(sealedSecrets, SecretBinding.AccountSecrets(accountId)))!;
    }

    /// <summary>Replaces the account's sealed secrets (an OAuth2 provider rotated the refresh token).</summary>
    public async Task UpdateSecretsAsync(long accountId, AccountSecrets secrets, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand("UPDATE accounts SET secrets_sealed = @secrets, updated_at = @now WHERE id = @id");
        cmd.Parameters.AddWithValue("@secrets", sealer.Seal(JsonSerializer.Serialize(secrets), SecretBinding.AccountSecrets(accountId)));
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>What sync reports (running, sync-error, invalid-credentials); never overrides a stop or a deletion an application asked for.</summary>
    public async Task SetSyncStateAsync(long accountId, string state, string? error, CancellationToken cancellationToken = default)
    {
        var before = await GetAsync(accountId, cancellationToken);
        await using var cmd = shards.Global.CreateCommand();
        string from = SyncStates.Of(SyncStates.ReportedBySync(state)).Bind(cmd);
        cmd.CommandText = $"""
            UPDATE accounts SET sync_state = @state, sync_error = @error, updated_at = @now
            WHERE id = @id AND sync_enabled = 1 AND {from}
            """;
        cmd.Parameters.AddWithValue("@error", error is { Length: > 2000 } ? error[..2000] : error);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", accountId);
        // Only a change of state is a change of the account (a new error text for the same state is not).
        if (await cmd.ExecuteNonQueryAsync(cancellationToken) > 0 && before is not null && before.SyncState != state)
            await RecordChangeAsync(before, "update", cancellationToken);
    }

    /// <summary>
    /// An account change in the account's own change log, for /delta and the account.* webhooks. The account row lives in
    /// the global database and its log in the shard, so this is a second transaction right after the first: a crash in
    /// between loses the entry (the state itself is kept and shown by GET /account).
    /// </summary>
    public async Task RecordChangeAsync(Account account, string command, CancellationToken cancellationToken = default)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await ChangeLog.AppendAsync(connection, tx, account.Id, "account", account.PublicId, command, clock, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Folders or labels, as the server's capabilities say (X-GM-EXT-1 means labels).</summary>
    public async Task SetOrganizationUnitAsync(long accountId, string organizationUnit, CancellationToken cancellationToken = default)
    {
        await using var cmd = shards.Global.CreateCommand("UPDATE accounts SET organization_unit = @unit, updated_at = @now WHERE id = @id");
        cmd.Parameters.AddWithValue("@unit", organizationUnit);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<Account>> ReadAccountsAsync(DbCommand cmd, CancellationToken cancellationToken)
    {
        var list = new List<Account>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) list.Add(ReadAccount(r));
        return list;
    }

    private static Account ReadAccount(DbDataReader r) => new(
        Id: r.GetInt64(0),
        PublicId: r.GetString(1),
        ApplicationId: r.GetInt64(2),
        ShardId: r.GetInt32(3),
        EmailAddress: r.GetString(4),
        Name: r.GetString(5),
        Provider: r.GetString(6),
        SyncState: r.GetString(7),
        SyncError: r.IsDBNull(8) ? null : r.GetString(8),
        SyncEnabled: r.GetBoolean(9),
        Imap: new ImapServer(r.GetString(10), r.GetInt32(11), Enum.Parse<ImapSecurity>(r.GetString(12), ignoreCase: true),
            r.GetString(13), r.IsDBNull(14) ? null : r.GetString(14)),
        CreatedAt: new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(15), DateTimeKind.Utc)),
        OrganizationUnit: r.GetString(16),
        Smtp: r.IsDBNull(17) ? null : new SmtpServer(r.GetString(17), r.GetInt32(18),
            Enum.Parse<Nylas.Core.Connect.MailSecurity>(r.GetString(19), ignoreCase: true), r.GetString(20), r.IsDBNull(21) ? null : r.GetString(21)));
}
