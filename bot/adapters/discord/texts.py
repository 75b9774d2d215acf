"""Member-facing sentences of the Discord adapter, each saying what to do next.

The study texts themselves come from bot.core.texts; these cover what only Discord can cause.
"""

SERVER_ONLY = "studybot works in server channels. Run `/dva` in a channel of a server that has studybot."
FAILED = "Something went wrong on studybot's side and nothing was changed. Please try again in a moment."
POSTED = "Done. I posted the confirmation in this channel."
MISSING_PERMISSIONS = (
    "I cannot post in <#{channel}>: I am missing {missing} there. Ask a server admin to give studybot "
    "{missing} in this channel (Edit Channel > Permissions), then run the command again."
)
CANNOT_POST = (
    "I cannot post in <#{channel}> ({reason}). Ask a server admin to let studybot view the channel and "
    "send messages there, then run the command again."
)
NOT_POSTED_NOW = "(I could not post this in the channel just now: {reason}. Nothing else is affected.)"
NOT_SAVED = "The schedule is saved but paused until I can post here; `/dva daily status` shows the problem."
SENT_TO_DM = "Sent to your DMs with studybot: your review, quizzes and stats stay there."
DM_CLOSED = (
    "(Your DMs are closed to studybot, so this is shown here privately and vanishes on reload. To keep your "
    "sessions, allow direct messages from server members: Server settings > Privacy, or the bot's profile.)"
)
DM_FAILED = "(I could not send this to your DMs just now ({reason}), so it is shown here privately.)"
