-- Global database: applications, accounts and where they live, access tokens.
CREATE TABLE applications (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  client_id VARCHAR(40) NOT NULL,
  client_secret_hash BINARY(32) NOT NULL,
  name VARCHAR(255) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_applications_client_id (client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE shards (
  id INT NOT NULL PRIMARY KEY,
  open_for_new_accounts TINYINT(1) NOT NULL DEFAULT 1
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE accounts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id VARCHAR(25) NOT NULL,
  application_id BIGINT NOT NULL,
  shard_id INT NOT NULL,
  email_address VARCHAR(320) NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  provider VARCHAR(32) NOT NULL,
  sync_state VARCHAR(32) NOT NULL,
  sync_error VARCHAR(2000) NULL,
  sync_enabled TINYINT(1) NOT NULL DEFAULT 1,
  imap_host VARCHAR(255) NOT NULL,
  imap_port INT NOT NULL,
  imap_security VARCHAR(16) NOT NULL,
  imap_username VARCHAR(320) NOT NULL,
  imap_trusted_cert_sha256 CHAR(64) NULL,
  -- AES-GCM sealed JSON of the account's secrets (passwords, refresh tokens); never stored in clear.
  secrets_sealed VARBINARY(8192) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_accounts_public_id (public_id),
  UNIQUE KEY ux_accounts_app_email (application_id, email_address),
  KEY ix_accounts_sync (sync_enabled, sync_state),
  CONSTRAINT fk_accounts_application FOREIGN KEY (application_id) REFERENCES applications (id),
  CONSTRAINT fk_accounts_shard FOREIGN KEY (shard_id) REFERENCES shards (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE access_tokens (
  token_hash BINARY(32) NOT NULL PRIMARY KEY,
  account_id BIGINT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  revoked_at DATETIME(3) NULL,
  KEY ix_access_tokens_account (account_id),
  CONSTRAINT fk_access_tokens_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
