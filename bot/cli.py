"""The `studybot` command line: console, run, lookup, content check/stats, db."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

DEBUG = False  # --debug: start-up failures show their traceback instead of one line


def _some(ids: list[str], n: int = 20) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def _content(args: argparse.Namespace) -> int:
    from content.loader import (
        CONTENT_DIR,
        SHIPPED_IDS,
        UPDATE_SHIPPED_HINT,
        BankError,
        load_bank,
        stats,
        unshipped_ids,
        update_shipped,
    )

    if args.action == "reports":
        return _content_reports(args)
    if args.update_shipped and args.action != "check":
        print(f"studybot: --update-shipped goes with check: {UPDATE_SHIPPED_HINT}", file=sys.stderr)
        return 2
    try:
        bank = load_bank(args.root, only=args.files or None)
    except BankError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    if args.action == "check":
        shipped_file = f"{Path(args.root or CONTENT_DIR).name}/{SHIPPED_IDS}"
        retired = len(bank.questions) - len(bank.practice_questions)
        if args.update_shipped:
            added = update_shipped(bank, args.root)
            print(f"added {len(added)} question id(s) to {shipped_file}" + (f": {_some(added)}" if added else ""))
        new = unshipped_ids(bank, args.root)
        if new:
            print(
                f"the content bank has {len(new)} question id(s) missing from {shipped_file}: {_some(new)}\n"
                f"  every question id must be listed there once it is in the bank; run `{UPDATE_SHIPPED_HINT}`",
                file=sys.stderr,
            )
            return 1
        print(f"content ok: {len(bank.questions)} questions ({retired} retired), {len(bank.scenarios)} scenarios, "
              f"{len(bank.facts)} facts")
        return 0
    figures = stats(bank)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"questions {figures['questions']} active (+{figures['retired']} retired, not counted below)  "
          f"scenarios {figures['scenarios']}  facts {figures['facts']}")
    n = max(figures["questions"], 1)
    print(f"multiple response {figures['multiple_response']} ({100 * figures['multiple_response'] / n:.1f} %)")
    for section in ("by_domain", "by_task", "by_difficulty", "by_service"):
        print(section.replace("_", " ") + ":")
        for k, v in figures[section].items():
            share = f" ({100 * v / n:.1f} %)" if section in ("by_domain", "by_difficulty") else ""
            print(f"  {k:<20} {v}{share}")
    print(f"scenario services {figures['scenario_services']}  fact services {figures['fact_services']}")
    return 0


def _content_reports(args: argparse.Namespace) -> int:
    """Members' question reports from the database (STUDYBOT_DATABASE_URL), for whoever maintains
    the bank: open ones grouped by question, or every report as JSON with --json."""
    settings = _settings()

    async def body(runtime) -> int:
        from bot.core.reports import summarise

        reports = await runtime.store.list_reports(status=None if args.all else "open")
        if args.json:
            print(json.dumps([{
                "id": r.id, "question": r.question_id, "reason": r.reason, "text": r.text, "status": r.status,
                "platform": r.member.platform, "workspace": r.member.workspace, "member": r.member.user,
                "created_at": r.created_at, "closed_at": r.closed_at,
            } for r in reports], indent=2, ensure_ascii=False))
            return 0
        if not reports:
            print("no question reports" if args.all else "no open question reports")
            return 0
        for paragraph in summarise(reports):  # the open ones, or all of them with --all
            print(paragraph.replace("*", ""))
        return 0

    return asyncio.run(_with_runtime(settings, body, announce=False))


def _settings():
    from bot.config import ConfigError, load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


async def _with_runtime(settings, body, *, announce: bool = True):
    from bot.runtime import start_runtime
    from content.loader import BankError
    from storage import StoreError

    try:
        runtime = await start_runtime(settings, announce=announce)
    except BankError as exc:
        print(f"studybot: refusing to start: {exc.report()}", file=sys.stderr)
        return 1
    except StoreError as exc:
        if DEBUG:
            raise
        print(f"studybot: {exc}", file=sys.stderr)
        return 2
    try:
        return await body(runtime)
    finally:
        await runtime.aclose()


def _console(args: argparse.Namespace) -> int:
    from bot.adapters.console import ConsoleAdapter
    from bot.logs import setup_logging

    settings = _settings()
    setup_logging(settings.studybot_log_format, level=30)

    async def body(runtime) -> int:
        from bot.scheduler import DailyScheduler

        charts = None if args.no_charts or runtime.charts is None else settings.studybot_data_dir / "charts"
        console = ConsoleAdapter(service=runtime.service, channel=args.channel, user=args.user, charts_dir=charts,
                                 charts=runtime.charts)
        scheduler = DailyScheduler(
            service=runtime.service, posters={"console": console}, clock=runtime.clock,
            catchup_hours=settings.studybot_catchup_hours,
        )
        await scheduler.start()
        try:
            await console.run()
        finally:
            await scheduler.aclose()
        return 0

    return asyncio.run(_with_runtime(settings, body))


def _run(args: argparse.Namespace) -> int:
    from bot.logs import setup_logging

    settings = _settings()
    setup_logging(settings.studybot_log_format)
    if not (settings.slack_enabled or settings.discord_enabled):
        import os

        if os.environ.get("STUDYBOT_IN_CONTAINER"):
            hint = ("Put them in deploy/.env (see deploy/.env.example) and restart the container; to try studybot "
                    "without tokens: docker run -it --rm <image> studybot console.")
        else:
            hint = "To try studybot locally without tokens, run `studybot console` (or `make demo`); see README.md."
        print(f"studybot: no platform is configured (set SLACK_BOT_TOKEN and/or DISCORD_TOKEN).\n{hint}",
              file=sys.stderr)
        return 2
    from bot.app import serve

    return asyncio.run(_with_runtime(settings, serve))


def _lookup(args: argparse.Namespace) -> int:
    from bot.core.lookup import LookupIndex
    from content.loader import BankError, load_bank

    if not args.query.strip():
        print("studybot: give words to look up, e.g. studybot lookup cors error", file=sys.stderr)
        return 2
    try:
        bank = load_bank(_settings().studybot_content_dir)
    except BankError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    hits = LookupIndex(bank).search(args.query, kind=args.kind, limit=args.limit)
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print(f"nothing matches {args.query!r}")
        return 0
    for h in hits:
        print(f"[{h.kind}] {h.id} ({h.score:.2f})\n  {h.title}\n  -> {h.text[:300]}\n")
    return 0


def _discord(args: argparse.Namespace) -> int:
    from bot.adapters.discord.permissions import invite_url

    app_id = args.application_id or _settings().discord_application_id
    if app_id is None:
        print("studybot: set DISCORD_APPLICATION_ID or pass --application-id (Developer Portal > your app > "
              "General Information > Application ID)", file=sys.stderr)
        return 2
    print(invite_url(app_id))
    return 0


def _health(args: argparse.Namespace) -> int:
    """For container health checks: the database answers and, in Slack HTTP mode, /healthz is 200."""
    import urllib.request

    from bot.runtime import describe_database
    from storage import StoreError, open_store

    settings = _settings()

    async def check_store() -> None:
        store = open_store(settings.studybot_database_url)
        await store.start()
        try:
            await store.list_subscriptions(active_only=True)
        finally:
            await store.aclose()

    try:
        asyncio.run(check_store())
    except (StoreError, OSError) as exc:
        print(f"unhealthy: database {describe_database(settings.studybot_database_url)}: {exc}", file=sys.stderr)
        return 1
    if settings.slack_enabled and settings.slack_mode == "http":
        url = f"http://127.0.0.1:{settings.slack_http_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 - loopback only
                if resp.status != 200:
                    raise OSError(f"HTTP {resp.status}")
        except OSError as exc:
            print(f"unhealthy: {url}: {exc}", file=sys.stderr)
            return 1
    print("healthy")
    return 0


def _db(args: argparse.Namespace) -> int:
    """Database tooling; every action opens the store first, which applies pending migrations."""
    from bot.runtime import describe_database
    from storage import StoreError, open_store, sqlite_path_from_url
    from storage.export import ExportError

    url = _settings().studybot_database_url
    where = describe_database(url).split("?", 1)[0]  # query parameters may hold a password
    if args.action == "backup":
        from storage.backup import backup_sqlite

        if not args.file or args.file == "-":
            print("studybot: db backup needs a FILE to write the copy to", file=sys.stderr)
            return 2
        if not url.startswith("sqlite:"):
            print("studybot: db backup copies a SQLite file; for PostgreSQL use pg_dump, or studybot db export FILE",
                  file=sys.stderr)
            return 2
        try:
            pages = backup_sqlite(sqlite_path_from_url(url), Path(args.file))
        except StoreError as exc:
            print(f"studybot: {exc}", file=sys.stderr)
            return 1
        print(f"backed up {where} to {args.file} ({pages} pages)")
        return 0
    if args.action in ("export", "import") and not args.file:
        print(f"studybot: db {args.action} needs a FILE (- for standard {'output' if args.action == 'export' else 'input'})",
              file=sys.stderr)
        return 2

    async def body() -> int:
        store = open_store(url)
        await store.start()
        try:
            if args.action == "migrate":
                versions = await store.applied_migrations()
                print(f"{where}: migrations applied: {', '.join(f'{v:03d}' for v in versions)}")
                return 0
            if args.action == "export":
                return await _db_export(store, args.file, where)
            return await _db_import(store, args.file, where)
        finally:
            await store.aclose()

    try:
        return asyncio.run(body())
    except (StoreError, ExportError, OSError) as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        return 1


async def _db_export(store, file: str, where: str) -> int:
    from storage.export import export_to

    if file == "-":
        summary = await export_to(store, sys.stdout)
    else:
        # Written beside the target and renamed, so a failed export leaves no half file behind.
        target = Path(file)
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as out:
                summary = await export_to(store, out)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    rows = ", ".join(f"{name} {n}" for name, n in summary.rows.items())
    print(f"exported {where} to {file}: {rows}", file=sys.stderr)
    return 0


async def _db_import(store, file: str, where: str) -> int:
    from storage.export import import_from

    if file == "-":
        summary = await import_from(store, sys.stdin)
    else:
        with open(file, encoding="utf-8") as lines:  # noqa: ASYNC230 - the CLI's loop runs nothing else
            summary = await import_from(store, lines)
    rows = ", ".join(f"{name} {n}" for name, n in summary.rows.items()) or "no rows"
    print(f"imported {file} into {where}: {rows}", file=sys.stderr)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from bot.bench.runner import run

    return asyncio.run(run(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studybot", description="AWS DVA-C02 study bot for Slack and Discord")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a start-up failure")
    sub = parser.add_subparsers(dest="command", required=True)
    content = sub.add_parser("content", help="validate the bank or print its coverage")
    content.add_argument("action", choices=["check", "stats", "reports"],
                         help="reports: members' open question reports from the database")
    content.add_argument("--json", action="store_true", help="stats or reports as JSON")
    content.add_argument("--all", action="store_true", help="reports: closed ones too")
    content.add_argument("--update-shipped", action="store_true",
                         help="check, then add the bank's new question ids to content/shipped-ids.txt")
    content.add_argument("--root", default=None, help="content folder (default: the bundled bank)")
    content.add_argument("files", nargs="*", help="check only these files (default: all)")
    content.set_defaults(func=_content)

    console = sub.add_parser("console", help="chat with studybot in the terminal (no tokens needed)")
    console.add_argument("--channel", default="study-group", help="simulated channel name")
    console.add_argument("--user", default="you", help="simulated member name")
    console.add_argument("--no-charts", action="store_true",
                         help="skip the charts (by default written as PNG under STUDYBOT_DATA_DIR/charts)")
    console.set_defaults(func=_console)

    run = sub.add_parser("run", help="run the platform adapters configured in the environment and the scheduler")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                     help="show the traceback of a start-up failure")
    run.set_defaults(func=_run)

    lookup = sub.add_parser("lookup", help="search scenarios, facts and questions")
    lookup.add_argument("query")
    lookup.add_argument("--kind", choices=["scenario", "fact", "question"])
    lookup.add_argument("--limit", type=int, default=5)
    lookup.add_argument("--json", action="store_true")
    lookup.set_defaults(func=_lookup)

    health = sub.add_parser("health", help="exit 0 when the database answers (and Slack HTTP mode's /healthz)")
    health.set_defaults(func=_health)

    discord = sub.add_parser("discord", help="Discord helpers")
    discord.add_argument("action", choices=["invite-url"], help="invite-url: print the link that installs the bot")
    discord.add_argument("--application-id", type=int, default=None, help="default: DISCORD_APPLICATION_ID")
    discord.set_defaults(func=_discord)

    db = sub.add_parser("db", help="database tooling: migrate, export, import, backup (STUDYBOT_DATABASE_URL)")
    db.add_argument("action", choices=["migrate", "export", "import", "backup"],
                    help="migrate: apply pending migrations and list them; export/import: every table as JSON "
                         "lines (e.g. to move from SQLite to PostgreSQL); backup: copy a live SQLite file")
    db.add_argument("file", nargs="?", help="the export file (- for stdout/stdin) or the backup file")
    db.set_defaults(func=_db)
    from bot.bench.runner import add_arguments

    bench = sub.add_parser("bench", help="measure the busiest minute: answers, leaderboard, lookup, fanout, start, exam")
    add_arguments(bench)
    bench.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    global DEBUG
    args = build_parser().parse_args(argv)
    DEBUG = bool(getattr(args, "debug", False))
    from bot.core.ports import StudybotError

    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader gone early is met here, not at interpreter exit
        return code
    except StudybotError as exc:
        # A start-up failure (a refused token, Slack or Discord unreachable, a bad database URL):
        # one line naming what to fix; --debug shows the traceback.
        if DEBUG:
            raise
        print(f"studybot: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `studybot content stats | head`: the reader left; exit quietly, as Unix tools do.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
