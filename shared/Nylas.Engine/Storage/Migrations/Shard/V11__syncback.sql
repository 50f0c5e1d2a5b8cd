-- Syncback: API writes waiting to be applied to the mail server, in the account's order. Each row is written in the
-- same transaction as the optimistic local change and its change-log entry; the account's sync step applies the
-- pending ones (lowest seq first) before it syncs. seq is taken after the change-log entry, whose change_cursors
-- row lock serialises the account's writers, so seq order is commit order. public_id is the v2 job_status_id.
CREATE TABLE syncback_actions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  action VARCHAR(32) NOT NULL,
  object_type VARCHAR(20) NOT NULL,
  object_public_id VARCHAR(25) NOT NULL,
  -- the message or folder row the action is about (a folder row may be gone once a delete applied)
  object_row_id BIGINT NOT NULL,
  payload MEDIUMTEXT NOT NULL,
  state VARCHAR(10) NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL,
  last_error VARCHAR(2000) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_syncback_account_seq (account_id, seq),
  UNIQUE KEY ux_syncback_account_public (account_id, public_id),
  KEY ix_syncback_pending (account_id, state, seq),
  KEY ix_syncback_object (object_row_id, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin AUTO_INCREMENT=${auto_increment_start};

-- A move the API accepted and the server has not confirmed yet: the folder the message is shown in meanwhile.
ALTER TABLE messages ADD COLUMN pending_folder_id BIGINT NULL;
