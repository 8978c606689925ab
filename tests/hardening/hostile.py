"""Checks the hardening tests share: what a stored record may never contain.

"Active HTML" is judged with Python's own HTML parser, not with the product's
regular expressions, so the check does not repeat the code it tests: a stored
text is active when a browser that received it as HTML would build an element
that runs script (script, iframe, object...), an ``on*`` event handler, or a
``javascript:`` URL. Tag-like text made inert ("< script") parses as text.
"""

from __future__ import annotations

import gc
import re
import time
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any, TypeVar

T = TypeVar("T")

RUNNING_TAGS = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
     "link", "meta", "style", "svg", "math", "form", "template", "noscript"}
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc",
     "background", "poster", "dynsrc", "lowsrc"}
)  # fmt: skip
_URL_NOISE = re.compile(r"[\s\x00-\x1f]+")
# Characters no stored text may hold: NUL and other controls (tab and
# newline aside), zero-width and bidirectional controls, lone surrogates.
FORBIDDEN_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
    "\ud800-\udfff]"
)


class _ActiveFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in RUNNING_TAGS:
            self.found.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= handler on <{tag}>")
            url = _URL_NOISE.sub("", value or "").lower()
            if name in URL_ATTRIBUTES and url.startswith(("javascript:", "vbscript:")):
                self.found.append(f"script URL in {name}= of <{tag}>")

    def handle_startendtag(
        self, tag: str, attrs: list[tuple[str, str | None]]
    ) -> None:
        self.handle_starttag(tag, attrs)


def active_html(value: str) -> list[str]:
    """What in ``value`` would run if a browser rendered it as HTML."""
    if "<" not in value:
        return []
    finder = _ActiveFinder()
    finder.feed(value)
    finder.close()
    return finder.found


def stored_strings(value: Any, path: str = "record") -> list[tuple[str, str]]:
    """Every (field path, text) in a model dump, however deeply nested."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for key, child in value.items():
            out += stored_strings(child, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        out = []
        for index, child in enumerate(value):
            out += stored_strings(child, f"{path}[{index}]")
        return out
    return []


def record_problems(record: Any) -> list[str]:
    """Active HTML or forbidden characters anywhere in a stored record."""
    problems = []
    for path, text in stored_strings(record.model_dump(mode="json")):
        problems += [f"{path}: {found}" for found in active_html(text)]
        bad = FORBIDDEN_CHARS.search(text)
        if bad:
            name = unicodedata.name(bad.group(), f"U+{ord(bad.group()):04X}")
            problems.append(f"{path}: holds {name}")
    return problems


def cpu_timed(
    work: Callable[[], T], budget: float, attempts: int = 3
) -> tuple[T, float]:
    """Run ``work``; its result and the CPU seconds it took.

    CPU time, with the collector paused, because the test process is shared:
    its wall clock depends on the machine's load and a garbage collection
    pass on how many objects the other tests left alive, neither on the
    input. Over ``budget``, it runs again (up to ``attempts`` times) and the
    fastest run counts; a hang or a quadratic parse is over budget every time.
    """
    best: float | None = None
    result: Any = None
    for _ in range(attempts):
        gc.disable()
        try:
            started = time.process_time()
            result = work()
            elapsed = time.process_time() - started
        finally:
            gc.enable()
        best = elapsed if best is None else min(best, elapsed)
        if best < budget:
            break
    assert best is not None
    return result, best
