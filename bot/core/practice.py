"""Practice: `/dva review` (spaced review of missed questions), `/dva quiz` without repeats,
readiness in `/dva stats`. Filled in by the practice work; registers its commands and actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.service import StudyService


def install(service: StudyService) -> None:
    return None
