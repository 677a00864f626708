-- Issue 15: passkeys (WebAuthn). See wsgiauth/passkeys.py.

-- One row per passkey a user has added. The public key and credential id are
-- kept as the authenticator sent them (credential_data: fido2's
-- AttestedCredentialData, base64url); lookups go through credential_hash, the
-- SHA-256 of the credential id (ids may be up to 1023 bytes: too long to index).
-- user_handle is the random id the authenticator stores for the account (the
-- same for all of a user's passkeys; never the email or uid).
CREATE TABLE passkeys (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uid INT UNSIGNED NOT NULL,
    credential_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    credential_data TEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_handle VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name VARCHAR(60) NOT NULL,
    sign_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NULL,
    UNIQUE KEY passkeys_credential (credential_hash),
    KEY passkeys_uid (uid),
    CONSTRAINT passkeys_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The challenge of a ceremony under way, at most one per browser session and
-- purpose ('register' or 'signin'); a
-- registration keeps the user handle it offered, for the passkey it makes. Taken (deleted) by the answer, whether
-- right or wrong, so each works once; refused after expires_at.
CREATE TABLE passkey_challenges (
    session_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    purpose VARCHAR(16) CHARACTER SET ascii NOT NULL,
    challenge VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    uid INT UNSIGNED NULL,
    user_handle VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (session_hash, purpose),
    KEY passkey_challenges_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
