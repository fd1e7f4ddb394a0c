"""``sendguard reputation``: the sender's score and factors as a table in the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from compliance.cli.common import EXIT_OK, EXIT_USAGE, open_session
from compliance.core.settings import Settings

_STATUS = {"good": "ok", "warn": "warn", "bad": "BAD", "unknown": "-"}


def _value(factor: dict[str, Any]) -> str:
    value = factor["value"]
    if value is None:
        return "no data"
    if factor["unit"] == "percent":
        return f"{value:.2f} %"
    if factor["unit"] == "hours":
        return f"{value:.1f} h"
    return f"{value:g}"


def cmd_reputation(args: argparse.Namespace, settings: Settings) -> int:
    from compliance.core.models import Sender
    from compliance.reputation import service
    from compliance.reputation.router import reputation_json

    lang = args.lang or settings.default_locale
    with open_session(settings, read_only=True) as session:
        if session.get(Sender, args.sender) is None:
            print(f"sendguard: error: sender {args.sender} not found", file=sys.stderr)
            return EXIT_USAGE
        reputation, window = service.current(session, args.sender)
        history = service.history(session, args.sender)
    content = reputation_json(reputation, lang)

    if args.json:
        content["window_campaigns"] = len(window.campaigns)
        print(json.dumps(content, ensure_ascii=False, indent=2))
        return EXIT_OK

    print(f"score {content['score']:.1f} / 100, grade {content['grade']} / 8")
    print(f"window: {len(window.campaigns)} latest sent campaign(s)")
    print()
    print(f"{'factor':<22} {'value':>12}  {'weight':>6}  {'status':<6} target")
    for factor in content["factors"]:
        print(
            f"{factor['key']:<22} {_value(factor):>12}  {factor['weight']:>6.2f}  "
            f"{_STATUS[factor['status']]:<6} {factor['target']}"
        )
    if content["caps"]:
        print(f"\ncapped by: {', '.join(content['caps'])}")
    fixes = [f for f in content["factors"] if f["key"] in content["fix_first"]]
    if fixes:
        print("\nfix first:")
        order = {key: rank for rank, key in enumerate(content["fix_first"])}
        for factor in sorted(fixes, key=lambda item: order[item["key"]]):
            print(f"  - {factor['message']}")
    if history:
        print("\nlatest campaigns (oldest first):")
        for point in history[-10:]:
            print(f"  {point.sent_at:%Y-%m-%d}  grade {point.grade}  score {point.score:5.1f}")
    return EXIT_OK


def add_parsers(commands: Any) -> None:
    reputation = commands.add_parser("reputation", help="the sender's reputation score")
    reputation.add_argument("--sender", required=True, help="sender id")
    reputation.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reputation.add_argument(
        "--lang", choices=["fr", "en"], help="language of targets and messages (default locale)"
    )
    reputation.set_defaults(handler=cmd_reputation)
