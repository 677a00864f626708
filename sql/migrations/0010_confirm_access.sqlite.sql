-- Confirm access ("sudo mode", issue 15): when this session last proved who
-- is using it (signing in, or the Confirm access page). Changing the email or
-- the password, deleting the account and signing out other sessions need it
-- within WSGIAUTH_CONFIRM_ACCESS_MINUTES. Per session and server side: it ends
-- with the row. Sessions from before this migration start unconfirmed (NULL).
ALTER TABLE sessions ADD COLUMN access_confirmed_at INTEGER;
