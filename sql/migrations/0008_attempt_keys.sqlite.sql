-- One row per counted key (issue 14): every limit check writes its key's row
-- first, in the same transaction as the count, so checks of one key run one
-- at a time. Without it, 20 attempts at once could all count 4 and all be let in.
CREATE TABLE attempt_keys (
    bucket TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    hits INTEGER NOT NULL,
    touched_at INTEGER NOT NULL,
    PRIMARY KEY (bucket, key_hash)
);
CREATE INDEX attempt_keys_touched_at ON attempt_keys (touched_at);
