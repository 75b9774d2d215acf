"""Member-facing sentences that only the Slack adapter says, each saying what to do next."""

# Many workspaces: a request from a workspace without a stored installation (Bolt answers it).
NOT_INSTALLED = (
    "studybot is not installed in this workspace any more. Ask a workspace admin to install it again "
    "(the *Add to Slack* link of whoever runs studybot, its /slack/install page), then run the command again."
)
NOTHING_TICKED = "Tick the boxes of your answers first, then press *Submit*."
SOMETHING_WRONG = "Something went wrong on studybot's side; please try again in a minute."

# Shown to the member when studybot cannot post in the channel (the schedule is paused).
CANNOT_POST_HERE = "I can't post in this channel ({reason}), so its daily question is paused. {fix}"
FIX_INVITE = "Invite me with `/invite @{bot}`, then run `/dva {command}` again."
FIX_ARCHIVED = "Unarchive the channel, or schedule the daily question in another channel."
FIX_SCOPE = (
    "Ask a workspace admin to reinstall studybot with the scopes in deploy/slack/manifest.yml, "
    "then run `/dva {command}` again."
)
FIX_OTHER = "Check studybot's installation in this workspace, then run `/dva {command}` again."

# Stored with the paused schedule and shown by `/dva daily status`.
PAUSED_REASON = "Slack refused the post ({reason}). {fix}"

# Shown when the confirmation could not be posted for a passing reason (rate limit, network).
NOT_POSTED_YET = "I could not post this in the channel just now ({reason}), but it is saved:\n{text}"


def fix_for(reason: str, *, bot: str, command: str) -> str:
    if reason in ("not_in_channel", "channel_not_found"):
        return FIX_INVITE.format(bot=bot, command=command)
    if reason == "is_archived":
        return FIX_ARCHIVED
    if reason in ("missing_scope", "not_allowed_token_type", "restricted_action"):
        return FIX_SCOPE.format(command=command)
    return FIX_OTHER.format(command=command)
SENT_TO_DM = "Sent to your direct messages with @{bot}: your review, quizzes and stats stay there, also on your phone."
NO_DM = (
    "(I could not send this to your direct messages with studybot ({reason}), so it is shown here and will "
    "vanish on reload. Open studybot's Messages tab in Slack, or ask an admin to allow it and to grant im:write.)"
)

# Charts on a workspace installed without files:write (older installs), sent once per workspace.
CHARTS_NEED_SCOPE = (
    "studybot could not attach its charts in this workspace: the Slack app lacks the `files:write` scope. "
    "Members still get every number as text. To add the pictures, add `files:write` to the app's bot token "
    "scopes (OAuth & Permissions, or deploy/slack/manifest.yml) and reinstall studybot in the workspace."
)
CHARTS_NEED_SCOPE_ASK = (
    "Your stats came as text only: studybot's Slack app lacks the `files:write` scope it needs to attach "
    "charts. Please ask a workspace admin to add `files:write` to the app's bot token scopes and reinstall it."
)
