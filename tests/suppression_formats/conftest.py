"""Fixtures for the suppression file formats: the ESP export samples of the shared corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def exports_dir() -> Path:
    """The corpus's exports folder, from SENDGUARD_CORPUS_DIR or beside the repository."""
    configured = os.environ.get("SENDGUARD_CORPUS_DIR")
    corpus = Path(configured) if configured else REPO_ROOT.parent / "shared" / "corpus"
    exports = corpus / "exports"
    if not (exports / "README.md").is_file():
        pytest.fail(
            f"ESP export samples not found at {exports}: "
            "set SENDGUARD_CORPUS_DIR to the corpus folder"
        )
    return exports
