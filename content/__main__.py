"""`python -m content [check|stats]`: the same as `studybot content ...`."""

import sys

from bot.cli import main

sys.exit(main(["content", *(sys.argv[1:] or ["check"])]))
