-- Rate limiting and brute-force counting, kept in the database so that the
-- limits hold across processes and machines (not per worker in memory).
-- key_hash is SHA-256 of what is counted (an IP, an email typed at sign-in):
-- the table never holds an email someone merely typed.
CREATE TABLE attempts (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    bucket VARCHAR(32) CHARACTER SET ascii NOT NULL,
    key_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    at BIGINT NOT NULL,
    KEY attempts_lookup (bucket, key_hash, at),
    KEY attempts_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
