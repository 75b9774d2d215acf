-- The daily loop as a study group lives it (issue 13). Self-contained: renumbering is a rename.
--
-- A reveal has three steps: marking the post revealed (revealed_at, once), replacing the post's
-- face (reveal_face_at) and replying with the explanation (reveal_reply_at). Each is recorded when
-- done, so a restart finishes exactly what is missing; reveal_lease_until says who is finishing it.
ALTER TABLE posts ADD COLUMN reveal_face_at REAL;
ALTER TABLE posts ADD COLUMN reveal_reply_at REAL;
ALTER TABLE posts ADD COLUMN reveal_lease_until REAL;
-- The discussion opened at post time: Slack's first thread reply, Discord's thread on the post.
ALTER TABLE posts ADD COLUMN thread_id TEXT;
-- Reveals done before this migration were done whole.
UPDATE posts SET reveal_face_at = revealed_at, reveal_reply_at = revealed_at WHERE revealed_at IS NOT NULL;
CREATE INDEX posts_reveal_unfinished ON posts (id) WHERE revealed_at IS NOT NULL AND reveal_reply_at IS NULL;

-- `/dva daily ping <@role>|here|off`: whom a daily post mentions (NULL: nobody).
ALTER TABLE subscriptions ADD COLUMN ping TEXT;

-- Reports of a question by members: one open report per member and question; closed ones stay.
CREATE TABLE question_reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    question_id TEXT NOT NULL,
    reason      TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    closed_at   REAL
);
CREATE UNIQUE INDEX question_reports_open_once ON question_reports (platform, workspace, user_id, question_id) WHERE status = 'open';
CREATE INDEX question_reports_question ON question_reports (question_id, status);
