-- Plain email addresses only (security review, issue 11). The data part of
-- this migration is in Python (wsgiauth/migrations.py, plain_addresses): it
-- gives every account the canonical form of its address. SQLite does not
-- enforce VARCHAR lengths, so outbox.reply_to needs no change here (MySQL
-- widens it to 500).
SELECT 1;
