-- Account lifecycle: email confirmation, email change, one-shot notices.
-- confirmed_at: when the owner of the address opened a link sent to it
-- (NULL until then; accounts from before this migration start unconfirmed).
-- pending_email: the new address of a requested change, until the link sent
-- there is opened (compared byte for byte, like email). A newer request
-- replaces it, and with it the older link.
ALTER TABLE users
    ADD COLUMN confirmed_at BIGINT NULL,
    ADD COLUMN pending_email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
-- notice: a message for this browser's next page ("Your name has been
-- updated."), shown once and cleared.
ALTER TABLE sessions ADD COLUMN notice VARCHAR(500) NULL;
