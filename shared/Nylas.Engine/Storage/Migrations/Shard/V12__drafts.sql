-- Stage 6: drafts (issue #10, Scope 5). A draft is a message row with is_draft = 1: created through /drafts (and
-- mirrored to the server's Drafts folder by syncback) or synced from another client (\Draft flag, or in the folder
-- with the role drafts). /messages leaves drafts out, /drafts shows only them.
--   draft_version: v2's version, 0 when created, one more on every update (the stale-version check of PUT/DELETE).
--   reply_to_message_id: the public id of the message the draft answers (v2's field), kept as given.
--   discarded_at: deleted or sent through the API, its server copy not removed yet: hidden everywhere, kept so the
--   sync still links a copy it meets in Drafts to this row instead of taking it for a new draft.
ALTER TABLE messages
  ADD COLUMN is_draft TINYINT(1) NOT NULL DEFAULT 0,
  ADD COLUMN draft_version INT NOT NULL DEFAULT 0,
  ADD COLUMN reply_to_message_id VARCHAR(25) NULL,
  ADD COLUMN discarded_at DATETIME(3) NULL,
  -- /messages (is_draft = 0) and /drafts (= 1) page and count from the index alone, as ix_messages_account_received
  -- let /messages do before (the deferred join of MessageQueries; a row read per skipped offset is what made it slow).
  ADD KEY ix_messages_account_draft_received (account_id, is_draft, received_unix, id);

-- Drafts synced before this migration.
UPDATE messages m SET m.is_draft = 1
WHERE EXISTS (SELECT 1 FROM imap_uids u JOIN folders f ON f.id = u.folder_id WHERE u.message_id = m.id AND f.role = 'drafts')
   OR EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = m.id AND FIND_IN_SET('\\Draft', REPLACE(u.flags, ' ', ',')) > 0);
