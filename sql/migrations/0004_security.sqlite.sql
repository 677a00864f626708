-- Issue 5 (security hardening): what a session remembers about its browser,
-- and the audit trail of security events.

-- remember: 1 when "Keep me signed in" was ticked (longer lifetime and idle
-- timeout); ip and user_agent let the profile list where the user is signed in.
ALTER TABLE sessions ADD COLUMN remember SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN ip VARCHAR(45) NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent VARCHAR(200) NOT NULL DEFAULT '';

-- Sign-ups, sign-ins and failures, sign-outs, throttling, password and email
-- changes, account deletion (wsgiauth/audit.py). Never a password, token or
-- cookie value, nor an email someone merely typed. uid has no foreign key on
-- purpose: the trail must outlive the account it describes.
CREATE TABLE security_events (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    event VARCHAR(32) NOT NULL,
    uid INTEGER,
    ip VARCHAR(45) NOT NULL,
    user_agent VARCHAR(200) NOT NULL,
    detail VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE INDEX security_events_user ON security_events (uid, event, at);
CREATE INDEX security_events_at ON security_events (at);
