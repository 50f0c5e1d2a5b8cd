-- Reconciliation (issue #11): a UID the server holds within a folder's synced range that the mirror lacks is a hole.
-- It gets a grace (its ingest may simply be queued), then is fetched again; a UID that stays missing, or that the
-- server leaves out of a FETCH answer, is retried later with a growing wait (quarantined), never taken as deleted.
CREATE TABLE folder_holes (
  folder_id BIGINT NOT NULL,
  uid BIGINT UNSIGNED NOT NULL,
  account_id BIGINT NOT NULL,
  first_missing_at DATETIME(3) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  retry_at DATETIME(3) NOT NULL,
  PRIMARY KEY (folder_id, uid),
  KEY ix_folder_holes_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Why the folder's last sync failed (SELECT or FETCH refused); NULL after a sync of it that succeeded.
ALTER TABLE folders ADD COLUMN sync_error VARCHAR(1000) NULL;
