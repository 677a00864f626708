-- Issue 18: how many of the account's recovery codes are unused, kept on its
-- authenticator app's row, so that the Security page's session lookup reads
-- it from a row it joins anyway. See the MySQL version.
ALTER TABLE totp_factors ADD COLUMN codes_left INTEGER NOT NULL DEFAULT 0;

UPDATE totp_factors SET codes_left = (
    SELECT COUNT(*) FROM recovery_codes r WHERE r.uid = totp_factors.uid AND r.used_at IS NULL);
