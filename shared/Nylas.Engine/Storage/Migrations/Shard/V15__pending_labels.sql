-- Gmail label writes the API accepted and the server has not confirmed yet. While a message has a pending
-- change_labels action (labels_pending = 1), the API shows these labels instead of its locations' X-GM-LABELS,
-- so a sync that reads the server before the write is applied does not make the labels flip back.
CREATE TABLE pending_message_labels (
  account_id BIGINT NOT NULL,
  message_id BIGINT NOT NULL,
  label_id BIGINT NOT NULL,
  PRIMARY KEY (message_id, label_id)
) ENGINE=InnoDB;

ALTER TABLE messages ADD COLUMN labels_pending TINYINT(1) NOT NULL DEFAULT 0;
