-- The blob sweep asks every shard "does any account still reference this content?" by hash alone; the
-- unique keys lead with account_id, so without these that question reads the whole table.
ALTER TABLE messages ADD KEY ix_messages_sha (data_sha256);
ALTER TABLE files ADD KEY ix_files_content (content_sha256);
