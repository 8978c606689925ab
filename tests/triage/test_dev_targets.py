"""The offline triage meets the targets on the shared development set.

Reads ../shared/eval/dev.jsonl beside the repository and skips cleanly when it
is absent. Also checks that our scorer agrees with the contract's scorer.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from intake.triage import classify_case
from intake.triage.evaluate import read_cases, score

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
DEV = SHARED / "eval" / "dev.jsonl"
SCORER = SHARED / "eval" / "score.py"

TARGETS = {
    "urgent_recall": 1.0,
    "emergency_recall": 1.0,
    "stop_automation_recall": 1.0,
}
MINIMUMS = {
    "request_type": 0.95,
    "queue": 0.95,
    "patient_status": 0.92,
    "urgency": 0.90,
}


@pytest.fixture(scope="module")
def dev_result() -> tuple[
    list[dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any]
]:
    if not DEV.exists():
        pytest.skip(f"{DEV} is not available (only beside the development repo)")
    try:
        from intake.capture import capture_request  # noqa: F401
    except ImportError:
        pytest.skip("intake.capture is not available yet")
    cases = read_cases(DEV)
    predictions = {
        c["id"]: classify_case({k: v for k, v in c.items() if k != "expected"})
        for c in cases
    }
    return cases, predictions, score(cases, predictions)


def test_dev_set_safety_targets_hold(dev_result: Any) -> None:
    _cases, _preds, result = dev_result
    for key, target in TARGETS.items():
        assert result[key] == target, (key, result["under_triaged_ids"])
    assert result["over_triage_rate"] <= 0.08
    assert result["stop_automation_precision"] >= 0.90


def test_dev_set_label_accuracy_targets_hold(dev_result: Any) -> None:
    _cases, _preds, result = dev_result
    for field, minimum in MINIMUMS.items():
        assert result["accuracy"][field] >= minimum, (field, result)
    assert result["missing_f1"] >= 0.95


def test_our_scorer_agrees_with_the_contract_scorer(dev_result: Any) -> None:
    if not SCORER.exists():
        pytest.skip("the contract scorer is not available")
    spec = importlib.util.spec_from_file_location("contract_score", SCORER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cases, predictions, ours = dev_result
    # Compare on deliberately imperfect predictions, so disagreements show.
    worse = {cid: dict(p) for cid, p in predictions.items()}
    for i, cid in enumerate(sorted(worse)):
        if i % 7 == 0:
            worse[cid]["urgency"] = "routine"
            worse[cid]["missing"] = []
        if i % 11 == 0:
            worse[cid]["request_type"] = "general"
            worse[cid]["stop_automation"] = not worse[cid]["stop_automation"]
    theirs = module.score(cases, worse)
    mine = score(cases, worse)
    for key in (
        "accuracy",
        "urgent_recall",
        "emergency_recall",
        "over_triage_rate",
        "stop_automation_recall",
        "stop_automation_precision",
        "missing_f1",
        "missing_exact",
        "under_triaged_ids",
        "request_type_confusion",
    ):
        assert mine[key] == theirs[key], key
    assert json.dumps(ours["accuracy"])  # the real run produced a full report
