"""The `studybot` command line: console, run, lookup, content check/stats."""

from __future__ import annotations

import argparse
import json
import sys


def _content(args: argparse.Namespace) -> int:
    from content.loader import BankError, load_bank, stats

    try:
        bank = load_bank(args.root, only=args.files or None)
    except BankError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    if args.action == "check":
        print(f"content ok: {len(bank.questions)} questions, {len(bank.scenarios)} scenarios, {len(bank.facts)} facts")
        return 0
    figures = stats(bank)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"questions {figures['questions']}  scenarios {figures['scenarios']}  facts {figures['facts']}")
    n = max(figures["questions"], 1)
    print(f"multiple response {figures['multiple_response']} ({100 * figures['multiple_response'] / n:.1f} %)")
    for section in ("by_domain", "by_task", "by_difficulty", "by_service"):
        print(section.replace("_", " ") + ":")
        for k, v in figures[section].items():
            share = f" ({100 * v / n:.1f} %)" if section in ("by_domain", "by_difficulty") else ""
            print(f"  {k:<20} {v}{share}")
    print(f"scenario services {figures['scenario_services']}  fact services {figures['fact_services']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studybot", description="AWS DVA-C02 study bot for Slack and Discord")
    sub = parser.add_subparsers(dest="command", required=True)
    content = sub.add_parser("content", help="validate the bank or print its coverage")
    content.add_argument("action", choices=["check", "stats"])
    content.add_argument("--json", action="store_true", help="stats as JSON")
    content.add_argument("--root", default=None, help="content folder (default: the bundled bank)")
    content.add_argument("files", nargs="*", help="check only these files (default: all)")
    content.set_defaults(func=_content)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
