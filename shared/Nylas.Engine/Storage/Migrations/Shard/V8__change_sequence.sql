-- The change log's cursor is a per-account sequence, not the AUTO_INCREMENT id: an id is taken at insert,
-- not at commit, so two transactions could become visible out of id order and a reader that had read past
-- the later one would skip the earlier one for good. Each account's next number is taken from its
-- change_cursors row, whose row lock is held until the writing transaction commits: numbers therefore
-- become visible in order, and a reader that has seen n has seen everything up to n.
CREATE TABLE change_cursors (
  account_id BIGINT NOT NULL PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  -- every entry up to this one has been purged by retention; a cursor below it would silently skip changes
  purged_through BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_change_cursors_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE transactions ADD COLUMN seq BIGINT NOT NULL DEFAULT 0 AFTER account_id;

-- Existing entries keep their order: numbered per account by id.
UPDATE transactions t
JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY id) AS n FROM transactions) numbered ON numbered.id = t.id
SET t.seq = numbered.n;

INSERT INTO change_cursors (account_id, last_seq, updated_at)
SELECT account_id, MAX(seq), MAX(created_at) FROM transactions GROUP BY account_id;

ALTER TABLE transactions
  DROP PRIMARY KEY,
  DROP COLUMN id,
  DROP KEY ix_transactions_account,
  ADD PRIMARY KEY (account_id, seq),
  ADD KEY ix_transactions_created (created_at);
