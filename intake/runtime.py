"""Process-wide handles: the app store, the CRM connector and the intake model.

Tasks and the CLI get them from here so one process shares one engine. Tests
swap them with ``use(...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blocks.crm import CRMConnector
    from intake.store import IntakeStore

_handles: dict[str, Any] = {}


def store() -> IntakeStore:
    if "store" not in _handles:
        from intake.store import IntakeStore

        _handles["store"] = IntakeStore()
    return _handles["store"]


def crm() -> CRMConnector:
    if "crm" not in _handles:
        from blocks.crm import load_crm

        _handles["crm"] = load_crm()
    return _handles["crm"]


def model() -> Any:
    """The configured intake model block, or None for the offline rules alone."""
    if "model" not in _handles:
        from intake.settings import get_settings

        settings = get_settings()
        if settings.model == "anthropic":
            from blocks.model import AnthropicIntakeModel

            _handles["model"] = AnthropicIntakeModel.from_settings()
        else:
            _handles["model"] = None
    return _handles["model"]


def use(**handles: Any) -> None:
    """Replace handles (``store=``, ``crm=``, ``model=``), e.g. in tests."""
    _handles.update(handles)


def reset() -> None:
    _handles.clear()
