-- Messages sent from the Contact page, and the outbox every email passes through.
-- uid is the signed-in sender, if any; the visitor's IP address is not kept.
CREATE TABLE contact_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid INTEGER NULL REFERENCES users (uid) ON DELETE SET NULL,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(254) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX contact_messages_created_at ON contact_messages (created_at);
CREATE INDEX contact_messages_uid ON contact_messages (uid);

-- Every email is written here first, in the same transaction as the change
-- that causes it, then delivered; a failed delivery stays here to be retried.
-- status is 'pending' or 'sent'. A process that wants to send a row first
-- claims it (claim = its random token, claimed_until = when the claim
-- lapses), so two senders never send one message twice.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id VARCHAR(255) NOT NULL,
    mail_from VARCHAR(400) NOT NULL,
    mail_to VARCHAR(400) NOT NULL,
    reply_to VARCHAR(400) NULL,
    subject VARCHAR(300) NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    attempts INTEGER NOT NULL,
    last_error VARCHAR(500) NULL,
    next_attempt_at BIGINT NOT NULL,
    claim CHAR(32) NULL,
    claimed_until BIGINT NOT NULL,
    sent_at BIGINT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
