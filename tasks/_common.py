"""Options every workflow task shares: no persisted results, transient retries."""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from intake.errors import retry_transient_only

# Tasks see patient data through the app database; their results are never
# written to Prefect's result storage, and nothing is cached on their inputs.
PHI_SAFE: dict[str, Any] = {
    "persist_result": False,
    "cache_policy": NO_CACHE,
    "log_prints": False,
}

# Steps that touch external systems (CRM, model vendor, database) retry with
# backoff, but only on errors a retry can fix.
EXTERNAL: dict[str, Any] = {
    **PHI_SAFE,
    "retries": 4,
    "retry_delay_seconds": [1, 4, 15, 60],
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_transient_only,
}
