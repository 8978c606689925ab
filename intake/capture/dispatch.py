"""Capture step: one raw request in, one IntakeRecord out, whatever arrives.

``capture_request`` never raises for bad input. What went wrong is recorded
in ``capture_problem`` (the most serious one) and ``capture_detail`` (all of
them, plus notes such as truncation), both free of payload content, and
whatever could still be read is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from intake.capture import dates
from intake.capture.chat import capture_chat
from intake.capture.context import CaptureContext
from intake.capture.email import capture_email
from intake.capture.phone import capture_phone
from intake.capture.portal import capture_portal
from intake.capture.referral import capture_referral
from intake.capture.text import REQUEST_TEXT_CAP, clean_text
from intake.capture.web_form import capture_web_form
from intake.models import CaptureProblem, Channel, IntakeRecord

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 2_000_000
MAX_SOURCE_ID = 200
DETAIL_CAP = 1_000

ChannelParser = Callable[[dict[str, Any], CaptureContext], None]

CHANNEL_PARSERS: dict[Channel, ChannelParser] = {
    Channel.WEB_FORM: capture_web_form,
    Channel.PHONE: capture_phone,
    Channel.PORTAL: capture_portal,
    Channel.EMAIL: capture_email,
    Channel.CHAT: capture_chat,
    Channel.REFERRAL: capture_referral,
}


def intake_id_for(channel: str, source_id: str) -> str:
    """The intake id of a request: the same request always gets the same id."""
    key = f"{channel}:{source_id}".encode("utf-8", "surrogatepass")
    return "itk-" + hashlib.sha256(key).hexdigest()[:20]


def capture_request(
    raw: dict[str, Any] | str | bytes,
    *,
    intake_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> IntakeRecord:
    """Normalise one request (a parsed contract line, or its JSON text/bytes).

    Never raises for bad input: problems are recorded on the record, which
    then needs staff review (``record.needs_review``).
    """
    started = time.perf_counter()
    try:
        record = _capture(raw, intake_id, max_bytes)
    except Exception as exc:  # noqa: BLE001 - containment is this function's job
        # The exception text may quote the payload: only its type is logged.
        logger.warning("capture failed internally (%s)", type(exc).__name__)
        record = IntakeRecord(
            intake_id=_explicit_id(intake_id) or "itk-" + _raw_digest(raw)[:20],
            source_id="",
            capture_problem=CaptureProblem.MALFORMED_PAYLOAD,
            capture_detail=f"the request could not be read ({type(exc).__name__})",
        )
    logger.debug(
        "captured %s channel=%s problem=%s in %.1f ms",
        record.intake_id,
        record.channel.value if record.channel else "-",
        record.capture_problem.value if record.capture_problem else "-",
        (time.perf_counter() - started) * 1000,
    )
    return record


# --------------------------------------------------------------------------


def _capture(raw: Any, intake_id: str | None, max_bytes: int) -> IntakeRecord:
    ctx = CaptureContext(
        record=IntakeRecord(intake_id="itk-pending", source_id=""), today=date.today()
    )
    request = _load(raw, ctx)
    if request is None:
        return _finish(ctx, raw, intake_id, None, "")

    source_id = _source_id(request.get("id"), ctx)
    channel_text, channel = _channel(request.get("channel"), ctx)
    ctx.record.channel = channel
    _received_at(request.get("received_at"), ctx)

    payload = _payload(request.get("payload"), ctx, max_bytes)
    parser = CHANNEL_PARSERS.get(channel) if channel else None
    if parser is not None and isinstance(payload, dict):
        try:
            parser(payload, ctx)
        except Exception as exc:  # noqa: BLE001 - keep what was read so far
            logger.warning(
                "%s parser failed (%s); partial record kept",
                channel,
                type(exc).__name__,
            )
            ctx.problem(
                CaptureProblem.MALFORMED_PAYLOAD,
                f"the payload could not be read completely ({type(exc).__name__})",
            )
    else:
        _loose_text(payload, ctx)

    record = ctx.record
    if not (record.subject or record.form_reason or record.request_text) and not (
        record.attachments
    ):
        ctx.problem(CaptureProblem.EMPTY_REQUEST, "the request has no text")
    return _finish(ctx, raw, intake_id, source_id, channel_text)


def _load(raw: Any, ctx: CaptureContext) -> dict[str, Any] | None:
    """The request object, or None (with a problem) when there is none."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            ctx.note("the input was not valid UTF-8; invalid bytes were replaced")
    elif isinstance(raw, str):
        text = raw
    else:
        ctx.problem(
            CaptureProblem.NOT_AN_OBJECT,
            f"the request is a {type(raw).__name__}, not a JSON object",
        )
        return None
    text = text.lstrip("\ufeff")
    if not text.strip():
        ctx.problem(CaptureProblem.INVALID_JSON, "the request line is empty")
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = ""
        if isinstance(exc, json.JSONDecodeError):
            where = f" at character {exc.pos}"
        ctx.problem(
            CaptureProblem.INVALID_JSON, f"the request line is not valid JSON{where}"
        )
        return None
    if not isinstance(value, dict):
        kind = "a scalar"
        if isinstance(value, list):
            kind = "an array"
        elif isinstance(value, str):
            kind = "a string"
        ctx.problem(
            CaptureProblem.NOT_AN_OBJECT, f"the request is {kind}, not an object"
        )
        return None
    return value


def _source_id(value: Any, ctx: CaptureContext) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        detail = "the request id is not text"
        if value is None:
            detail = "the request has no id"
        ctx.problem(CaptureProblem.MALFORMED_PAYLOAD, detail)
        return None
    try:
        text = str(value)
    except ValueError:  # an integer too long to print
        text = "x" * (MAX_SOURCE_ID + 1)
    if len(text) > MAX_SOURCE_ID:
        ctx.problem(
            CaptureProblem.MALFORMED_PAYLOAD,
            f"the request id is longer than {MAX_SOURCE_ID} characters",
        )
        return None
    cleaned, _ = clean_text(text, MAX_SOURCE_ID, single_line=True, allow_html=False)
    if not cleaned:
        ctx.problem(CaptureProblem.MALFORMED_PAYLOAD, "the request id is empty")
        return None
    return cleaned


def _channel(value: Any, ctx: CaptureContext) -> tuple[str, Channel | None]:
    text = value.strip().lower() if isinstance(value, str) else ""
    try:
        return text, Channel(text)
    except ValueError:
        pass
    detail = "the channel is not one of the contract's"
    if not text:
        detail = "the request has no channel"
    ctx.problem(CaptureProblem.UNKNOWN_CHANNEL, detail)
    cleaned, _ = clean_text(text, 40, single_line=True, allow_html=False)
    return cleaned, None


def _practice_zone() -> tzinfo:
    """The practice's time zone, for timestamps written without an offset."""
    try:
        from intake.config import practice

        return ZoneInfo(str(practice().get("timezone") or "UTC"))
    except Exception:  # noqa: BLE001 - no config: UTC is the safe reading
        return UTC


def _received_at(value: Any, ctx: CaptureContext) -> None:
    if value is None or value == "":
        return
    try:
        parsed, had_offset = dates.parse_timestamp(value, _practice_zone())
    except dates.TimestampError as exc:
        ctx.problem(CaptureProblem.BAD_TIMESTAMP, str(exc))
        return
    ctx.record.received_at = parsed
    if not had_offset:
        ctx.problem(
            CaptureProblem.BAD_TIMESTAMP,
            "received_at has no UTC offset; it was read as the practice's local time",
        )
    # A date of birth cannot be after the day the request arrived (replayed
    # or imported requests are judged by their own date, not by today's).
    if parsed.year >= 1900:
        ctx.today = parsed.date()


def _payload(value: Any, ctx: CaptureContext, max_bytes: int) -> Any:
    """The payload to parse (a shortened copy when it is too large)."""
    if value is None:
        return {}
    size = _json_size(value)
    if size > max_bytes:
        ctx.problem(
            CaptureProblem.PAYLOAD_TOO_LARGE,
            f"payload is {_size_text(size)}, limit {_size_text(max_bytes)}; "
            "it was read shortened",
        )
        value = _shortened(value, max(max_bytes, 1_000))
    if isinstance(value, dict):
        return value
    kind = "a scalar"
    if isinstance(value, str):
        kind = "text"
    elif isinstance(value, list):
        kind = "a list"
    ctx.problem(
        CaptureProblem.MALFORMED_PAYLOAD, f"the payload is {kind}, not an object"
    )
    return value


def _json_size(value: Any) -> int:
    """About how many bytes the value takes as JSON (cycles counted once)."""
    total = 0
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item.encode("utf-8", "surrogatepass")) + 2
        elif isinstance(item, (dict, list, tuple)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                total += 2
                for key, child in item.items():
                    total += len(str(key)) + 4
                    stack.append(child)
            else:
                total += 2 + len(item)
                stack.extend(item)
        else:
            total += 8
    return total


def _shortened(value: Any, text_cap: int, depth: int = 0) -> Any:
    """A copy with every text cut to ``text_cap`` characters and lists bounded."""
    if depth > 40:
        return None
    if isinstance(value, str):
        return value[:text_cap]
    if isinstance(value, dict):
        items = list(value.items())[:1_000]
        return {k: _shortened(v, text_cap, depth + 1) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [_shortened(v, text_cap, depth + 1) for v in value[:2_000]]
    return value


def _size_text(size: int) -> str:
    if size >= 1_000_000:
        megabytes = size / 1_000_000
        exact = megabytes >= 10 or megabytes == int(megabytes)
        return f"{megabytes:.0f} MB" if exact else f"{megabytes:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.0f} KB"
    return f"{size} bytes"


def _loose_text(payload: Any, ctx: CaptureContext) -> None:
    """Every text in a payload of unknown shape, kept for staff to read."""
    texts: list[str] = []
    stack = [payload]
    budget = 2_000
    while stack and budget:
        budget -= 1
        item = stack.pop()
        if isinstance(item, str):
            if item.strip():
                texts.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())[:200]))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(list(item)[:200]))
    joined = "\n".join(texts)
    ctx.record.request_text = ctx.clean(joined, "payload text", REQUEST_TEXT_CAP)
    ctx.extract_from_text(ctx.record.request_text)


def _explicit_id(intake_id: Any) -> str | None:
    if isinstance(intake_id, str) and intake_id.strip():
        return intake_id.strip()
    return None


def _raw_digest(raw: Any) -> str:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
    elif isinstance(raw, str):
        data = raw.encode("utf-8", "surrogatepass")
    else:
        try:
            text = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
        except Exception:  # noqa: BLE001 - mixed key types, cycles
            try:
                text = repr(raw)
            except Exception:  # noqa: BLE001
                text = type(raw).__name__
        data = text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def _finish(
    ctx: CaptureContext,
    raw: Any,
    intake_id: str | None,
    source_id: str | None,
    channel_text: str,
) -> IntakeRecord:
    record = ctx.record
    if source_id:
        record.source_id = source_id
        derived = intake_id_for(channel_text, source_id)
        record.intake_id = _explicit_id(intake_id) or derived
    else:
        digest = _raw_digest(raw)[:20]
        # Deterministic, so a re-submitted request without an id still maps
        # to the same record.
        record.source_id = f"unidentified-{digest}"
        record.intake_id = _explicit_id(intake_id) or f"itk-{digest}"
    record.capture_problem = ctx.main_problem()
    details = [detail for _, detail in ctx.problems] + ctx.notes
    record.capture_detail = "; ".join(details)[:DETAIL_CAP] or None
    # Re-validate: assignment above is not checked, and callers rely on the
    # record's types.
    return IntakeRecord.model_validate(record.model_dump())
