"""The permissions studybot needs in a channel, and the install link that asks for exactly those."""

from __future__ import annotations

import discord

# Posting the daily question and editing it need View Channel, Send Messages and Embed Links;
# the reveal is a reply, which needs Read Message History. In a thread, Send Messages in Threads
# replaces Send Messages. Nothing else: no message content, no member list, no moderation.
CHANNEL_PERMISSIONS = ("view_channel", "send_messages", "embed_links", "read_message_history")
THREAD_PERMISSIONS = ("view_channel", "send_messages_in_threads", "embed_links", "read_message_history")
# Optional: the discussion thread on each daily post (without them the post stands alone and the
# reveal's explanation is a reply), so they are asked for at install but never reported missing.
DISCUSSION_PERMISSIONS = ("create_public_threads", "send_messages_in_threads")
SCOPES = ("bot", "applications.commands")
# Optional too: charts in a channel (group stats, the weekly digest) are PNG attachments; without
# Attach Files the channel gets their text version alone.
CHART_PERMISSIONS = ("attach_files",)


def install_permissions() -> discord.Permissions:
    """The smallest permission set studybot's features need, for the invite link."""
    return discord.Permissions(**dict.fromkeys(CHANNEL_PERMISSIONS + DISCUSSION_PERMISSIONS + CHART_PERMISSIONS, True))


def invite_url(application_id: int | str) -> str:
    return discord.utils.oauth_url(application_id, permissions=install_permissions(), scopes=SCOPES)


def permission_label(name: str) -> str:
    return name.replace("_", " ").title().replace("In Threads", "in Threads")


def missing_permissions(granted: discord.Permissions, *, thread: bool = False) -> list[str]:
    """Names (as Discord shows them) of the permissions studybot lacks, in a stable order."""
    needed = THREAD_PERMISSIONS if thread else CHANNEL_PERMISSIONS
    if granted.administrator:
        return []
    return [permission_label(name) for name in needed if not getattr(granted, name)]
