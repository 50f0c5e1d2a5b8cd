-- Stage 3: what ingest derives from each message, written in the message's own transaction.

-- Conversations. Aggregates are maintained on write so listing threads stays an index scan.
CREATE TABLE threads (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  subject TEXT NULL,
  participants_json MEDIUMTEXT NOT NULL,
  first_message_unix BIGINT NOT NULL,
  last_message_unix BIGINT NOT NULL,
  last_received_unix BIGINT NULL,
  last_sent_unix BIGINT NULL,
  snippet VARCHAR(400) NOT NULL DEFAULT '',
  version INT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_threads_account_public (account_id, public_id),
  KEY ix_threads_account_last (account_id, last_message_unix, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};

-- Every Message-ID a thread's messages own or reference (In-Reply-To, References): a late parent finds its
-- children here. Case-sensitive, like Message-IDs. The unique key also detects two ingests racing to link.
CREATE TABLE thread_message_ids (
  account_id BIGINT NOT NULL,
  message_id VARCHAR(250) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  thread_id BIGINT NOT NULL,
  PRIMARY KEY (account_id, message_id),
  KEY ix_thread_message_ids_thread (thread_id)
) ENGINE=InnoDB;

CREATE TABLE thread_gmail_ids (
  account_id BIGINT NOT NULL,
  gmail_thread_id VARCHAR(40) NOT NULL,
  thread_id BIGINT NOT NULL,
  PRIMARY KEY (account_id, gmail_thread_id),
  KEY ix_thread_gmail_ids_thread (thread_id)
) ENGINE=InnoDB;

ALTER TABLE messages
  ADD COLUMN thread_id BIGINT NULL AFTER public_id,
  ADD COLUMN subject_key VARCHAR(200) NULL,
  ADD COLUMN subject_date_unix BIGINT NULL,
  ADD COLUMN subject_seeks TINYINT(1) NOT NULL DEFAULT 0,
  ADD COLUMN is_sent TINYINT(1) NOT NULL DEFAULT 0,
  -- problems the parser worked around (truncated headers, unparseable addresses, broken calendars): flagged, not fatal
  ADD COLUMN parse_notes TEXT NULL,
  ADD KEY ix_messages_thread (thread_id, date_unix),
  ADD KEY ix_messages_subject (account_id, subject_key(100), subject_date_unix);

-- Contacts from participants, one per normalized address. Binary collation: ingest normalizes addresses
-- itself, and an accent-insensitive key would call jdöe@ and jdoe@ one address.
CREATE TABLE contacts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  email VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_contacts_account_email (account_id, email),
  UNIQUE KEY ux_contacts_account_public (account_id, public_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};

-- Attachments and inline parts: content in Blob storage by SHA-256; one file per (content, name) per account.
CREATE TABLE files (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  content_sha256 CHAR(64) NOT NULL,
  filename VARCHAR(512) NOT NULL,
  content_type VARCHAR(255) NOT NULL,
  size BIGINT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_files_account_public (account_id, public_id),
  -- Unique, so two ingests of the same attachment race into a duplicate-key retry instead of two rows.
  UNIQUE KEY ux_files_account_content (account_id, content_sha256, filename)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};

CREATE TABLE message_files (
  message_id BIGINT NOT NULL,
  file_id BIGINT NOT NULL,
  position INT NOT NULL,
  content_id VARCHAR(255) NULL,
  content_disposition VARCHAR(16) NOT NULL,
  PRIMARY KEY (message_id, position),
  KEY ix_message_files_file (file_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Invitations read from mail land in each account's read-only "Emailed events" calendar.
CREATE TABLE calendars (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  name VARCHAR(255) NOT NULL,
  description VARCHAR(1000) NOT NULL DEFAULT '',
  read_only TINYINT(1) NOT NULL DEFAULT 1,
  UNIQUE KEY ux_calendars_account_name (account_id, name),
  UNIQUE KEY ux_calendars_account_public (account_id, public_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};

CREATE TABLE events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  public_id VARCHAR(25) NOT NULL,
  calendar_id BIGINT NOT NULL,
  ical_uid VARCHAR(255) NOT NULL,
  recurrence_id VARCHAR(64) NOT NULL DEFAULT '',
  sequence INT NOT NULL,
  message_id BIGINT NULL,
  status VARCHAR(16) NOT NULL,
  data_json MEDIUMTEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY ux_events_uid (account_id, calendar_id, ical_uid(191), recurrence_id),
  UNIQUE KEY ux_events_account_public (account_id, public_id),
  KEY ix_events_message (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=${auto_increment_start};
