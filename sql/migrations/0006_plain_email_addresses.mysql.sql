-- Plain email addresses only (security review, issue 11). The data part of
-- this migration is in Python (wsgiauth/migrations.py, plain_addresses): it
-- gives every account the canonical form of its address.
--
-- reply_to holds "Name <address>" of a Contact message: a 100-character name
-- whose every character needs a backslash in quotes, plus a 254-character
-- address, is 459 characters; VARCHAR(400) refused it (DataError 1406).
ALTER TABLE outbox MODIFY reply_to VARCHAR(500) NULL;
