-- The outbox (v2 /outbox): messages to send at send_at, each delivered by its own durable orchestration. The row is the
-- truth the orchestration checks before it sends: an attempt claims the row (scheduled -> sending) in a transaction
-- before it talks to the SMTP server, so a cancelled or rescheduled message is never sent and one is sent at most once.
-- public_id is the v2 job_status_id. The MIME to send is in the raw-mail blob store under mime_sha256, built when the
-- item was created or last updated (its Message-ID stays the same across updates and retries).
CREATE TABLE outbox (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  state VARCHAR(10) NOT NULL,
  send_at DATETIME(3) NOT NULL,
  original_send_at DATETIME(3) NOT NULL,
  retry_limit_at DATETIME(3) NOT NULL,
  -- when the next attempt is due: send_at, or later after a temporary failure
  next_attempt_at DATETIME(3) NOT NULL,
  -- the v2 draft fields as given (subject, body, to, cc, bcc, reply_to, from, reply_to_message_id, tracking)
  message_json MEDIUMTEXT NOT NULL,
  mime_sha256 CHAR(64) NOT NULL,
  message_id_header VARCHAR(998) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error VARCHAR(2000) NULL,
  sent_message_public_id VARCHAR(25) NULL,
  sent_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_outbox_account_public (account_id, public_id),
  KEY ix_outbox_account_created (account_id, id),
  KEY ix_outbox_state_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin AUTO_INCREMENT=${auto_increment_start};
