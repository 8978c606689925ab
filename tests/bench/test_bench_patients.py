"""A small run of the patient-matching benchmark holds the product's targets."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "patients.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_patients", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_small_run_meets_the_false_merge_and_recall_targets(
    bench: ModuleType,
) -> None:
    result = bench.run(n=1500, dup_rate=0.10, seed=11)

    assert result["records"] == 1500
    assert result["duplicates"] >= 140
    assert result["false_merge_rate"] <= bench.TARGET_FALSE_MERGE_RATE
    assert result["duplicate_recall_staff_assisted"] >= bench.TARGET_DUPLICATE_RECALL
    assert (
        result["duplicate_recall_strict_link"]
        < result["duplicate_recall_staff_assisted"]
    )  # swapped dates and typos reach staff, not a silent link


def test_generated_records_are_fictitious(bench: ModuleType) -> None:
    arrivals = bench.generate(300, 0.1, 0.25, seed=3)
    for arrival in arrivals:
        contact = arrival.record.contact
        for phone in contact.phones:
            digits = "".join(c for c in phone if c.isdigit())
            assert digits[-7:-2] == "55501"  # the fictional 555-01xx block
        for email in contact.emails:
            assert email.lower().endswith(("@example.com", "@example.org"))


def test_json_output_is_parseable(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench.main(["--records", "400", "--seed", "5", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    assert {
        "false_merge_rate",
        "duplicate_recall_strict_link",
        "duplicate_recall_staff_assisted",
        "ambiguous_rate",
        "records_per_second",
    } <= result.keys()
