-- Accounts deleted in the last day. A sync step already running when its account was deleted can still write
-- a few rows (folders, checkpoints) after the deletion removed the rest; the deletion sweep deletes the
-- account's shard rows again, and schedules their blobs, while the account is listed here.
CREATE TABLE deleted_accounts (
  account_id BIGINT NOT NULL PRIMARY KEY,
  shard_id INT NOT NULL,
  deleted_at DATETIME(3) NOT NULL,
  KEY ix_deleted_accounts_at (deleted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
