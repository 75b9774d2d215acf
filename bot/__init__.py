"""studybot: a Slack and Discord study bot for the AWS DVA-C02 exam."""

__version__ = "0.1.0"
