-- Slack for many workspaces (as SQLite's 004_slack_installations.sql): one row per app
-- installation, written by the OAuth install flow. `record` is the platform's installation as JSON,
-- bot token included: it is a secret, never logged. enterprise_id is '' outside Enterprise Grid;
-- team_id is '' for an org-wide install.
CREATE TABLE app_installations (
    platform      TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    team_id       TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    installed_at  DOUBLE PRECISION NOT NULL,
    record        TEXT NOT NULL,
    PRIMARY KEY (platform, enterprise_id, team_id, user_id)
);

-- The latest installation of a workspace, whoever installed it.
CREATE INDEX app_installations_latest ON app_installations (platform, team_id, installed_at);

-- OAuth `state` values issued by /slack/install, each usable once before it expires.
CREATE TABLE oauth_states (
    state      TEXT PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
