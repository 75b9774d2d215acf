"""Settings from environment variables and an optional .env file (pydantic-settings).

An invalid setting stops the start with one line naming the variable and what it expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.ports import StudybotError

_EXPECTS = {
    "studybot_database_url": "a URL such as sqlite:///path/file.db or postgresql://user@host/db",
    "studybot_catchup_hours": "a number of hours between 0 and 24",
    "studybot_log_format": "'text' or 'json'",
    "studybot_charts": "true or false",
    "slack_mode": "'socket' or 'http'",
    "slack_http_port": "a TCP port number 1-65535",
    "discord_shard_count": "a positive integer",
    "discord_shard_ids": "comma-separated shard numbers such as 0,1",
    "discord_guild_ids": "comma-separated server ids",
    "discord_application_id": "the numeric application id from the Discord Developer Portal",
}


class ConfigError(StudybotError):
    pass


def default_data_dir() -> Path:
    return Path(user_data_dir("studybot"))


def default_database_url() -> str:
    return "sqlite:///" + str(default_data_dir() / "studybot.db")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    studybot_database_url: str = Field(default_factory=default_database_url)
    studybot_admins: str = ""
    studybot_catchup_hours: float = Field(default=3.0, ge=0, le=24)
    studybot_log_format: Literal["text", "json"] = "text"
    studybot_content_dir: Path | None = None
    studybot_data_dir: Path = Field(default_factory=default_data_dir)  # the console's charts/ and the default database
    studybot_charts: bool = True  # draw charts (matplotlib) beside stats and digests; false: text only

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_mode: Literal["socket", "http"] | None = None
    slack_http_port: int = Field(default=3000, ge=1, le=65535)
    slack_api_url: str = "https://slack.com/api/"
    # Slack for many workspaces (the OAuth install flow): all three, or none.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    slack_redirect_uri: str | None = None  # only when the app lists several redirect URLs

    discord_token: SecretStr | None = None
    discord_guild_ids: str = ""
    discord_shard_count: int | None = Field(default=None, ge=1)
    discord_shard_ids: str = ""
    discord_application_id: int | None = Field(default=None, ge=1)

    @field_validator("studybot_database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if not (v.startswith("sqlite:///") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError("unsupported scheme")
        return v

    @field_validator("discord_shard_ids", "discord_guild_ids")
    @classmethod
    def _id_list(cls, v: str) -> str:
        if v and not all(p.strip().isdigit() for p in v.split(",")):
            raise ValueError("not a list of numbers")
        return v

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.studybot_admins.split(",") if a.strip())

    @property
    def slack_multi_workspace(self) -> bool:
        """True when any OAuth setting is given (start() then asks for the missing ones)."""
        return any(v is not None for v in (self.slack_client_id, self.slack_client_secret, self.slack_state_secret))

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_multi_workspace

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "setting"
        expects = _EXPECTS.get(name, err["msg"])
        raise ConfigError(f"invalid setting {name.upper()}: expected {expects}") from exc
