-- Stage 2: every folder is mirrored. CONDSTORE checkpoint per folder; messages that lost their last
-- location (moved or deleted on the server) are kept as orphans until the end of a complete sync
-- pass, so a move re-links the same row (same public id) instead of deleting and re-creating it.
ALTER TABLE folders
  ADD COLUMN highest_mod_seq BIGINT UNSIGNED NULL AFTER uid_validity,
  ADD COLUMN attributes VARCHAR(255) NOT NULL DEFAULT '' AFTER role,
  -- servers without CONDSTORE: when every UID's flags were last compared (see SyncSchedule)
  ADD COLUMN last_full_compare_at DATETIME(3) NULL;

ALTER TABLE messages
  ADD COLUMN orphaned_at DATETIME(3) NULL AFTER parse_error,
  ADD KEY ix_messages_account_orphaned (account_id, orphaned_at),
  ADD KEY ix_messages_account_msgid (account_id, message_id_header(190));
