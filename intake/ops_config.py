"""Operations settings: quality docs, reports, alerts, no-shows and the routing audit.

``config/operations.yaml`` holds the practice's choices; a few environment
variables (``INTAKE_QUALITY_DOCS_DIR``, ``INTAKE_QUALITY_ALERT_BLOCK``,
``INTAKE_REPORTS_DIR``, ``INTAKE_NOSHOW_CSV``) override the paths and the alert
block per machine.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from intake.config import ConfigError, load_yaml
from intake.models import Queue
from intake.settings import PROJECT_ROOT, get_settings


class RoutingAuditConfig(BaseModel):
    """When the routing audit runs and how many requests it samples."""

    go_live: date | None = None
    days: int = Field(default=30, ge=0)
    sample_per_queue: int = Field(default=5, ge=1, le=100)

    def active_on(self, day: date) -> bool:
        """True in the first ``days`` days from go-live (go-live day included)."""
        if self.go_live is None:
            return False
        return self.go_live <= day < self.go_live + timedelta(days=self.days)


class OperationsConfig(BaseModel):
    quality_docs_dir: Path
    quality_alert_block: str | None = None
    reports_dir: Path
    noshow_csv: Path | None = None
    noshow_language: str = "en"
    noshow_queue: Queue = Queue.FRONT_DESK
    routing_audit: RoutingAuditConfig = Field(default_factory=RoutingAuditConfig)


class _OperationsEnv(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    quality_docs_dir: Path | None = None
    quality_alert_block: str | None = None
    reports_dir: Path | None = None
    noshow_csv: Path | None = None


def _path(value: Any) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(str(value))
    return path if path.is_absolute() else PROJECT_ROOT / path


def operations_config() -> OperationsConfig:
    """The operations settings: ``config/operations.yaml`` plus the environment."""
    try:
        data = load_yaml("operations.yaml") or {}
    except ConfigError:
        data = {}  # every setting has a default; the file is optional
    quality = data.get("quality") or {}
    reports = data.get("reports") or {}
    no_show = data.get("no_show") or {}
    env = _OperationsEnv()
    return OperationsConfig(
        quality_docs_dir=_path(env.quality_docs_dir)
        or _path(quality.get("data_docs_dir"))
        or get_settings().data_dir / "quality-docs",
        quality_alert_block=env.quality_alert_block or quality.get("alert_block"),
        reports_dir=_path(env.reports_dir) or _path(reports.get("out_dir"))
        or PROJECT_ROOT / "reports",
        noshow_csv=_path(env.noshow_csv) or _path(no_show.get("csv")),
        noshow_language=no_show.get("language") or "en",
        noshow_queue=Queue(no_show.get("queue") or Queue.FRONT_DESK),
        routing_audit=RoutingAuditConfig.model_validate(
            data.get("routing_audit") or {}
        ),
    )
