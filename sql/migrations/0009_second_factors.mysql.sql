-- Issue 15: an authenticator app (TOTP) per account, its recovery codes, and
-- the half-signed-in state between the right password and the code.
-- The app's key must be read to check a code, so it cannot be hashed; it is
-- never logged or shown again after set-up (SECURITY.md, accepted risks).
-- confirmed_at is NULL while the user has not yet typed a first code; a
-- code's time step must be above last_step, so each code works once.
CREATE TABLE totp_factors (
    uid INT UNSIGNED NOT NULL PRIMARY KEY,
    secret VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    confirmed_at BIGINT NULL,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT totp_factors_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Recovery codes, stored only as a salted scrypt hash (a set shares one
-- random salt); used_at marks the one use each gets.
CREATE TABLE recovery_codes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uid INT UNSIGNED NOT NULL,
    salt CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    code_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    used_at BIGINT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE KEY recovery_codes_code (uid, code_hash),
    CONSTRAINT recovery_codes_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The right password was typed in the browser whose session id hashes to
-- id_hash; it has until expires_at to type the code. Not a session: nothing
-- but the code page accepts it.
CREATE TABLE pending_signins (
    id_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    uid INT UNSIGNED NOT NULL,
    remember TINYINT NOT NULL,
    expires_at BIGINT NOT NULL,
    KEY pending_signins_expires_at (expires_at),
    CONSTRAINT pending_signins_user FOREIGN KEY (uid) REFERENCES users (uid) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
