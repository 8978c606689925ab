"""Fixtures for drafting tests: a private copy of the shipped templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intake.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "config" / "templates"


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    """A copy of config/templates that a test may edit."""
    target = tmp_path / "templates"
    shutil.copytree(SHIPPED, target)
    return target
