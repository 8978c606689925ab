"""Measure triage on labelled cases: the contract's scores and a report.

A practice measures the classifier on its own labelled examples (the
contract's case format: a raw request plus ``"expected"``) with
``intake eval CASES.jsonl``, which calls :func:`evaluate_file`.

Scores (same definitions as the contract's scorer):

- accuracy per label field (request_type, queue, urgency, patient_status);
- urgent_recall: of cases labelled urgent_review or emergency, the share
  predicted urgent_review or emergency; emergency_recall likewise for
  emergency alone;
- over_triage_rate: of cases labelled routine or soon, the share predicted
  urgent_review or emergency;
- stop_automation recall and precision;
- missing_f1 (micro F1 over the listed details) and missing_exact;
- the request_type confusions and the ids of under-triaged cases.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

LABEL_FIELDS = ("request_type", "queue", "urgency", "patient_status")
_RANK = {"routine": 0, "soon": 1, "urgent_review": 2, "emergency": 3}
_URGENT = 2


class EvaluationError(Exception):
    """A cases file cannot be read or a prediction is missing (safe message)."""


def _share(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def score(
    cases: list[dict[str, Any]], predictions: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Score ``predictions`` (by case id) against the cases' ``expected`` labels."""
    right: Counter[str] = Counter()
    type_pairs: Counter[tuple[str, str]] = Counter()
    urgency_pairs: Counter[tuple[str, str]] = Counter()
    tp = fp = fn = exact = 0
    urgent = urgent_found = emergency = emergency_found = 0
    calm = over = 0
    stop_expected = stop_predicted = stop_both = 0
    under: list[str] = []

    for case in cases:
        want = case["expected"]
        got = predictions.get(case["id"])
        if got is None:
            raise EvaluationError(f"no prediction for case {case['id']}")
        for field in LABEL_FIELDS:
            right[field] += int(want[field] == got[field])
        type_pairs[(want["request_type"], got["request_type"])] += 1
        urgency_pairs[(want["urgency"], got["urgency"])] += 1

        expected_missing, predicted_missing = set(want["missing"]), set(got["missing"])
        tp += len(expected_missing & predicted_missing)
        fp += len(predicted_missing - expected_missing)
        fn += len(expected_missing - predicted_missing)
        exact += int(expected_missing == predicted_missing)

        want_rank, got_rank = _RANK[want["urgency"]], _RANK[got["urgency"]]
        if want["urgency"] == "emergency":
            emergency += 1
            emergency_found += int(got["urgency"] == "emergency")
        if want_rank >= _URGENT:
            urgent += 1
            if got_rank >= _URGENT:
                urgent_found += 1
            else:
                under.append(case["id"])
        else:
            calm += 1
            over += int(got_rank >= _URGENT)

        stop_expected += int(bool(want["stop_automation"]))
        stop_predicted += int(bool(got["stop_automation"]))
        stop_both += int(bool(want["stop_automation"]) and bool(got["stop_automation"]))

    total = len(cases)
    f1_denominator = 2 * tp + fp + fn
    return {
        "cases": total,
        "accuracy": {f: _share(right[f], total) for f in LABEL_FIELDS},
        "urgent_recall": _share(urgent_found, urgent),
        "emergency_recall": _share(emergency_found, emergency),
        "over_triage_rate": _share(over, calm),
        "stop_automation_recall": _share(stop_both, stop_expected),
        "stop_automation_precision": _share(stop_both, stop_predicted),
        "missing_f1": _share(2 * tp, f1_denominator) if f1_denominator else 1.0,
        "missing_exact": _share(exact, total),
        "under_triaged_ids": under,
        "request_type_confusion": {
            f"{a}->{b}": n for (a, b), n in sorted(type_pairs.items()) if a != b
        },
        "urgency_confusion": {
            f"{a}->{b}": n for (a, b), n in sorted(urgency_pairs.items()) if a != b
        },
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def format_report(result: dict[str, Any]) -> str:
    """A plain-text score table with the request_type and urgency confusions."""
    rows = [("cases", str(result["cases"]))]
    rows += [
        (f"{field} accuracy", _fmt(value))
        for field, value in result["accuracy"].items()
    ]
    for key in (
        "urgent_recall",
        "emergency_recall",
        "over_triage_rate",
        "stop_automation_recall",
        "stop_automation_precision",
        "missing_f1",
        "missing_exact",
    ):
        rows.append((key.replace("_", " "), _fmt(result[key])))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    for title, key in (
        ("request_type confusions (expected->predicted)", "request_type_confusion"),
        ("urgency confusions (expected->predicted)", "urgency_confusion"),
    ):
        lines.append("")
        lines.append(title + ":")
        pairs = sorted(result[key].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.extend(f"  {pair:<{width}}  {count}" for pair, count in pairs)
        if not pairs:
            lines.append("  none")
    if result["under_triaged_ids"]:
        lines.append("")
        lines.append("under-triaged case ids: " + " ".join(result["under_triaged_ids"]))
    return "\n".join(lines)


def read_cases(path: str | Path) -> list[dict[str, Any]]:
    """Labelled cases from a JSONL file (each line a request with ``expected``)."""
    cases = []
    try:
        with Path(path).open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    case = json.loads(line)
                except json.JSONDecodeError:
                    raise EvaluationError(f"line {number} is not valid JSON") from None
                if (
                    not isinstance(case, dict)
                    or "id" not in case
                    or not isinstance(case.get("expected"), dict)
                ):
                    raise EvaluationError(
                        f"line {number} needs an 'id' and an 'expected' object"
                    )
                cases.append(case)
    except OSError as exc:
        raise EvaluationError(f"cannot read {path}: {exc.strerror}") from None
    return cases


def predict(
    cases: Iterable[dict[str, Any]],
    classify: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Predictions by case id, with the offline triage by default."""
    if classify is None:
        from intake.triage import classify_case

        classify = classify_case
    out = {}
    for case in cases:
        raw = {k: v for k, v in case.items() if k != "expected"}
        out[case["id"]] = classify(raw)
    return out


def evaluate_file(
    path: str | Path, classify: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> tuple[dict[str, Any], str]:
    """Classify every case in ``path`` and score it: (scores, printable report)."""
    cases = read_cases(path)
    result = score(cases, predict(cases, classify))
    return result, format_report(result)
