"""Errors of the intake product, and the guard that keeps patient data out of them.

Exception messages end up in Prefect state messages, events and logs, so every
error raised out of a workflow step carries a safe message: the step, the
error's type and ids, never field values.

    IntakeError
    ├── StepFailed          a step failed; the message names the step and type
    └── TransientStepError  a step failed in a way worth retrying
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class IntakeError(Exception):
    """Base of the product's own errors (messages never carry patient data)."""


class StepFailed(IntakeError):
    """A workflow step failed; the original error was replaced by a safe one."""


class TransientStepError(StepFailed):
    """A step failed in a way that a retry may fix (lock, timeout, rate limit)."""


def _is_transient(exc: BaseException) -> bool:
    from blocks.crm import CRMTransientError

    if isinstance(exc, CRMTransientError | TransientStepError | TimeoutError):
        return True
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, OperationalError)


def phi_safe(step: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Re-raise any error of ``step`` as a StepFailed whose text has no field values."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except IntakeError as exc:
                if type(exc).__module__.startswith("intake"):
                    raise
                raise StepFailed(f"{step} failed ({type(exc).__name__})") from None
            except Exception as exc:  # noqa: BLE001 - replaced by a safe error
                from blocks.crm import CRMError

                if isinstance(exc, CRMError):
                    # CRM errors are written to be safe already; keep their text.
                    kind = TransientStepError if _is_transient(exc) else StepFailed
                    raise kind(f"{step} failed: {exc}") from None
                kind = TransientStepError if _is_transient(exc) else StepFailed
                raise kind(f"{step} failed ({type(exc).__name__})") from None

        return inner

    return decorate


def retry_transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry only errors a retry can fix."""
    try:
        state.result()
    except TransientStepError:
        return True
    except Exception:  # noqa: BLE001 - any other failure is final
        return False
    return False
