"""Production settings check: refuse placeholders and unsafe Prefect settings.

``check(env)`` lists what is wrong with a production environment, by setting
name only (values are secrets and never printed).
"""

from __future__ import annotations

from collections.abc import Mapping

PLACEHOLDERS = ("CHANGE-ME", "changeme", "password", "secret")

REQUIRED = {
    "PREFECT_SERVER_API_AUTH_STRING": "the server must ask for basic auth",
    "PREFECT_API_AUTH_STRING": "clients must send the server's auth string",
    "PREFECT_SERVER_ENCRYPTION_KEY": "block secrets need a key outside the database",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD":
        "old runs and logs must be deleted after a retention period",
}
EXPECTED = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}


def check(env: Mapping[str, str]) -> list[str]:
    """Problems with a production environment (empty when it is fine)."""
    problems = []
    for name, why in REQUIRED.items():
        value = env.get(name, "")
        if not value:
            problems.append(f"{name} is not set: {why}")
        elif any(p.lower() in value.lower() for p in PLACEHOLDERS):
            problems.append(f"{name} still holds a placeholder")
    for name, wanted in EXPECTED.items():
        if env.get(name, "").lower() != wanted:
            problems.append(f"{name} must be {wanted}")
    server, client = (env.get("PREFECT_SERVER_API_AUTH_STRING"),
                      env.get("PREFECT_API_AUTH_STRING"))
    if server and client and server != client:
        problems.append("PREFECT_API_AUTH_STRING differs from the server's")
    key = env.get("PREFECT_SERVER_ENCRYPTION_KEY", "")
    if key and not any(p.lower() in key.lower() for p in PLACEHOLDERS):
        try:
            from cryptography.fernet import Fernet

            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append("PREFECT_SERVER_ENCRYPTION_KEY is not a Fernet key")
    return problems
