-- Maintained leaderboard totals (as SQLite's 003_board_totals.sql): one row per (platform,
-- workspace, channel or '' for the whole workspace, period, member), where the period is 'all',
-- 'w' + the Monday of the answer's streak day ('w2026-03-02') or 'm' + its month ('m2026-03').
-- The store writes them in the same transaction as the answers they count.
CREATE TABLE board_totals (
    platform  TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel   TEXT NOT NULL,
    period    TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    points    INTEGER NOT NULL,
    PRIMARY KEY (platform, workspace, channel, period, user_id)
);

CREATE INDEX board_totals_rank ON board_totals (platform, workspace, channel, period, points DESC, user_id COLLATE "C");

-- How many members hold each total: a rank is 1 + the members above.
CREATE TABLE board_levels (
    platform  TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel   TEXT NOT NULL,
    period    TEXT NOT NULL,
    points    INTEGER NOT NULL,
    members   INTEGER NOT NULL,
    PRIMARY KEY (platform, workspace, channel, period, points)
);

-- Totals of the answers stored before this migration. date_trunc('week') starts on Monday (ISO).
INSERT INTO board_totals (platform, workspace, channel, period, user_id, points)
SELECT platform, workspace, scope, period, user_id, SUM(points) FROM (
    SELECT platform, workspace, channel AS scope, 'all' AS period, user_id, points FROM answers
    UNION ALL SELECT platform, workspace, '', 'all', user_id, points FROM answers
    UNION ALL SELECT platform, workspace, channel, 'w' || to_char(date_trunc('week', local_day::date), 'YYYY-MM-DD'), user_id, points FROM answers
    UNION ALL SELECT platform, workspace, '', 'w' || to_char(date_trunc('week', local_day::date), 'YYYY-MM-DD'), user_id, points FROM answers
    UNION ALL SELECT platform, workspace, channel, 'm' || substr(local_day, 1, 7), user_id, points FROM answers
    UNION ALL SELECT platform, workspace, '', 'm' || substr(local_day, 1, 7), user_id, points FROM answers
) AS scoped GROUP BY platform, workspace, scope, period, user_id;

INSERT INTO board_levels (platform, workspace, channel, period, points, members)
SELECT platform, workspace, channel, period, points, COUNT(*) FROM board_totals
GROUP BY platform, workspace, channel, period, points
