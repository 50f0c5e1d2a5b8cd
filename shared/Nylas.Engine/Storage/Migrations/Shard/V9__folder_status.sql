-- The folder's STATUS (UIDVALIDITY:UIDNEXT:MESSAGES:HIGHESTMODSEQ) when its last sync that completed began: a sync
-- step skips the folder while the server's status still equals it (Nylas.Core.Sync.FolderStatusRules). NULL until
-- a complete sync, and after a UIDVALIDITY reset.
ALTER TABLE folders ADD COLUMN status_token VARCHAR(100) CHARACTER SET ascii NULL;
