-- Stage 5, webhooks (shared/Nylas.Engine/Webhooks): an application's subscriptions, the key their deliveries
-- are signed with, where each subscription stands in each account's change log, and the delivery log.

-- One subscription. state: active | failing (deliveries keep failing, still retried) | inactive (set by the
-- application, or by the engine after Nylas:Webhooks:InactiveAfterMinutes of failures). triggers: comma-separated v2 names.
CREATE TABLE webhooks (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  public_id VARCHAR(25) NOT NULL,
  application_id BIGINT NOT NULL,
  callback_url VARCHAR(2000) NOT NULL,
  state VARCHAR(16) NOT NULL,
  triggers VARCHAR(2000) NOT NULL,
  version INT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_webhooks_public_id (public_id),
  KEY ix_webhooks_application (application_id, state),
  KEY ix_webhooks_state (state),
  CONSTRAINT fk_webhooks_application FOREIGN KEY (application_id) REFERENCES applications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The client secret keys the signature (what the v2 SDK's verifyWebhookSignature checks), but applications keep
-- only its hash. The secret is taken from the request that creates or changes a subscription (client-secret
-- auth), checked against that hash, and kept here AES-GCM sealed, bound to the application (SecretSealer).
-- secret_hash says which client secret it is, so a rotated secret is noticed and the seal replaced.
CREATE TABLE webhook_signing_keys (
  application_id BIGINT NOT NULL PRIMARY KEY,
  secret_sealed VARBINARY(1024) NOT NULL,
  secret_hash BINARY(32) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  CONSTRAINT fk_webhook_signing_keys_application FOREIGN KEY (application_id) REFERENCES applications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Where one subscription stands in one account's change log (the account's own sequence, ChangeFeed).
--   scanned_seq: every change <= it was delivered or matched none of the triggers.
--   sent_seq:    the end cursor of the last acknowledged delivery (the next delivery's start cursor).
--   batch_*:     the delivery in flight: its id (the same on every retry) and the changes it covers, fixed
--                before the first attempt so that a retry carries exactly the same range.
--   attempts, failing_since, next_attempt_at: the retry state (exponential backoff with jitter).
--   lease_until: one delivery worker at a time per (subscription, account): the order is kept across processes.
--   enqueued_at: work for it is on the queue (the poller does not queue it again until it is stale).
CREATE TABLE webhook_positions (
  webhook_id BIGINT NOT NULL,
  account_id BIGINT NOT NULL,
  shard_id INT NOT NULL,
  scanned_seq BIGINT NOT NULL,
  sent_seq BIGINT NOT NULL,
  batch_id CHAR(32) CHARACTER SET ascii NULL,
  batch_end_seq BIGINT NULL,
  attempts INT NOT NULL DEFAULT 0,
  failing_since DATETIME(3) NULL,
  next_attempt_at DATETIME(3) NULL,
  lease_until DATETIME(3) NULL,
  lease_owner CHAR(32) CHARACTER SET ascii NULL,
  enqueued_at DATETIME(3) NULL,
  PRIMARY KEY (webhook_id, account_id),
  KEY ix_webhook_positions_account (account_id),
  KEY ix_webhook_positions_due (next_attempt_at),
  KEY ix_webhook_positions_enqueued (enqueued_at),
  CONSTRAINT fk_webhook_positions_webhook FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE,
  CONSTRAINT fk_webhook_positions_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every attempt, kept Nylas:Webhooks:DeliveryLogDays: GET /a/{client_id}/webhooks/{id}/deliveries.
CREATE TABLE webhook_deliveries (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  webhook_id BIGINT NOT NULL,
  account_id BIGINT NOT NULL,
  delivery_id CHAR(32) CHARACTER SET ascii NOT NULL,
  attempt INT NOT NULL,
  cursor_start_seq BIGINT NOT NULL,
  cursor_end_seq BIGINT NOT NULL,
  deltas INT NOT NULL,
  attempted_at DATETIME(3) NOT NULL,
  status_code INT NULL,
  latency_ms INT NOT NULL,
  error VARCHAR(1000) NULL,
  KEY ix_webhook_deliveries_webhook (webhook_id, id),
  KEY ix_webhook_deliveries_attempted (attempted_at),
  CONSTRAINT fk_webhook_deliveries_webhook FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- How far the change feed of each shard has been polled. A poller takes the shard's row FOR UPDATE SKIP LOCKED,
-- so with several processes one polls a shard at a time and the others skip it.
CREATE TABLE webhook_poll_state (
  shard_id INT NOT NULL PRIMARY KEY,
  polled_until DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
