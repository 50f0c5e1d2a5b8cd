-- Which host process watches which account's mailbox for changes (Sync/Watching/MailboxWatcher). A process claims
-- accounts whose lease is missing or expired, renews its own well before they expire, and deletes them when it lets
-- go; a process that died loses its accounts to the others when its leases expire. owner is the process's random id.
CREATE TABLE watch_leases (
  account_id BIGINT NOT NULL PRIMARY KEY,
  owner VARCHAR(64) CHARACTER SET ascii NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  KEY ix_watch_leases_owner (owner),
  KEY ix_watch_leases_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
