"""Deployment entrypoints load flow files by path, with their folder on sys.path."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"intake", "flows", "tasks", "blocks", "config", "tests"}


def test_no_flow_module_shadows_a_top_level_package() -> None:
    # A flows/intake.py would be imported as `intake` by a worker and hide the
    # real package, crashing every deployment run at import.
    names = {p.stem for p in (ROOT / "flows").glob("*.py")}
    assert not names & PACKAGES
