-- Gmail (X-GM-EXT-1): every label is a folders row, but only All Mail, Trash and Spam are synced for
-- messages. What Gmail says about each synced location is kept per (folder, uid), because it is known
-- when the location is fetched, before ingest creates the message row.

-- X-GM-MSGID and X-GM-THRID of each location: the same X-GM-MSGID in All Mail, Trash or Spam is one message.
CREATE TABLE gmail_uids (
  account_id BIGINT NOT NULL,
  folder_id BIGINT NOT NULL,
  uid BIGINT UNSIGNED NOT NULL,
  gmail_msgid BIGINT UNSIGNED NOT NULL,
  gmail_thrid BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (folder_id, uid),
  KEY ix_gmail_uids_msgid (account_id, gmail_msgid)
) ENGINE=InnoDB;

-- X-GM-LABELS of each location, as the label's folders row.
CREATE TABLE imap_uid_labels (
  account_id BIGINT NOT NULL,
  folder_id BIGINT NOT NULL,
  uid BIGINT UNSIGNED NOT NULL,
  label_id BIGINT NOT NULL,
  PRIMARY KEY (folder_id, uid, label_id),
  KEY ix_imap_uid_labels_label (label_id)
) ENGINE=InnoDB;

-- Remembered when a message loses its last location, so a move (All Mail -> Trash) re-links it by X-GM-MSGID.
ALTER TABLE messages
  ADD COLUMN gmail_msgid BIGINT UNSIGNED NULL AFTER orphaned_at,
  ADD KEY ix_messages_account_gmail (account_id, gmail_msgid);
