"""Locate the labelled bounce corpus and score the classifier against it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("SENDGUARD_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
BOUNCES = CORPUS / "bounces"


@dataclass(frozen=True)
class Label:
    path: str
    message_class: str
    reasons: list[str]


def labels() -> Iterator[Label]:
    with (BOUNCES / "labels.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            yield Label(row["path"], row["class"], [item["reason"] for item in row["expected"]])
