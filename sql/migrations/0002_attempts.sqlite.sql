-- Rate limiting and brute-force counting, kept in the database so that the
-- limits hold across processes and machines (not per worker in memory).
-- key_hash is SHA-256 of what is counted (an IP, an email typed at sign-in):
-- the table never holds an email someone merely typed.
CREATE TABLE attempts (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    bucket VARCHAR(32) NOT NULL,
    key_hash CHAR(64) NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX attempts_lookup ON attempts (bucket, key_hash, at);
CREATE INDEX attempts_at ON attempts (at);
