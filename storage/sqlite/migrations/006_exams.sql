-- Mock exams (bot/core/exam.py): a member's timed exam and its questions in exam order. All of an
-- exam's state lives here, so a restarted bot continues it; the deadline never moves. Times are
-- epoch seconds. Exam answers earn no points and no streak days: they are not in `answers`.
CREATE TABLE exams (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    mode        TEXT NOT NULL,
    started_at  REAL NOT NULL,
    deadline    REAL NOT NULL,
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'submitted', 'expired', 'abandoned')),
    -- The question on screen (the number of questions: the end-of-exam overview).
    position    INTEGER NOT NULL DEFAULT 0,
    closed_at   REAL,
    right_count INTEGER,
    total       INTEGER NOT NULL
);

-- One active exam per member, whoever starts it first.
CREATE UNIQUE INDEX exams_one_active ON exams (platform, workspace, user_id) WHERE state = 'active';
CREATE INDEX exams_member ON exams (platform, workspace, user_id, started_at);
-- The sweep that closes exams at their deadline reads only the active ones.
CREATE INDEX exams_due ON exams (deadline) WHERE state = 'active';

-- One row per question of an exam, written when it starts; the member's choice (sorted letters,
-- NULL while unanswered) and flag change until it is closed, `correct` is set when it is scored.
CREATE TABLE exam_answers (
    exam_id     INTEGER NOT NULL REFERENCES exams (id),
    idx         INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    choice      TEXT,
    flagged     INTEGER NOT NULL DEFAULT 0,
    correct     INTEGER,
    PRIMARY KEY (exam_id, idx)
) WITHOUT ROWID;
