-- Gmail (IMAP X-GM-EXT-1) organizes mail with labels, every other server with folders: the v2 account's
-- organization_unit. Learned from the server's capabilities when the account connects or syncs.
ALTER TABLE accounts ADD COLUMN organization_unit VARCHAR(8) NOT NULL DEFAULT 'folder' AFTER provider;
