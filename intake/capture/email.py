"""Capture step: emails (``payload.raw`` is a complete RFC 822 message).

The stdlib ``email`` package does the parsing, behind guards for what makes
it slow or crash on hostile input:

- header lines are cut to the RFC 5322 limit of 998 characters before
  parsing: header parsing is quadratic on long values;
- the MIME tree is read with the lenient compat32 policy, whose parameter
  parsing is cheap; policy.default's structured parser (about 50 ms for one
  1 kB Content-Type) is used only for From, Reply-To and Subject;
- messages with too many parts or nesting levels are read for headers only,
  and the walk over parts stops at a time budget;
- charsets that are unknown or wrong are replaced rather than trusted.

Quoted reply history and the signature after a "-- " line go to
``quoted_text``.

Not read: encrypted bodies (S/MIME, PGP) and Outlook's winmail.dat; they are
listed as attachments for staff to open. Inline images (a logo in an HTML
signature, or a photographed insurance card pasted into the message) are
listed as attachments too: capture cannot tell them apart.
"""

from __future__ import annotations

import codecs
import email
import email.utils
import quopri
import re
import time
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import Parser
from typing import Any

from intake.capture.context import CaptureContext
from intake.capture.text import (
    QUOTED_TEXT_CAP,
    REQUEST_TEXT_CAP,
    SUBJECT_CAP,
    clean_text,
    html_to_text,
    strip_controls,
)
from intake.models import CaptureProblem

MAX_HEADER_CHARS = 998
MAX_HEADERS_PER_BLOCK = 100
MAX_BOUNDARIES = 25  # distinct multipart boundaries (roughly: nesting levels)
MAX_PARTS = 200
MAX_DEPTH = 25
WALK_BUDGET_SECONDS = 0.3

_FIELD_NAME_RE = re.compile(r"[!-9;-~]{1,76}:")
_BOUNDARY_RE = re.compile(r"boundary\s{0,3}=\s{0,3}\"?([^\"\s;]{1,200})", re.IGNORECASE)
# Cryptographic signatures of a signed message are not documents.
_SIGNATURE_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
    }
)
_KNOWN_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "mime-version",
        "content-type", "content-transfer-encoding", "reply-to", "sender",
        "received", "return-path", "in-reply-to", "references", "delivered-to",
    }
)  # fmt: skip
# Not charsets, even though Python can decode with them.
_REFUSED_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "punycode", "idna"}
)


# --------------------------------------------------------------------------
# Guards before parsing


def _guard_headers(raw: str) -> tuple[str, bool]:
    """Cut header lines (top level and MIME parts) to MAX_HEADER_CHARS.

    Returns the guarded message and whether anything was cut. Linear in the
    message size; only header blocks are touched.
    """
    if "\n" not in raw and len(raw) <= MAX_HEADER_CHARS:
        return raw, False
    out: list[str] = []
    cut = False
    in_headers = True
    count = 0
    length = 0
    for line in raw.split("\n"):
        if not in_headers:
            out.append(line)
            bare = line.strip()
            if bare.startswith("--") and len(bare) <= 80 and " " not in bare:
                in_headers, count, length = True, 0, 0
            continue
        bare = line.rstrip("\r")
        if not bare:
            in_headers = False
            out.append(line)
        elif bare[0] in " \t" and count:
            room = MAX_HEADER_CHARS - length
            if room <= 0:
                cut = True
                continue
            if len(line) > room:
                line, cut = line[:room], True
            length += len(line)
            out.append(line)
        elif _FIELD_NAME_RE.match(bare):
            count += 1
            if count > MAX_HEADERS_PER_BLOCK:
                cut, length = True, MAX_HEADER_CHARS  # drop its continuations
                continue
            if len(line) > MAX_HEADER_CHARS:
                line, cut = line[:MAX_HEADER_CHARS], True
            length = len(line)
            out.append(line)
        else:
            in_headers = False
            out.append(line)
    return "\n".join(out), cut


def _structure_problem(raw: str) -> str | None:
    """Why the MIME structure is too big to parse safely, or None."""
    boundaries = {m.group(1) for m in _BOUNDARY_RE.finditer(raw)}
    if len(boundaries) > MAX_BOUNDARIES:
        return (
            f"the message declares {len(boundaries)} multipart levels or more, "
            f"limit {MAX_BOUNDARIES}; only its headers were read"
        )
    parts = sum(raw.count("\n--" + b) for b in boundaries)
    if parts > MAX_PARTS:
        return (
            f"the message has about {parts} MIME parts, limit {MAX_PARTS}; "
            "only its headers were read"
        )
    return None


# --------------------------------------------------------------------------
# Reading parts


def _decode_bytes(data: bytes, charset: str | None, ctx: CaptureContext) -> str:
    name = (charset or "utf-8").strip().strip("\"'").lower() or "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        codec = None
    if codec in _REFUSED_CODECS:
        codec = None
    if codec is None:
        ctx.note("an unknown charset was read as UTF-8 with replacement characters")
    else:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            if codec not in ("ascii", "us-ascii"):
                ctx.note("text that did not match its charset was replaced")
                return data.decode(codec, errors="replace")
        except Exception:  # noqa: BLE001 - e.g. a codec that is not for text
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_str(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - a malformed header must not stop capture
        return ""


def _structured(name: str, value: str) -> Any:
    """policy.default's parsed header (addresses, decoded words), or None."""
    try:
        return policy.default.header_factory(name, value)
    except Exception:  # noqa: BLE001 - the caller falls back to lenient parsing
        return None


def _part_text(part: Message, ctx: CaptureContext) -> str:
    encoding = _header_str(part, "content-transfer-encoding").strip().lower()
    payload = part.get_payload()
    if not isinstance(payload, str):
        return ""
    charset = _charset(part)
    if encoding == "quoted-printable" and not payload.isascii():
        # Characters that were never encoded sit between =XX escapes: read
        # them as UTF-8 bytes alongside the decoded ones.
        return _decode_bytes(
            quopri.decodestring(payload.encode("utf-8", "surrogatepass")),
            charset if charset and charset.lower().startswith("utf") else "utf-8",
            ctx,
        )
    if encoding in ("quoted-printable", "base64", "x-uuencode", "uuencode", "x-uue"):
        data = part.get_payload(decode=True)
        return _decode_bytes(data if isinstance(data, bytes) else b"", charset, ctx)
    # 7bit/8bit/binary: the text is already Unicode (the message came as JSON
    # text), so its declared charset has nothing left to decode.
    return payload


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # noqa: BLE001
        return None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        return None
    if isinstance(name, str) and "=?" in name:
        return _decode_header_fallback(name)
    return name if isinstance(name, str) else None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # noqa: BLE001
        return None


def _decoded_size(part: Message) -> int | None:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        return None
    return len(data) if isinstance(data, bytes) else None


@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    parts: int = 0
    too_deep: bool = False
    too_many: bool = False
    deadline: float = 0.0
    out_of_time: bool = False


def _choose_alternative(children: list[Any]) -> Message | None:
    """The part of a multipart/alternative to read: plain text first."""
    ranked: list[tuple[int, int, Message]] = []
    for index, child in enumerate(children):
        if not isinstance(child, Message):
            continue
        kind = _content_type(child)
        if kind == "text/plain":
            rank = 0
        elif kind.startswith("multipart/"):
            rank = 1
        else:
            rank = 2 if kind == "text/html" else 3
        ranked.append((rank, index, child))
    return min(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None


_WORD_RE = re.compile(r"\w+")
# An HTML alternative with at least this many words (and this share of its
# words) that the plain one lacks says something else, and is read too.
_ALTERNATIVE_MIN_NEW_WORDS = 3
_ALTERNATIVE_MIN_NEW_SHARE = 0.2


def _add_richer_html(
    children: list[Any],
    chosen: Message,
    chosen_texts: list[str],
    body: _Body,
    ctx: CaptureContext,
) -> None:
    """Read the HTML alternative too when it says what the plain one does not.

    Mail clients show the HTML version. A plain part that is empty, a "view
    this email in a browser" placeholder, or different words altogether
    (text written to mislead an automated reader) must not hide what a person
    sees. Known gap: an HTML version that differs only by a few words, such
    as an inserted "not", is not detected.
    """
    if _content_type(chosen) != "text/plain":
        return
    plain_words = set(_WORD_RE.findall(" ".join(chosen_texts).lower()))
    for child in children:
        if child is chosen or not isinstance(child, Message):
            continue
        if _content_type(child) != "text/html" or child.is_multipart():
            continue
        if _disposition(child) == "attachment":
            continue
        text = html_to_text(_part_text(child, ctx))
        html_words = set(_WORD_RE.findall(text.lower()))
        new_words = html_words - plain_words
        if len(new_words) >= _ALTERNATIVE_MIN_NEW_WORDS and len(new_words) >= (
            _ALTERNATIVE_MIN_NEW_SHARE * len(html_words)
        ):
            body.texts.append(text)
            ctx.note("the HTML version says more than the plain one; both were read")
        return


def _walk(part: Message, depth: int, body: _Body, ctx: CaptureContext) -> None:
    body.parts += 1
    if body.parts > MAX_PARTS:
        body.too_many = True
        return
    if time.monotonic() > body.deadline:
        body.out_of_time = True
        return
    if depth > MAX_DEPTH:
        body.too_deep = True
        return
    kind = _content_type(part)
    main = kind.split("/", 1)[0]
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if main == "message":
            name = _filename(part) or "forwarded-message.eml"
            ctx.add_attachment(name, kind, None, "an attached message")
        elif kind == "multipart/alternative":
            chosen = _choose_alternative(children)
            if chosen is not None:
                before = len(body.texts)
                _walk(chosen, depth + 1, body, ctx)
                _add_richer_html(children, chosen, body.texts[before:], body, ctx)
        else:
            for child in children:
                if isinstance(child, Message):
                    _walk(child, depth + 1, body, ctx)
        return

    filename = _filename(part)
    disposition = _disposition(part)
    # A multipart type without a boundary reads as plain text.
    readable = kind in ("text/plain", "text/html") or main == "multipart"
    if (
        readable
        and disposition != "attachment"
        and not (filename and disposition != "inline")
    ):
        text = _part_text(part, ctx)
        body.texts.append(html_to_text(text) if kind == "text/html" else text)
        return
    if kind in _SIGNATURE_TYPES:
        return
    ctx.add_attachment(filename or "", kind, _decoded_size(part), "an email attachment")


# --------------------------------------------------------------------------
# Quoted history and signatures

_ON_WROTE_RE = re.compile(
    r"^\s{0,4}(?:On|El|Le|Am|Em)\s.{0,300}?(?:wrote|escribi[óo]|a\s+[ée]crit|"
    r"schrieb|escreveu)\s{0,3}:\s*$",
    re.IGNORECASE,
)
_ON_START_RE = re.compile(r"^\s{0,4}(?:On|El)\s\S", re.IGNORECASE)
_WROTE_END_RE = re.compile(r"(?:wrote|escribi[óo])\s{0,3}:\s*$", re.IGNORECASE)
_SEPARATOR_RE = re.compile(
    r"^\s{0,4}(?:-{2,}\s*(?:original\s+message|mensaje\s+original|forwarded\s+"
    r"message|mensaje\s+reenviado|reply\s+message)\s*-{2,}|begin\s+forwarded\s+"
    r"message\s*:)",
    re.IGNORECASE,
)
_RULE_RE = re.compile(r"^\s{0,4}_{10,}\s*$")
_FROM_LINE_RE = re.compile(r"^\s{0,4}\*?(?:from|de)\s{0,2}:\*?\s", re.IGNORECASE)
_HEADER_FOLLOW_RE = re.compile(
    r"^\s{0,4}\*?(?:sent|date|to|subject|cc|enviado|fecha|para|asunto)\s{0,2}:",
    re.IGNORECASE,
)
_MOBILE_RE = re.compile(
    r"^\s{0,4}(?:sent\s+from\s+my\s+\w[\w ]{0,30}|sent\s+from\s+\w+\s+for\s+\w+|"
    r"get\s+outlook\s+for\s+\w+|enviado\s+desde\s+mi\s+\w[\w ]{0,30})\s*$",
    re.IGNORECASE,
)


def _history_starts(lines: list[str], index: int) -> bool:
    line = lines[index][:400]
    if _ON_WROTE_RE.match(line) or _SEPARATOR_RE.match(line):
        return True
    following = [candidate[:400] for candidate in lines[index + 1 : index + 6]]
    if _ON_START_RE.match(line) and following and _WROTE_END_RE.search(following[0]):
        return True
    if _RULE_RE.match(line):
        return any(_FROM_LINE_RE.match(candidate) for candidate in following[:3])
    if _FROM_LINE_RE.match(line):
        return any(_HEADER_FOLLOW_RE.match(candidate) for candidate in following)
    return False


@dataclass
class SplitReply:
    own: str  # the sender's own words
    signature: str  # after a "-- " line, up to any quoted history
    quoted: str  # everything that is not the sender's own words


def split_reply(text: str) -> SplitReply:
    """Separate the sender's words from quoted history and the signature."""
    lines = text.split("\n")
    own: list[str] = []
    aside: list[str] = []
    signature: list[str] = []
    history: list[str] = []
    for index, line in enumerate(lines):
        if _history_starts(lines, index):
            history = lines[index:]
            break
        if line.rstrip() == "--":
            rest = lines[index + 1 :]
            end = next(
                (i for i in range(len(rest)) if _history_starts(rest, i)), len(rest)
            )
            signature, history = rest[:end], rest[end:]
            break
        head = line[:400]
        if head.lstrip().startswith(">") or _MOBILE_RE.match(head):
            aside.append(line)
        else:
            own.append(line)
    quoted = aside + (["-- ", *signature] if signature else []) + history
    return SplitReply(
        own="\n".join(own).strip(),
        signature="\n".join(signature).strip(),
        quoted="\n".join(quoted).strip(),
    )


# --------------------------------------------------------------------------
# The channel


def _decode_header_fallback(value: str) -> str:
    try:
        pieces = decode_header(value)
    except Exception:  # noqa: BLE001
        return value
    out: list[str] = []
    for piece, charset in pieces:
        if isinstance(piece, bytes):
            try:
                out.append(piece.decode(charset or "utf-8", errors="replace"))
            except LookupError:
                out.append(piece.decode("utf-8", errors="replace"))
        else:
            out.append(piece)
    return "".join(out)


def _sender(message: Message) -> tuple[str | None, list[str]]:
    """(display name, addresses) of From, then Reply-To."""
    name: str | None = None
    addresses: list[str] = []
    for header in ("from", "reply-to"):
        raw = _header_str(message, header)
        if not raw:
            continue
        try:
            parsed = _structured(header, raw)
            found = [(a.display_name, a.addr_spec) for a in parsed.addresses]
        except Exception:  # noqa: BLE001 - fall back to the lenient parser
            found = email.utils.getaddresses([_decode_header_fallback(raw)])
        for display, address in found:
            if header == "from" and display and not name:
                name = display
            if address:
                addresses.append(address)
    return name, addresses


def _has_headers(message: Message) -> bool:
    try:
        return any(key.lower() in _KNOWN_HEADERS for key in message.keys())
    except Exception:  # noqa: BLE001
        return False


def capture_email(payload: dict[str, Any], ctx: CaptureContext) -> None:
    raw_value = payload.get("raw")
    if raw_value is None:
        return
    if not isinstance(raw_value, str):
        ctx.problem(CaptureProblem.MALFORMED_PAYLOAD, "raw is not text")
        return
    # Control characters, invisibles and lone surrogates go before parsing:
    # lone surrogates would make the decoders raise.
    raw = strip_controls(raw_value)
    if not raw.strip():
        return

    guarded, cut = _guard_headers(raw)
    if cut:
        ctx.note(f"email header lines were cut to {MAX_HEADER_CHARS} characters")
    too_complex = _structure_problem(guarded)
    message: Message | None = None
    try:
        if too_complex is None:
            message = email.message_from_string(guarded, policy=policy.compat32)
        else:
            message = Parser(policy=policy.compat32).parsestr(guarded, headersonly=True)
            ctx.problem(CaptureProblem.UNPARSEABLE_EMAIL, too_complex)
    except Exception:  # noqa: BLE001 - RecursionError and parser bugs alike
        ctx.problem(CaptureProblem.UNPARSEABLE_EMAIL, "the message could not be parsed")
        message = None

    if message is None or not _has_headers(message):
        ctx.problem(
            CaptureProblem.UNPARSEABLE_EMAIL,
            "raw has no email headers; it was read as plain text",
        )
        _fill_text(ctx, guarded)
        return

    record = ctx.record
    name, addresses = _sender(message)
    ctx.set_sender_name(name)
    for address in addresses:
        ctx.add_email(address)
    subject = _header_str(message, "subject")
    if subject:
        decoded = _structured("subject", subject)
        subject = str(decoded) if decoded is not None else subject
        if "=?" in subject:
            subject = _decode_header_fallback(subject)
    record.subject = ctx.short(subject, "subject", SUBJECT_CAP)

    if too_complex is not None:
        return
    body = _Body(deadline=time.monotonic() + WALK_BUDGET_SECONDS)
    try:
        _walk(message, 0, body, ctx)
    except RecursionError:
        body.too_deep = True
    if body.out_of_time:
        ctx.problem(
            CaptureProblem.UNPARSEABLE_EMAIL,
            f"reading the MIME parts took over {WALK_BUDGET_SECONDS} s; "
            f"only the first {body.parts - 1} were read",
        )
    if body.too_deep:
        ctx.problem(
            CaptureProblem.UNPARSEABLE_EMAIL,
            f"multipart nesting deeper than {MAX_DEPTH} levels was not read",
        )
    if body.too_many:
        ctx.problem(
            CaptureProblem.UNPARSEABLE_EMAIL,
            f"only the first {MAX_PARTS} MIME parts were read",
        )
    _fill_text(ctx, "\n\n".join(t for t in body.texts if t.strip()))


def _fill_text(ctx: CaptureContext, text: str) -> None:
    record = ctx.record
    cleaned, cut = clean_text(text, REQUEST_TEXT_CAP + QUOTED_TEXT_CAP)
    if cut:
        ctx.note("the email body was cut before reading")
    reply = split_reply(cleaned)
    record.request_text, cut_own = clean_text(reply.own, REQUEST_TEXT_CAP)
    record.quoted_text, cut_quoted = clean_text(reply.quoted, QUOTED_TEXT_CAP)
    if cut_own:
        ctx.note(f"request_text was cut to {REQUEST_TEXT_CAP:,} characters")
    if cut_quoted:
        ctx.note(f"quoted_text was cut to {QUOTED_TEXT_CAP:,} characters")
    if not record.request_text and record.quoted_text:
        ctx.problem(
            CaptureProblem.EMPTY_REQUEST,
            "the email has no text of its own, only quoted or forwarded text",
        )
    # The signature often carries the sender's phone; quoted history carries
    # other people's details (the practice's own number), so it is not read.
    ctx.extract_from_text(record.subject or "", record.request_text, reply.signature)
