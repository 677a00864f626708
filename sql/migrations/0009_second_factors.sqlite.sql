-- Issue 15: an authenticator app (TOTP) per account, its recovery codes, and
-- the half-signed-in state between the right password and the code (see the
-- MySQL version of this migration for what each column is for).
CREATE TABLE totp_factors (
    uid INTEGER NOT NULL PRIMARY KEY REFERENCES users (uid) ON DELETE CASCADE,
    secret VARCHAR(64) NOT NULL,
    confirmed_at BIGINT NULL,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid INTEGER NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    salt CHAR(32) NOT NULL,
    code_hash CHAR(64) NOT NULL,
    used_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (uid, code_hash)
);

CREATE TABLE pending_signins (
    id_hash CHAR(64) NOT NULL PRIMARY KEY,
    uid INTEGER NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    remember INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_signins_expires_at ON pending_signins (expires_at);
