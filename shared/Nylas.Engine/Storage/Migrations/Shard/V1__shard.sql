-- Shard database: everything of an account lives wholly in one shard. Every table starts its
-- AUTO_INCREMENT at (shard id << 48) so row ids encode their shard and never collide across shards.
CREATE TABLE folders (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  name VARCHAR(512) NOT NULL,
  display_name VARCHAR(512) NOT NULL,
  role VARCHAR(32) NULL,
  -- sync checkpoint: every UID in (synced_low_uid, synced_high_uid] has been fetched and queued
  uid_validity BIGINT UNSIGNED NULL,
  synced_high_uid BIGINT UNSIGNED NOT NULL DEFAULT 0,
  synced_low_uid BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_synced_at DATETIME(3) NULL,
  UNIQUE KEY ux_folders_account_name (account_id, name),
  UNIQUE KEY ux_folders_account_public (account_id, public_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin AUTO_INCREMENT=${auto_increment_start};

CREATE TABLE messages (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  data_sha256 CHAR(64) NOT NULL,
  size BIGINT NOT NULL,
  message_id_header VARCHAR(998) NULL,
  in_reply_to VARCHAR(998) NULL,
  references_json MEDIUMTEXT NULL,
  subject TEXT NULL,
  from_json MEDIUMTEXT NOT NULL,
  to_json MEDIUMTEXT NOT NULL,
  cc_json MEDIUMTEXT NOT NULL,
  bcc_json MEDIUMTEXT NOT NULL,
  reply_to_json MEDIUMTEXT NOT NULL,
  date_unix BIGINT NOT NULL,
  received_unix BIGINT NOT NULL,
  snippet VARCHAR(400) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  is_read TINYINT(1) NOT NULL DEFAULT 0,
  is_starred TINYINT(1) NOT NULL DEFAULT 0,
  -- set when MimeKit could not parse the message; the raw MIME is kept in blob storage all the same
  parse_error VARCHAR(2000) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_messages_account_sha (account_id, data_sha256),
  UNIQUE KEY ux_messages_account_public (account_id, public_id),
  KEY ix_messages_account_received (account_id, received_unix, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};

-- Where each message sits on the server: one row per (folder, UID).
CREATE TABLE imap_uids (
  account_id BIGINT NOT NULL,
  folder_id BIGINT NOT NULL,
  uid BIGINT UNSIGNED NOT NULL,
  message_id BIGINT NOT NULL,
  flags VARCHAR(1000) NOT NULL DEFAULT '',
  PRIMARY KEY (folder_id, uid),
  KEY ix_imap_uids_message (message_id),
  KEY ix_imap_uids_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The change log: written in the same transaction as the change it records; /delta and webhooks read it.
CREATE TABLE transactions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  object_type VARCHAR(20) NOT NULL,
  object_public_id VARCHAR(25) NOT NULL,
  command VARCHAR(10) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  KEY ix_transactions_account (account_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};
