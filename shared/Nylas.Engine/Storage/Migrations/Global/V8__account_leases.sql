-- One writer per account (Accounts/AccountLeases): a sync step or a deletion holds the account's row while it writes.
-- owner is the holder's random id, generation grows at every acquisition (the fencing token a write checks under the
-- row's lock), expires_at comes from the database's clock. heartbeat_at moves whenever a step starts, renews or ends:
-- the supervisor restarts an account's orchestration when it stops moving (Nylas:Accounts:StuckAfterSeconds).
CREATE TABLE account_leases (
  account_id BIGINT NOT NULL PRIMARY KEY,
  owner VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
  generation BIGINT NOT NULL DEFAULT 0,
  expires_at DATETIME(3) NOT NULL,
  heartbeat_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
