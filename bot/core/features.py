"""The feature modules that plug their commands and button actions into StudyService."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.service import StudyService


def install(service: StudyService) -> None:
    # Each module registers its commands and actions; imported here so service.py stays small.
    from bot.core import exam, practice, reports

    practice.install(service)
    exam.install(service)
    reports.install(service)
