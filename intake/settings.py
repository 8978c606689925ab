"""Runtime settings: where data lives, which CRM and model to use.

Read from the environment (prefix ``INTAKE_``) or a ``.env`` file. Defaults are
the embedded ones: a SQLite database under ``data/``, the offline model.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INTAKE_", env_file=".env", extra="ignore"
    )

    data_dir: Path = PROJECT_ROOT / "data"
    config_dir: Path = PROJECT_ROOT / "config"
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the app database (default: SQLite file "
        "in data_dir). The SQL CRM uses the same database unless crm_url is set.",
    )
    crm: str = Field(default="sql", description="'sql' or 'salesforce'")
    crm_url: str | None = None
    model: str = Field(default="offline", description="'offline' or 'anthropic'")
    anthropic_api_key: SecretStr | None = None
    anthropic_model: str = "claude-haiku-4-5"
    vendor_baa_signed: bool = Field(
        default=False,
        description="Set true only when a business associate agreement covers "
        "the AI vendor; the AI model refuses to start otherwise.",
    )
    max_payload_bytes: int = 2_000_000

    @field_validator("crm")
    @classmethod
    def _known_crm(cls, value: str) -> str:
        if value not in {"sql", "salesforce"}:
            raise ValueError("INTAKE_CRM must be 'sql' or 'salesforce'")
        return value

    @property
    def app_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'intake.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
