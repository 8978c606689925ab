"""The evaluation scores and report, on small invented cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from intake.triage.evaluate import EvaluationError, evaluate_file, format_report, score


def _labels(**overrides: Any) -> dict[str, Any]:
    labels = {
        "request_type": "billing",
        "queue": "billing",
        "urgency": "routine",
        "patient_status": "existing",
        "missing": [],
        "stop_automation": False,
    }
    labels.update(overrides)
    return labels


def _case(case_id: str, **expected: Any) -> dict[str, Any]:
    return {
        "id": case_id,
        "channel": "web_form",
        "payload": {},
        "expected": _labels(**expected),
    }


def test_perfect_predictions_score_one_everywhere() -> None:
    cases = [
        _case("a"),
        _case(
            "b",
            urgency="emergency",
            queue="nurse_review",
            request_type="symptom",
            stop_automation=True,
        ),
    ]
    result = score(cases, {c["id"]: {"id": c["id"], **c["expected"]} for c in cases})
    assert result["accuracy"] == {
        "request_type": 1.0,
        "queue": 1.0,
        "urgency": 1.0,
        "patient_status": 1.0,
    }
    assert result["urgent_recall"] == result["emergency_recall"] == 1.0
    assert result["over_triage_rate"] == 0.0
    assert result["missing_f1"] == 1.0 and result["missing_exact"] == 1.0


def test_under_triage_over_triage_and_confusions_are_counted() -> None:
    cases = [
        _case(
            "u", urgency="urgent_review", request_type="symptom", stop_automation=True
        ),
        _case("e", urgency="emergency", request_type="symptom", stop_automation=True),
        _case("r1"),
        _case("r2", urgency="soon"),
    ]
    predictions = {
        "u": _labels(urgency="routine", request_type="billing"),
        "e": _labels(
            urgency="urgent_review", request_type="symptom", stop_automation=True
        ),
        "r1": _labels(urgency="urgent_review", stop_automation=True),
        "r2": _labels(urgency="soon"),
    }
    result = score(cases, predictions)
    assert result["urgent_recall"] == 0.5
    assert result["emergency_recall"] == 0.0
    assert result["over_triage_rate"] == 0.5
    assert result["under_triaged_ids"] == ["u"]
    assert result["stop_automation_recall"] == 0.5
    assert result["stop_automation_precision"] == 0.5
    assert result["request_type_confusion"] == {"symptom->billing": 1}
    assert result["urgency_confusion"]["emergency->urgent_review"] == 1


def test_missing_f1_is_micro_averaged() -> None:
    cases = [_case("a", missing=["contact", "date_of_birth"]), _case("b")]
    predictions = {
        "a": _labels(missing=["contact"]),
        "b": _labels(missing=["insurance"]),
    }
    result = score(cases, predictions)
    # tp=1, fp=1, fn=1 -> 2/(2+1+1)
    assert result["missing_f1"] == 0.5
    assert result["missing_exact"] == 0.0


def test_a_missing_prediction_is_an_error() -> None:
    with pytest.raises(EvaluationError):
        score([_case("a")], {})


def test_report_lists_scores_and_confusions() -> None:
    cases = [_case("a", request_type="records", queue="records")]
    report = format_report(score(cases, {"a": _labels()}))
    assert "request_type accuracy" in report
    assert "records->billing" in report
    assert "urgency confusions" in report


def test_evaluate_file_classifies_and_scores(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    case: dict[str, Any] = {
        "id": "x1",
        "channel": "web_form",
        "received_at": "2026-12-07T10:00:00-06:00",
        "payload": {
            "fields": {
                "first_name": "Pat",
                "email": "pat@example.com",
                "reason": "hours",
            },
            "message": "What time do you open on Saturday?",
        },
        "expected": _labels(
            request_type="general", queue="front_desk", patient_status="unknown"
        ),
    }
    path.write_text(json.dumps(case) + "\n\n", encoding="utf-8")
    seen: list[dict[str, Any]] = []

    def fake_classify(raw: dict[str, Any]) -> dict[str, Any]:
        seen.append(raw)
        return {"id": raw["id"], **case["expected"]}

    result, report = evaluate_file(path, fake_classify)
    assert result["cases"] == 1 and result["accuracy"]["request_type"] == 1.0
    assert "expected" not in seen[0]
    assert "cases" in report


def test_unreadable_lines_are_reported_without_their_content(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "secret": "Jane Roe"\n', encoding="utf-8")
    with pytest.raises(EvaluationError) as info:
        evaluate_file(path, lambda raw: raw)
    assert "Jane" not in str(info.value)
