"""The Slack adapter (Bolt AsyncApp over the core): /dva commands, answer buttons, reveal posts."""

from bot.adapters.slack.app import SlackAdapter

__all__ = ["SlackAdapter"]
