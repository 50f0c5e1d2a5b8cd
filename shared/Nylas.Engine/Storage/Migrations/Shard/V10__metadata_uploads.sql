-- Stage 6: uploaded files (POST /files) and metadata (v2 key-value pairs kept in the mirror, never on the server).

-- Uploads share the files table with attachments, so /files, the downloads and the blob sweep's "is this content
-- still referenced" question see them without a second table. An attachment has upload_key '' (one file per
-- content + name, as before); an upload has its own public id there, so two uploads of the same bytes and name
-- are two files, and ingest, which looks files up with upload_key = '', never links mail to an upload.
ALTER TABLE files
  ADD COLUMN upload_key VARCHAR(25) NOT NULL DEFAULT '' AFTER size,
  DROP KEY ux_files_account_content,
  ADD UNIQUE KEY ux_files_account_content (account_id, content_sha256, filename, upload_key);

-- The uploaded files a draft names in its file_ids. Filled by the drafts feature (issue #10, Scope 5), which does
-- not exist yet; DELETE /files/{id} already refuses a file listed here.
CREATE TABLE draft_files (
  account_id BIGINT NOT NULL,
  draft_id BIGINT NOT NULL,
  file_id BIGINT NOT NULL,
  PRIMARY KEY (draft_id, file_id),
  KEY ix_draft_files_file (file_id),
  KEY ix_draft_files_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Metadata of messages, threads and events (drafts later), by the object's row id. Keys and values compare
-- exactly (binary collation). v2's limits: 50 pairs per object, keys up to 40 characters, values up to 500.
CREATE TABLE object_metadata (
  account_id BIGINT NOT NULL,
  object_type VARCHAR(16) NOT NULL,
  object_id BIGINT NOT NULL,
  meta_key VARCHAR(40) NOT NULL,
  meta_value VARCHAR(500) NOT NULL,
  PRIMARY KEY (object_type, object_id, meta_key),
  KEY ix_object_metadata_key (account_id, object_type, meta_key),
  KEY ix_object_metadata_value (account_id, object_type, meta_value(100))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
