"""`studybot bench`: the figures of the busiest minute, each beside a raw baseline from the same run.

One module per scenario (answers, leaderboard, lookup, fanout, start); each returns `Row`s that
`report` prints as one table. Everything runs on this machine against local files and local fake
platforms on 127.0.0.1; nothing reaches the internet.
"""
