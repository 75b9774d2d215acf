"""Runs the chosen scenarios in order and prints one table; `--json FILE` also writes the rows."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bot.bench.report import Row, table

SCENARIOS = ("answers", "clicks", "leaderboard", "lookup", "review", "charts", "fanout", "start", "exam")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--json", dest="json_file", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--members", type=int, default=10_000, help="answers: members answering at once")
    parser.add_argument("--in-flight", type=int, default=200, help="answers: clicks being handled at once")
    parser.add_argument("--clicks", type=int, default=10_000, help="clicks: members clicking in the burst")
    parser.add_argument("--click-connections", type=int, default=200, help="clicks: connections sending the burst")
    parser.add_argument("--click-rate", type=float, default=500.0, help="clicks: clicks/s of the paced load")
    parser.add_argument("--click-seconds", type=float, default=10.0, help="clicks: seconds of the paced load")
    parser.add_argument("--click-settle", type=float, default=60.0,
                        help="clicks: seconds to wait before measuring RSS again after the burst (0: skip)")
    parser.add_argument("--board-members", type=int, default=100_000, help="leaderboard: members")
    parser.add_argument("--board-answers", type=int, default=2_000_000, help="leaderboard: answers")
    parser.add_argument("--queries", type=int, default=200, help="lookup: queries")
    parser.add_argument("--review-clicks", type=int, default=300, help="review: Next review clicks per path")
    parser.add_argument("--charts", type=int, default=100, help="charts: draws per chart")
    parser.add_argument("--chart-members", type=int, default=40, help="charts: members answering in the channel")
    parser.add_argument("--fanout-subscriptions", type=int, default=2_000,
                        help="fanout: channels due at once (the issue's 5,000 take ~2 minutes at 50/s)")
    parser.add_argument("--rate", type=float, default=50.0, help="fanout: the fake platform's requests/s")
    parser.add_argument("--exam-members", type=int, default=200, help="exam: members in full exams at once")
    parser.add_argument("--exam-clicks", type=int, default=20, help="exam: clicks per member (at most 64)")
    parser.add_argument("--exam-interval", type=float, default=1.0, help="exam: seconds between a member's clicks")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


async def run(args: argparse.Namespace) -> int:
    from bot.bench import answers, charts, clicks, exam, fanout, leaderboard, lookup, review, start
    from content.loader import load_bank

    chosen = args.scenarios or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        print(f"studybot bench: unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    bank = load_bank(os.environ.get("STUDYBOT_CONTENT_DIR") or None)
    progress = not args.quiet
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as tmp:
        folder = Path(tmp)
        for name in chosen:
            if progress:
                print(f"bench {name}...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            if name == "answers":
                rows += await answers.run(bank=bank, folder=folder, members=args.members,
                                          concurrency=args.in_flight, progress=progress)
            elif name == "clicks":
                rows += await clicks.run(bank=bank, folder=folder, members=args.clicks,
                                         concurrency=args.click_connections, rate=args.click_rate,
                                         seconds=args.click_seconds, settle=args.click_settle, progress=progress)
            elif name == "leaderboard":
                rows += await leaderboard.run(bank=bank, folder=folder, members=args.board_members,
                                              answers=args.board_answers, progress=progress)
            elif name == "lookup":
                rows += await lookup.run(bank=bank, count=args.queries)
            elif name == "review":
                rows += await review.run(bank=bank, folder=folder, clicks=args.review_clicks)
            elif name == "charts":
                rows += await charts.run(bank=bank, folder=folder, charts=args.charts, members=args.chart_members)
            elif name == "fanout":
                rows += await fanout.run(bank=bank, folder=folder, subscriptions=args.fanout_subscriptions,
                                         rate=args.rate, progress=progress)
            elif name == "start":
                rows += await start.run(folder=folder)
            elif name == "exam":
                rows += await exam.run(bank=bank, folder=folder, members=args.exam_members,
                                       clicks=min(args.exam_clicks, 64), interval=args.exam_interval,
                                       progress=progress)
            if progress:
                print(f"bench {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    print(f"studybot bench on {platform.node() or 'this machine'}: {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.machine()}")
    print(table(rows))
    missed = [r for r in rows if r.met is False]
    if args.json_file:
        args.json_file.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    print(f"targets met: {sum(r.met is True for r in rows)}, missed: {len(missed)}")
    return 0
