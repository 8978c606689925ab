"""Errors of the optional AI model layer (``blocks.model``); messages carry no PHI.

They live under ``intake`` so that ``intake.errors.phi_safe`` passes their
text through unchanged: it names the step, the HTTP status and how to fix a
setting, never prompt text or field values.
"""

from __future__ import annotations

from intake.errors import IntakeError, TransientStepError


class ModelError(IntakeError):
    """The AI model layer failed; the rules' triage result stands."""


class VendorAgreementMissing(ModelError):
    """The AI model is off limits: no business associate agreement is recorded."""


class ModelNotConfigured(ModelError):
    """The AI model is turned on but its settings are incomplete."""


class ModelRequestRejected(ModelError):
    """The vendor refused the request (authentication, permission, bad request)."""


class ModelUnavailable(ModelError, TransientStepError):
    """The vendor did not answer usefully after the SDK's own retries."""


class ModelRateLimited(ModelUnavailable):
    """The vendor kept answering HTTP 429 (rate limit)."""


class ModelTimeout(ModelUnavailable):
    """The vendor did not answer within the configured timeout."""
