"""Capture step: text hygiene shared by every channel (clean, cap, de-HTML)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Caps per kind of text field. Longer text is cut (and the cut is noted in
# capture_detail), never rejected.
REQUEST_TEXT_CAP = 50_000
QUOTED_TEXT_CAP = 50_000
SUBJECT_CAP = 1_000
REASON_CAP = 2_000
NOTE_CAP = 500
SHORT_CAP = 200
NAME_CAP = 100
TOKEN_CAP = 100

# HTML above this many characters is cut before conversion: the pure-Python
# parser would otherwise dominate the time budget on a multi-megabyte body.
HTML_INPUT_CAP = 300_000

_REMOVED_CODEPOINTS: list[int] = (
    [c for c in range(0x00, 0x20) if c not in (0x09, 0x0A)]
    + [0x7F]
    + list(range(0x80, 0xA0))  # C1 controls
    + [0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF]
    + [0x180E, 0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0]
    + [0x200E, 0x200F, 0x061C]  # directional marks
    + list(range(0x202A, 0x202F))  # bidi embeddings and overrides
    + list(range(0x2066, 0x206A))  # bidi isolates
    + list(range(0xD800, 0xE000))  # lone surrogates (json.loads lets them in)
    + list(range(0xFFF9, 0xFFFC))  # interlinear annotation controls
)
_TRANSLATION: dict[int, str | None] = dict.fromkeys(_REMOVED_CODEPOINTS)
_TRANSLATION[0x0D] = "\n"  # CR and CRLF become LF (CRLF is handled first)
_TRANSLATION[0x2028] = "\n"
_TRANSLATION[0x2029] = "\n"
_TRANSLATION[0x00A0] = " "

# Tags whose presence marks a text as HTML to convert. Unknown angle-bracket
# text such as "<jane@example.com>" or "<3" is left alone.
_HTML_MARKER_RE = re.compile(
    r"<\s*/?\s*(?:html|head|body|div|p|br|span|script|style|a|b|i|u|em|strong|"
    r"font|table|tbody|thead|tr|td|th|ul|ol|li|img|iframe|frame|object|embed|"
    r"h[1-6]|blockquote|pre|meta|link|form|input|button|svg|math|center|hr|"
    r"title|noscript|textarea|select|option|label|section|article|header|"
    r"footer|nav|code|sup|sub|small|big|base|template|video|audio|source)"
    r"(?=[\s/>])[^<>]{0,1000}>|<!--|<!doctype",
    re.IGNORECASE,
)
# What an HTML parser would read as the start of a tag, comment or
# declaration; a space after the "<" makes it inert text. A browser reads any
# "<" plus an ASCII letter as a tag, whatever follows ("<x:y onclick=...>",
# very long or non-ASCII names), so only one shape is left alone: a run like
# "<ann@example.com>" that is no element name and ends at ">" with no
# attributes, which is common in email text and cannot carry a handler.
_TAG_OPEN_RE = re.compile(
    r"<(?=/?[A-Za-z]|[!?])"
    r"(?![A-Za-z][A-Za-z0-9-]*[^A-Za-z0-9\s<>/=\"'`-][^\s<>/=\"'`]*>)"
)
_TRAILING_SPACE_RE = re.compile(r"[ \t]+\n")
_MANY_NEWLINES_RE = re.compile(r"\n{3,}")
_WHITESPACE_RE = re.compile(r"\s+")


def strip_controls(value: str) -> str:
    """Remove control, zero-width, bidi-override and surrogate characters."""
    return value.replace("\r\n", "\n").translate(_TRANSLATION)


def looks_like_html(value: str) -> bool:
    return _HTML_MARKER_RE.search(value) is not None


def neutralize_markup(value: str) -> str:
    """Make any remaining tag-like text inert ("<script" -> "< script")."""
    if "<" not in value:
        return value
    return _TAG_OPEN_RE.sub("< ", value)


def clean_text(
    value: str, cap: int, *, single_line: bool = False, allow_html: bool = True
) -> tuple[str, bool]:
    """Hygiene for one text field: returns (clean text, whether it was cut).

    Control and invisible characters go, HTML becomes plain text, tag-like
    leftovers are made inert, and the result is at most ``cap`` characters.
    Work is bounded by the cap, so a 20 MB string costs about as much as one
    of a few hundred kilobytes.
    """
    truncated = False
    budget = cap * 4 + 4_096
    if len(value) > budget:
        value = value[:budget]
        truncated = True
    value = strip_controls(value)
    if allow_html and looks_like_html(value):
        value = html_to_text(value)
    if single_line:
        value = _WHITESPACE_RE.sub(" ", value).strip()
    else:
        value = _TRAILING_SPACE_RE.sub("\n", value)
        value = _MANY_NEWLINES_RE.sub("\n\n", value).strip()
    value = neutralize_markup(value)
    if len(value) > cap:
        value = value[:cap].rstrip()
        truncated = True
    return value, truncated


_SKIP_TAGS = frozenset(
    {"script", "style", "head", "title", "noscript", "template", "svg", "math"}
)
# Tags that end a paragraph (a blank line) or a line.
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table",
     "pre", "hr", "dl", "address", "center", "form"}
)  # fmt: skip
_LINE_TAGS = frozenset(
    {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer",
     "nav", "body", "html", "main", "aside", "figure", "figcaption"}
)  # fmt: skip


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML document, one list entry per line.

    Lines inside <blockquote> are marked so the quote splitter can move them
    to quoted_text like "> " lines of a plain-text reply.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, bool]] = []
        self._current: list[str] = []
        self._current_quoted = False
        self._skip_depth = 0
        self._quote_depth = 0
        self._pre_depth = 0

    def _newline(self, *, hard: bool = False) -> None:
        """End the current line; a hard break (<br>) ends even an empty one."""
        text = "".join(self._current).strip()
        if text or hard:
            self.lines.append((text, self._current_quoted))
        self._current = []
        self._current_quoted = self._quote_depth > 0

    def _paragraph(self) -> None:
        self._newline()
        if self.lines and self.lines[-1][0]:
            self.lines.append(("", False))

    def _boundary(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._paragraph()
        elif tag in _LINE_TAGS:
            self._newline()
        elif tag == "br":
            self._newline(hard=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
            return
        self._boundary(tag)
        if tag == "blockquote":
            self._quote_depth += 1
            self._current_quoted = True
        elif tag == "pre":
            self._pre_depth += 1
        elif tag == "li":
            self._current.append("- ")
        elif tag in ("td", "th"):
            self._current.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag != "br":
            self._boundary(tag)
        if tag == "blockquote":
            self._quote_depth = max(0, self._quote_depth - 1)
            self._current_quoted = self._quote_depth > 0
        elif tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._newline(hard=True)
                self._current.append(part)
            return
        text = _WHITESPACE_RE.sub(" ", data)
        if text.strip():
            if self._quote_depth:
                self._current_quoted = True
            self._current.append(text)
        elif text and self._current:
            self._current.append(" ")

    def text(self) -> str:
        self._newline()
        out: list[str] = []
        for line, quoted in self.lines:
            out.append(f"> {line}" if quoted and line else line)
        return "\n".join(out)


# A "<" that no ">" closes before the next "<" starts no tag a browser would
# show. HTMLParser rescans the rest of the input for each one (quadratic:
# 80 KB of "<a<a<a..." took 6 s), so such a "<" is escaped to text first.
_UNCLOSED_LT_RE = re.compile(r"<(?=[^<>]*(?:<|\Z))")
_CRUDE_TAG_RE = re.compile(r"<[^<>]{0,2000}>")
_CRUDE_SKIP_RE = re.compile(
    r"<(script|style)\b[^<>]{0,1000}>[^<]{0,100000}</\1\s*>", re.IGNORECASE
)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment or document (scripts and styles dropped).

    Line breaks follow <br>, <p>, <div>, list items and table rows; entities
    are unescaped. Text inside <blockquote> comes out as "> " lines.
    """
    if len(markup) > HTML_INPUT_CAP:
        markup = markup[:HTML_INPUT_CAP]
    markup = _UNCLOSED_LT_RE.sub("&lt;", markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
        text = parser.text()
    except Exception:  # noqa: BLE001 - a crude strip still yields readable text
        text = _CRUDE_SKIP_RE.sub(" ", markup)
        text = html.unescape(_CRUDE_TAG_RE.sub(" ", text))
    text = strip_controls(text)
    text = _TRAILING_SPACE_RE.sub("\n", text)
    return _MANY_NEWLINES_RE.sub("\n\n", text).strip()


def one_line(value: str) -> str:
    return _WHITESPACE_RE.sub(" ", value).strip()
