"""Errors of follow-up drafting; messages name templates and slots, never values.

IntakeError (intake.errors)
└── DraftingError
    ├── TemplateError        a template file or the practice file is malformed
    │   └── TemplateLockError  a template differs from its approved version
    ├── SlotError            a slot value was refused (the value is not shown)
    ├── GuardrailError       a draft failed the outbound guardrail
    └── LexiconError         config/guardrail.yaml is malformed
"""

from __future__ import annotations

from intake.config import ConfigError
from intake.errors import IntakeError


class DraftingError(IntakeError):
    """Base of drafting errors (messages never carry slot values or text)."""


class TemplateError(DraftingError, ConfigError):
    """A template file or the practice configuration it needs is malformed."""


class TemplateLockError(TemplateError):
    """A template no longer matches the version approved in versions.lock."""


class SlotError(DraftingError):
    """A slot value was missing, unexpected or not allowed."""


class GuardrailError(DraftingError):
    """A draft contains wording the outbound guardrail refuses."""


class LexiconError(DraftingError, ConfigError):
    """The guardrail lexicon (config/guardrail.yaml) is malformed."""
