-- Blobs an account deletion may have left without an owner. Raw MIME and attachment contents are named by
-- their SHA-256 and shared by every account that has the same bytes, so deleting an account cannot delete
-- them at once: it lists them here, and the blob sweep deletes each one that no account of any shard
-- references once due_at has passed, unless the blob was stored again after scheduled_at (another account's
-- sync found it there and touched it; its ingest has not landed yet). The delay lets ingest messages already
-- queued for the same content (another account's copy of the same newsletter) land their rows before the check.
CREATE TABLE blob_sweep (
  store ENUM('raw-mail','files') NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  scheduled_at DATETIME(3) NOT NULL,
  due_at DATETIME(3) NOT NULL,
  PRIMARY KEY (store, sha256),
  KEY ix_blob_sweep_due (due_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
