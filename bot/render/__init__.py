"""Rendering of core values that need heavy libraries (charts with matplotlib), kept out of bot/core."""
