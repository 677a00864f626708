-- Issue 18: how many of the account's recovery codes are unused, kept on its
-- authenticator app's row, so that the Security page's session lookup reads
-- it from a row it joins anyway: on MariaDB the correlated COUNT(*) cost
-- ~30-40 µs of server CPU per page. recovery_codes stays the truth (a code is
-- checked against it); factors.py sets this count with every new set and
-- counts it down, in the same transaction, with every code used (the row
-- lock the UPDATE takes makes two codes used at once count down one after
-- the other). Codes exist only with an app: removing the app removes both.
ALTER TABLE totp_factors ADD COLUMN codes_left INT NOT NULL DEFAULT 0;

UPDATE totp_factors t SET codes_left = (
    SELECT COUNT(*) FROM recovery_codes r WHERE r.uid = t.uid AND r.used_at IS NULL);
