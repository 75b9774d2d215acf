"""Shared fixtures: a small fixture bank, a real SQLite store in a temp folder, a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.models import ChannelRef, MemberRef
from bot.core.service import StudyService
from content.loader import load_bank
from storage.sqlite.store import SQLiteStore

FIXTURE_BANK = Path(__file__).parent / "fixtures" / "bank"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bank():
    return load_bank(FIXTURE_BANK)


@pytest.fixture(scope="session")
def real_bank():
    return load_bank()


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
async def store(tmp_path):
    s = SQLiteStore(tmp_path / "studybot.db")
    await s.start()
    yield s
    await s.aclose()


@pytest.fixture
def service(bank, store, clock):
    return StudyService(bank=bank, store=store, clock=clock)


@pytest.fixture
def channel():
    return ChannelRef("console", "ws1", "study")


def member(name: str = "alice", workspace: str = "ws1") -> MemberRef:
    return MemberRef("console", workspace, name)
