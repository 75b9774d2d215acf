-- studybot schema, version 1.
CREATE TABLE members (
    platform   TEXT NOT NULL,
    workspace  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    timezone   TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (platform, workspace, user_id)
);

CREATE TABLE subscriptions (
    platform   TEXT NOT NULL,
    workspace  TEXT NOT NULL,
    channel    TEXT NOT NULL,
    time       TEXT NOT NULL,
    timezone   TEXT NOT NULL,
    days       TEXT NOT NULL,
    reveal     TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    digest     INTEGER NOT NULL DEFAULT 1,
    last_error TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (platform, workspace, channel)
);

CREATE TABLE posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('daily', 'quiz')),
    question_id TEXT NOT NULL,
    local_date  TEXT,
    created_at  REAL NOT NULL,
    message_id  TEXT,
    revealed_at REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0
);

-- A daily post happens once per channel per local date, whoever claims it first.
CREATE UNIQUE INDEX posts_daily_once ON posts (platform, workspace, channel, local_date) WHERE kind = 'daily';
CREATE INDEX posts_unrevealed ON posts (kind, revealed_at);

CREATE TABLE answers (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    platform    TEXT NOT NULL,
    workspace   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    choice      TEXT NOT NULL,
    correct     INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    practice    INTEGER NOT NULL,
    answered_at REAL NOT NULL,
    local_day   TEXT NOT NULL,
    token       TEXT NOT NULL,
    -- The first answer of a member to a post counts; later ones are ignored.
    UNIQUE (post_id, platform, workspace, user_id)
);

CREATE INDEX answers_member ON answers (platform, workspace, user_id, local_day);
CREATE INDEX answers_workspace_time ON answers (platform, workspace, answered_at);
CREATE INDEX answers_channel_time ON answers (platform, workspace, channel, answered_at);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
