-- Issue 15: passkeys (WebAuthn). See wsgiauth/passkeys.py.

-- One row per passkey a user has added. The public key and credential id are
-- kept as the authenticator sent them (credential_data: fido2's
-- AttestedCredentialData, base64url); lookups go through credential_hash, the
-- SHA-256 of the credential id, which fits an index on every database.
-- user_handle is the random id the authenticator stores for the account (the
-- same for all of a user's passkeys; never the email or uid).
CREATE TABLE passkeys (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uid INTEGER NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    credential_hash TEXT NOT NULL,
    credential_data TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    name VARCHAR(60) NOT NULL,
    sign_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX passkeys_credential ON passkeys (credential_hash);
CREATE INDEX passkeys_uid ON passkeys (uid);

-- The challenge of a ceremony under way, at most one per browser session and
-- purpose ('register' or 'signin'); a
-- registration keeps the user handle it offered, for the passkey it makes. Taken (deleted) by the answer, whether
-- right or wrong, so each works once; refused after expires_at.
CREATE TABLE passkey_challenges (
    session_hash TEXT NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    challenge VARCHAR(64) NOT NULL,
    uid INTEGER,
    user_handle VARCHAR(64),
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (session_hash, purpose)
);
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
