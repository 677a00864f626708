-- Messages sent from the Contact page, and the outbox every email passes through.
-- uid is the signed-in sender, if any; the visitor's IP address is not kept.
CREATE TABLE contact_messages (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uid INT UNSIGNED NULL,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(254) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    KEY contact_messages_created_at (created_at),
    CONSTRAINT contact_messages_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every email is written here first, in the same transaction as the change
-- that causes it, then delivered; a failed delivery stays here to be retried.
-- status is 'pending' or 'sent'. A process that wants to send a row first
-- claims it (claim = its random token, claimed_until = when the claim
-- lapses), so two senders never send one message twice.
CREATE TABLE outbox (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    message_id VARCHAR(255) CHARACTER SET ascii NOT NULL,
    mail_from VARCHAR(400) NOT NULL,
    mail_to VARCHAR(400) NOT NULL,
    reply_to VARCHAR(400) NULL,
    subject VARCHAR(300) NOT NULL,
    -- MEDIUMTEXT (16 MiB): TEXT would stop at 64 KiB of UTF-8.
    body MEDIUMTEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status VARCHAR(16) CHARACTER SET ascii NOT NULL,
    attempts INT NOT NULL,
    last_error VARCHAR(500) NULL,
    next_attempt_at BIGINT NOT NULL,
    claim CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
    claimed_until BIGINT NOT NULL,
    sent_at BIGINT NULL,
    KEY outbox_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
