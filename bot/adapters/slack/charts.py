"""A message's chart on Slack: drawn off the loop, uploaded with files_upload_v2 (scope files:write)
into the channel or DM where its text went, with the chart's alt text.

The text goes first and is complete on its own, so a chart that cannot be drawn or uploaded costs
only the picture. A workspace installed before studybot asked for files:write answers
`missing_scope`: its members keep getting the text version, and the workspace's admins are told
once (remembered in the store, so also across restarts and processes) which scope to add.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import texts
from bot.adapters.slack.poster import PLATFORM, api_error_code
from bot.core.charts import Chart
from bot.core.messages import Message
from bot.core.models import MemberRef
from bot.core.ports import PostError, Store, StudybotError
from bot.render.charts import ChartError, ChartRenderer

log = logging.getLogger(__name__)
SCOPE = "files:write"
RETRY_SCOPE_AFTER = 600.0  # seconds before a workspace without files:write is tried again (a reinstall)


class SlackCharts:
    def __init__(self, *, renderer: ChartRenderer, store: Store, admins: frozenset[str] = frozenset()) -> None:
        self.renderer = renderer
        self.store = store
        # STUDYBOT_ADMINS holds ids of every platform; Slack's user ids start with U or W.
        self.admins = sorted(a for a in admins if a[:1] in ("U", "W"))
        self._no_scope: dict[str, float] = {}  # team -> when Slack last answered missing_scope

    async def attach(
        self, *, client: AsyncWebClient, team: str, channel_id: str, chart: Chart, member: MemberRef | None,
        send_private,
    ) -> bool:
        """Upload the chart into `channel_id`; True when it was shared. `send_private(member,
        message, client=...)` delivers the one-time notice about a missing scope."""
        missing_since = self._no_scope.get(team)
        if missing_since is not None and time.monotonic() - missing_since < RETRY_SCOPE_AFTER:
            return False
        where = {"platform": PLATFORM, "workspace": team, "channel": channel_id}
        try:
            data = await self.renderer.png(chart)
        except ChartError as exc:
            log.warning("%s chart not sent: %s", chart.kind, exc, extra=where)
            return False
        try:
            await client.files_upload_v2(channel=channel_id, file=data, filename=chart.filename, title=chart.title,
                                         alt_txt=chart.alt)
        except SlackApiError as exc:
            code = api_error_code(exc)
            if code == "missing_scope":
                self._no_scope[team] = time.monotonic()
                try:
                    await self._tell_admins(client=client, team=team, member=member, send_private=send_private)
                except StudybotError as exc:  # the store: the message went out, the notice waits for next time
                    log.warning("could not tell the admins about the missing %s scope: %s", SCOPE, exc, extra=where)
            else:
                log.warning("Slack refused the %s chart: %s", chart.kind, code, extra=where)
            return False
        except Exception as exc:  # noqa: BLE001 - network, the upload URL: the text went out already
            log.warning("the %s chart upload failed: %s", chart.kind, type(exc).__name__, extra=where)
            return False
        self._no_scope.pop(team, None)
        return True

    async def _tell_admins(self, *, client: AsyncWebClient, team: str, member: MemberRef | None, send_private) -> None:
        key = f"slack:charts:missing_scope:{team}"
        if await self.store.get_kv(key):
            return
        await self.store.set_kv(key, "told")
        log.warning("Slack workspace %s has not granted studybot the %s scope, so charts go out as text only: add "
                    "%s to the app's bot scopes (deploy/slack/manifest.yml) and reinstall it in the workspace",
                    team, SCOPE, SCOPE, extra={"platform": PLATFORM, "workspace": team})
        recipients = list(self.admins)
        installation = await self.store.find_installation(platform=PLATFORM, enterprise_id=None, team_id=team)
        if installation is not None and installation.user_id not in recipients:
            recipients.insert(0, installation.user_id)
        text = texts.CHARTS_NEED_SCOPE
        if not recipients and member is not None:
            recipients, text = [member.user], texts.CHARTS_NEED_SCOPE_ASK
        for user in recipients:
            try:
                await send_private(MemberRef(PLATFORM, team, user), Message(text=text, private=True), client=client)
            except PostError as exc:
                log.warning("could not tell %s about the missing %s scope: %s", user, SCOPE, exc.reason,
                            extra={"platform": PLATFORM, "workspace": team})
