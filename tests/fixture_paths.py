"""Where the real-world webhook payloads are: `../shared/fixtures` beside the repository when it is there (the
project's shared set, which may hold more than the copy), else the copy in `tests/fixtures`."""

from __future__ import annotations

from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_SHARED = _REPO.parent / "shared" / "fixtures"
FIXTURES = _SHARED if _SHARED.is_dir() else _REPO / "tests" / "fixtures"
