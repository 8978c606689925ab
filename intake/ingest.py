"""Ingest: store arriving requests in the app database under opaque intake ids.

Nothing is lost: a line that is not valid JSON is stored as it came and
becomes a labelled ``needs_review`` record at capture.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from intake.store import IntakeStore


@dataclass
class IngestResult:
    batch_id: str
    intake_ids: list[str] = field(default_factory=list)
    new: int = 0
    already_seen: int = 0


def intake_id_for_line(line: str) -> tuple[str, str, str]:
    """(intake id, source id, channel) for one raw line, valid JSON or not."""
    from intake.capture import intake_id_for

    try:
        data = json.loads(line)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("id"), str | int) and str(
        data.get("id")
    ).strip():
        source_id = str(data["id"])[:200]
        channel = str(data.get("channel") or "unknown")[:40]
        return intake_id_for(channel, source_id), source_id, channel
    digest = hashlib.sha256(line.encode("utf-8", "replace")).hexdigest()
    return intake_id_for("unknown", digest), f"sha256:{digest[:16]}", "unknown"


def iter_request_lines(paths: Iterable[Path]) -> Iterator[str]:
    """Request lines from .jsonl files, .json files (one object or a list), dirs."""
    for path in paths:
        if path.is_dir():
            yield from iter_request_lines(
                sorted(p for p in path.iterdir() if p.suffix in {".jsonl", ".json"})
            )
            continue
        if path.suffix == ".json":
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                data = json.loads(text)
            except ValueError:
                yield text
                continue
            for item in data if isinstance(data, list) else [data]:
                yield json.dumps(item, ensure_ascii=False)
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip():
                    yield line.rstrip("\n")


def _storable(line: str) -> str:
    """The line as text a database can hold.

    A JSON escape such as "\\ud800" decodes to a lone surrogate, which no
    UTF-8 column accepts; a .json file read and dumped again one request per
    line carries it raw. It is escaped back, so the line still means the same.
    """
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "backslashreplace").decode("utf-8")
    return line


def ingest_lines(store: IntakeStore, lines: Iterable[str],
                 batch_id: str | None = None) -> IngestResult:
    result = IngestResult(batch_id=batch_id or f"b-{uuid.uuid4().hex[:12]}")
    for line in lines:
        intake_id, source_id, channel = intake_id_for_line(line)
        body = _storable(line)
        if store.ingest(intake_id, source_id, channel, body, result.batch_id):
            result.new += 1
        else:
            result.already_seen += 1
        result.intake_ids.append(intake_id)
    return result


def ingest_files(store: IntakeStore, paths: Iterable[Path],
                 batch_id: str | None = None) -> IngestResult:
    return ingest_lines(store, iter_request_lines(paths), batch_id)
