"""Bounce classification against the labelled corpus: agreement and speed, ours and Sisimai's.

Usage::

    .venv/bin/python -m benchmarks.bounces [--corpus DIR] [--rounds N]

Prints class and reason agreement with the corpus labels, per class and per
reason, the confusion between classes, and messages per second. When perl
and Debian's ``libsisimai-perl`` are installed, Sisimai classifies the same
folder in the same run (its time is measured inside Perl, around
``Sisimai->make`` alone, so process start-up is not counted against it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

from suppression.bounces import classify

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(
    os.environ.get("SENDGUARD_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus")
)


def sisimai_class(reason: str, hard: bool) -> str:
    if not reason:
        return "not_bounce"
    if hard:
        return "hard"
    return {
        "feedback": "complaint",
        "vacation": "autoreply",
        "delivered": "delivered",
        "onhold": "unknown",
        "undefined": "unknown",
    }.get(reason, "soft")


def run_ours(paths: list[Path], rounds: int) -> tuple[dict[str, list[tuple[str, str]]], float]:
    raws = [path.read_bytes() for path in paths]
    results: dict[str, list[tuple[str, str]]] = {}
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        verdicts = [classify(raw) for raw in raws]
        best = min(best, time.perf_counter() - start)
    for path, found in zip(paths, verdicts, strict=True):
        results[str(path)] = [(item.bounce_class.value, item.reason) for item in found]
    return results, len(paths) / best


def run_sisimai(
    paths: list[Path], rounds: int
) -> tuple[dict[str, list[tuple[str, str]]], float] | None:
    """Run Sisimai ``rounds`` times, like ours, and keep its best time: the same rule for both."""
    if shutil.which("perl") is None:
        return None
    script = Path(__file__).with_name("sisimai_run.pl")
    best = float("inf")
    done = None
    for _ in range(rounds):
        done = subprocess.run(
            ["perl", str(script)],
            input="\n".join(str(path) for path in paths) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"Sisimai not run: {done.stderr.strip()[:200]}")
            return None
        best = min(best, float(done.stderr.strip().splitlines()[-1]))
    assert done is not None
    results: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in done.stdout.splitlines():
        path, index, reason, _status, _reply, hard = line.split("\t")
        if index == "-1":
            results[path].append(("not_bounce", ""))
        else:
            results[path].append((sisimai_class(reason, hard == "1"), reason))
    return dict(results), len(paths) / best


def score(
    name: str,
    labels: list[dict[str, object]],
    results: dict[str, list[tuple[str, str]]],
    root: Path,
) -> None:
    confusion: Counter[tuple[str, str]] = Counter()
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    class_hits = reason_hits = reasons = 0
    for row in labels:
        found = results.get(str(root / str(row["path"])), [("not_bounce", "")])
        got = found[0][0] if found else "not_bounce"
        expected_class = str(row["class"])
        confusion[(expected_class, got)] += 1
        per_class[expected_class][1] += 1
        if got == expected_class:
            class_hits += 1
            per_class[expected_class][0] += 1
        expected = row["expected"]
        assert isinstance(expected, list)
        for position, item in enumerate(expected):
            reason = str(item["reason"])
            reasons += 1
            per_reason[reason][1] += 1
            if position < len(found) and found[position][1] == reason:
                reason_hits += 1
                per_reason[reason][0] += 1

    print(f"\n## {name}")
    print(f"class agreement  {class_hits}/{len(labels)} = {class_hits / len(labels):.1%}")
    print(f"reason agreement {reason_hits}/{reasons} = {reason_hits / reasons:.1%}")
    print("\nper class (agree/total):")
    for key, (hit, total) in sorted(per_class.items()):
        print(f"  {key:12} {hit:4}/{total:<4} {hit / total:6.1%}")
    print("\nper reason (agree/total):")
    for key, (hit, total) in sorted(per_reason.items()):
        print(f"  {key:16} {hit:4}/{total:<4} {hit / total:6.1%}")
    classes = sorted({key for pair in confusion for key in pair})
    print("\nconfusion (rows: label, columns: answer):")
    print("  " + " " * 12 + "".join(f"{key[:10]:>11}" for key in classes))
    for expected_class in classes:
        cells = "".join(f"{confusion[(expected_class, got)]:>11}" for got in classes)
        print(f"  {expected_class:12}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds; the best counts")
    args = parser.parse_args()
    root = args.corpus / "bounces"
    labels = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines()]
    paths = [root / row["path"] for row in labels]

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    ours, ours_rate = run_ours(paths, args.rounds)
    score("Sendguard", labels, ours, root)
    sisimai = run_sisimai(paths, args.rounds)
    if sisimai is not None:
        score("Sisimai (libsisimai-perl)", labels, sisimai[0], root)
    print(f"\nSendguard: {ours_rate:,.0f} messages/s (best of {args.rounds} rounds)")
    if sisimai is not None:
        print(f"Sisimai:   {sisimai[1]:,.0f} messages/s (best of {args.rounds} rounds)")
        print(f"ratio:     {ours_rate / sisimai[1]:.2f}x")


if __name__ == "__main__":
    main()
