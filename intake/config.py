"""Practice configuration: routing rules, response targets, vocabularies.

The YAML files under ``config/`` are the reviewable source of every rule; this
module only loads and caches them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from intake.settings import get_settings


class ConfigError(Exception):
    """A configuration file is missing or malformed."""


def config_path(name: str) -> Path:
    return get_settings().config_dir / name


@lru_cache(maxsize=64)
def load_yaml(name: str) -> Any:
    """Load ``config/NAME`` (cached; call ``load_yaml.cache_clear()`` to reload)."""
    path = config_path(name)
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} is missing") from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"configuration file {path} is not valid YAML: {exc}"
        ) from None


def routing() -> dict[str, Any]:
    return load_yaml("routing.yaml")


def response_targets() -> dict[str, Any]:
    return load_yaml("response_targets.yaml")


def practice() -> dict[str, Any]:
    return load_yaml("practice.yaml")
