"""The Slack manifest: the /dva command the adapter listens to, interactivity, Socket Mode, and only
the bot scopes the adapter's Web API calls need."""

from pathlib import Path

import yaml

from bot.adapters.slack import app as slack_app
from tests.conftest import ROOT

MANIFEST = ROOT / "deploy" / "slack" / "manifest.yml"
# Every Web API method the adapter calls with the bot token, and the scope it needs.
SCOPE_OF = {"chat_postMessage": "chat:write", "chat.postMessage": "chat:write", "chat.update": "chat:write",
            "users_info": "users:read", "users.info": "users:read", "users.list": "users:read", "auth_test": None, "apps_connections_open": None,
            "conversations_open": "im:write", "views_publish": None, "files_upload_v2": "files:write"}


def test_manifest_matches_the_adapter():
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/dva"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {"commands", "chat:write", "users:read", "im:write",
                                                              "files:write"}
    # The Home tab and the Messages tab, where private sessions live, and the event that fills Home.
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "user" not in manifest["oauth_config"]["scopes"]
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(slack_app.__file__).parent.glob("*.py")
                       if p.name != "fake.py")
    assert 'app.command("/dva")' in source
    called = {m for m in SCOPE_OF if m in source}
    assert {SCOPE_OF[m] for m in called} - {None} == {"chat:write", "users:read", "im:write", "files:write"}
    assert 'app.event("app_home_opened")' in source
