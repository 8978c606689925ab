"""Draft step: administrative follow-up from locked templates, checked on the way out.

render(template_id, slots, language)        one template, slots validated
draft_follow_up(triage, channel=...)        the drafts a triaged request gets
check_outbound(text)                        the outbound guardrail
detect_language(text)                       "es" or "en"
"""

from __future__ import annotations

from intake.drafting.compose import draft_follow_up
from intake.drafting.errors import (
    DraftingError,
    GuardrailError,
    LexiconError,
    SlotError,
    TemplateError,
    TemplateLockError,
)
from intake.drafting.guardrail import GuardrailVerdict, check_outbound
from intake.drafting.language import detect_language
from intake.drafting.templates import (
    TemplateSet,
    default_templates,
    load_templates,
    render,
    write_lock,
)

__all__ = [
    "DraftingError",
    "GuardrailError",
    "GuardrailVerdict",
    "LexiconError",
    "SlotError",
    "TemplateError",
    "TemplateLockError",
    "TemplateSet",
    "check_outbound",
    "default_templates",
    "detect_language",
    "draft_follow_up",
    "load_templates",
    "render",
    "write_lock",
]
