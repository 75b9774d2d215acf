-- As SQLite's 005_review_cards.sql.
-- Spaced review (bot/core/review.py): one FSRS card per member and question, moved by every first
-- answer to a post of that question (daily, quiz, review) in the same transaction as the answer,
-- and by every exam answer when the exam is submitted. Times are epoch seconds.
CREATE TABLE review_cards (
    platform     TEXT NOT NULL,
    workspace    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    question_id  TEXT NOT NULL,
    state        INTEGER NOT NULL,
    step         INTEGER,
    stability    DOUBLE PRECISION,
    difficulty   DOUBLE PRECISION,
    due          DOUBLE PRECISION NOT NULL,
    last_review  DOUBLE PRECISION NOT NULL,
    reps         INTEGER NOT NULL,
    lapses       INTEGER NOT NULL,
    last_correct INTEGER NOT NULL,
    PRIMARY KEY (platform, workspace, user_id, question_id)
);

-- The most overdue card of a member first.
CREATE INDEX review_cards_due ON review_cards (platform, workspace, user_id, due);

-- `/dva review remind on HH:MM`: one private reminder on days with due cards, in the member's time
-- zone; last_sent (the member's local date) makes the send once-only.
CREATE TABLE review_reminders (
    platform  TEXT NOT NULL,
    workspace TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    at_time   TEXT NOT NULL,
    active    INTEGER NOT NULL DEFAULT 1,
    last_sent TEXT,
    PRIMARY KEY (platform, workspace, user_id)
);

-- Practice posts (kind 'quiz') remember whom they were served to and how ('review', 'quiz:<topic>',
-- 'quiz:-'), so a quiz never repeats what it just served and an answer knows what Next means.
ALTER TABLE posts ADD COLUMN user_id TEXT;
ALTER TABLE posts ADD COLUMN mode TEXT;
CREATE INDEX posts_served ON posts (platform, workspace, user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX answers_member_time ON answers (platform, workspace, user_id, answered_at);
