-- A lease on a daily post's delivery: whoever holds an unexpired lease is sending it, so a retry
-- after a crash is taken by one process only.
ALTER TABLE posts ADD COLUMN lease_until DOUBLE PRECISION;
CREATE INDEX posts_pending ON posts (kind, message_id, failed);
