-- One row per counted key (issue 14): every limit check writes its key's row
-- first, in the same transaction as the count, so checks of one key run one
-- at a time on a server, and conflict (then are retried) across Galera nodes.
-- Without it, 20 attempts at once could all count 4 and all be let in.
CREATE TABLE attempt_keys (
    bucket VARCHAR(32) CHARACTER SET ascii NOT NULL,
    key_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    hits BIGINT NOT NULL,
    touched_at BIGINT NOT NULL,
    PRIMARY KEY (bucket, key_hash),
    KEY attempt_keys_touched_at (touched_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
