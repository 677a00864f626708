-- Account lifecycle: email confirmation, email change, one-shot notices.
-- confirmed_at: when the owner of the address opened a link sent to it
-- (NULL until then; accounts from before this migration start unconfirmed).
ALTER TABLE users ADD COLUMN confirmed_at BIGINT NULL;
-- pending_email: the new address of a requested change, until the link sent
-- there is opened. A newer request replaces it, and with it the older link.
ALTER TABLE users ADD COLUMN pending_email VARCHAR(254) NULL;
-- notice: a message for this browser's next page ("Your name has been
-- updated."), shown once and cleared.
ALTER TABLE sessions ADD COLUMN notice VARCHAR(500) NULL;
