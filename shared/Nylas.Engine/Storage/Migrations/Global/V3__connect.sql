-- Stage 4, connecting accounts: SMTP settings next to IMAP ones, and the one-time codes of the
-- Nylas v2 native-auth flow (POST /connect/authorize answers a code, POST /connect/token redeems it).
ALTER TABLE accounts
  ADD COLUMN smtp_host VARCHAR(255) NULL AFTER imap_trusted_cert_sha256,
  ADD COLUMN smtp_port INT NULL AFTER smtp_host,
  ADD COLUMN smtp_security VARCHAR(16) NULL AFTER smtp_port,
  ADD COLUMN smtp_username VARCHAR(320) NULL AFTER smtp_security,
  ADD COLUMN smtp_trusted_cert_sha256 CHAR(64) NULL AFTER smtp_username;

-- A verified, not yet redeemed connection. Only the code's SHA-256 is kept; the request (credentials
-- included) is AES-GCM sealed and wiped when the code is redeemed. A code is redeemed at most once
-- (used_at), by the application it was issued to, before expires_at.
CREATE TABLE connect_codes (
  code_hash BINARY(32) NOT NULL PRIMARY KEY,
  application_id BIGINT NOT NULL,
  request_sealed VARBINARY(16384) NULL,
  created_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  used_at DATETIME(3) NULL,
  KEY ix_connect_codes_expires (expires_at),
  CONSTRAINT fk_connect_codes_application FOREIGN KEY (application_id) REFERENCES applications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
