"""The Discord adapter (discord.py): /dva slash commands, persistent answer components, embeds."""

from bot.adapters.discord.client import DiscordAdapter

__all__ = ["DiscordAdapter"]
