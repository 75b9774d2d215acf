"""Platform-free domain of studybot: questions, grading, streaks, points, leaderboards, lookup.

Nothing here imports a chat platform, a database driver or a scheduler; the ports it needs
(store, clock) are Protocols in `bot.core.ports`.
"""
