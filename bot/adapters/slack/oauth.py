"""Slack for many workspaces: Bolt's OAuth install flow (/slack/install, /slack/oauth_redirect) with
its installation store and state store written on studybot's Store, so installations live in the
same SQLite or PostgreSQL database as everything else and every HTTP worker sees them.

Installations hold bot tokens: they are stored as the Store's `record` and never logged. A state is
`nonce.signature` (HMAC-SHA256 with SLACK_STATE_SECRET); only the nonce is stored, so a forged
state is refused without a database read and a leaked database row cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets

import aiohttp
from pydantic import SecretStr
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.adapters.slack.poster import PLATFORM, web_client
from bot.config import ConfigError, Settings
from bot.core.clock import Clock
from bot.core.ports import AppInstallation, Store, StoreError

log = logging.getLogger(__name__)

# The bot scopes of deploy/slack/manifest.yml (a test keeps them equal).
BOT_SCOPES = ("commands", "chat:write", "users:read", "im:write", "files:write")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600  # Slack's own default: ten minutes from "Add to Slack" to "Allow"

# slack-sdk logs every response body at DEBUG unless its client's logger has a level above DEBUG;
# oauth.v2.access answers with the new bot token, so the OAuth client gets a logger that never does.
_QUIET_SDK_LOG = logging.getLogger("slack_sdk.studybot.oauth")
_QUIET_SDK_LOG.setLevel(logging.INFO)


def _team_key(*, team_id: str | None, is_enterprise_install: bool | None) -> str:
    # An organisation-wide install is one installation for every workspace of the organisation.
    return "" if is_enterprise_install else (team_id or "")


class StoreInstallationStore(AsyncInstallationStore):
    """Bolt's installation store on the Store: one row per (enterprise, team, installer); the latest
    row of a team is the one whose bot token the team's requests and posts use."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        row = AppInstallation(
            platform=PLATFORM, enterprise_id=installation.enterprise_id or "",
            team_id=_team_key(team_id=installation.team_id, is_enterprise_install=installation.is_enterprise_install),
            user_id=installation.user_id or "", installed_at=float(installation.installed_at),
            # vars() holds exactly the constructor's keywords (slack-sdk's own file store does the same).
            record=json.dumps(vars(installation)),
        )
        try:
            await self.store.save_installation(row)
        except StoreError as exc:
            # Bolt turns a BoltError into its "installation failed" page; the reason goes to the log.
            log.error("could not save the Slack installation of team %s: %s", row.team_id, exc,
                      extra={"platform": PLATFORM, "workspace": row.team_id})
            raise BoltError("the installation could not be saved") from exc

    async def async_save_bot(self, bot: Bot) -> None:
        """A refreshed bot token (token rotation): kept on the team's latest installation."""
        team = _team_key(team_id=bot.team_id, is_enterprise_install=bot.is_enterprise_install)
        found = await self.store.find_installation(platform=PLATFORM, enterprise_id=bot.enterprise_id or "", team_id=team)
        if found is None:
            return
        record = json.loads(found.record)
        record.update(bot_token=bot.bot_token, bot_refresh_token=bot.bot_refresh_token,
                      bot_token_expires_at=bot.bot_token_expires_at)
        await self.store.save_installation(AppInstallation(
            platform=found.platform, enterprise_id=found.enterprise_id, team_id=found.team_id,
            user_id=found.user_id, installed_at=found.installed_at, record=json.dumps(record),
        ))

    async def async_find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.store.find_installation(
            platform=PLATFORM, enterprise_id=enterprise_id or "",
            team_id=_team_key(team_id=team_id, is_enterprise_install=is_enterprise_install), user_id=user_id,
        )
        return Installation(**json.loads(found.record)) if found is not None else None

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return installation.to_bot() if installation is not None and installation.bot_token else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        # Only bot installations are made (no user scopes), so the bot goes with its installations.
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.store.delete_installations(
            platform=PLATFORM, enterprise_id=enterprise_id or "", team_id=team_id or "", user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def bot_token(self, workspace: str) -> str | None:
        """The bot token for a channel's workspace (ChannelRef.workspace: a team id, or the
        enterprise id of an organisation-wide install); None when studybot is not installed there."""
        found = await self.store.find_installation(platform=PLATFORM, enterprise_id=None, team_id=workspace)
        if found is None:
            found = await self.store.find_installation(platform=PLATFORM, enterprise_id=workspace, team_id="")
        if found is None:
            return None
        return json.loads(found.record).get("bot_token") or None


class StoreStateStore(AsyncOAuthStateStore):
    """Bolt's OAuth state store on the Store: each state is signed, stored until it expires (by the
    injected clock), and accepted once."""

    def __init__(self, store: Store, *, secret: str, clock: Clock, expiration_seconds: int = STATE_SECONDS) -> None:
        self._store = store
        self._key = secret.encode()
        self._clock = clock
        self._seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    async def async_issue(self, *args, **kwargs) -> str:
        nonce = secrets.token_urlsafe(24)  # URL-safe: Bolt puts the state in the authorize URL as is
        now = self._clock.now().timestamp()
        await self._store.issue_oauth_state(nonce, expires_at=now + self._seconds, now=now)
        return f"{nonce}.{self._sign(nonce)}"

    async def async_consume(self, state: str) -> bool:
        nonce, _, signature = (state or "").partition(".")
        if not nonce or not hmac.compare_digest(signature.encode(), self._sign(nonce).encode()):
            return False
        return await self._store.consume_oauth_state(nonce, now=self._clock.now().timestamp())


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def check_oauth_settings(settings: Settings) -> None:
    """Raises ConfigError naming the first missing or unusable OAuth setting."""
    if not (settings.slack_client_id or "").strip():
        raise ConfigError("SLACK_CLIENT_ID is not set: copy the Client ID from your Slack app's Basic Information "
                          "page (or unset SLACK_CLIENT_SECRET and SLACK_STATE_SECRET for one workspace)")
    if not _secret(settings.slack_client_secret):
        raise ConfigError("SLACK_CLIENT_SECRET is not set: copy the Client Secret from your Slack app's "
                          "Basic Information page")
    if len(_secret(settings.slack_state_secret)) < 16:
        raise ConfigError("SLACK_STATE_SECRET is not set or too short: set a random string of 16 or more "
                          "characters (for example `openssl rand -hex 32`)")
    if settings.slack_bot_token is not None:
        log.warning("SLACK_BOT_TOKEN is ignored: with SLACK_CLIENT_ID set, each workspace uses its installation's "
                    "token; unset it to silence this", extra={"platform": PLATFORM})


def oauth_flow(
    *, settings: Settings, installations: StoreInstallationStore, clock: Clock, session: aiohttp.ClientSession,
    logger: logging.Logger,
) -> AsyncOAuthFlow:
    """The install flow: /slack/install redirects to Slack's authorize page (no intermediate page),
    and /slack/oauth_redirect exchanges the code (oauth.v2.access) and saves the installation."""
    client_id = (settings.slack_client_id or "").strip()
    oauth = AsyncOAuthSettings(
        client_id=client_id, client_secret=_secret(settings.slack_client_secret), scopes=list(BOT_SCOPES),
        user_scopes=[], redirect_uri=settings.slack_redirect_uri or None, install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH, install_page_rendering_enabled=False, installation_store=installations,
        installation_store_bot_only=True, state_expiration_seconds=STATE_SECONDS, logger=logger,
        state_store=StoreStateStore(installations.store, secret=_secret(settings.slack_state_secret), clock=clock),
    )
    # Requests are authorised by the installation's token; without the cache every command and
    # click would wait for an auth.test round trip before its ack. A new token is a new cache key.
    oauth.authorize.cache_enabled = True  # type: ignore[attr-defined]
    client = web_client(token=None, base_url=settings.slack_api_url, session=session, logger=_QUIET_SDK_LOG)
    return AsyncOAuthFlow(client=client, logger=logger, settings=oauth)
