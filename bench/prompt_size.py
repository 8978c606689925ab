"""Prompt-size benchmark: the AI model's input tokens per dev-set request.

Builds the real prompts (``blocks.model.render_prompts``: redacted text, the
four prompts of ``config/prompts/``) for every request of the dev set and
estimates their input tokens from the prompt text as characters / 4, the usual
rule of thumb for English with Claude tokenizers; a word-based estimate
(words x 4/3) is printed beside it as a cross-check. No API is called.

The structured-output JSON schema travels in the request too
(``output_config``) and the API counts it as input; its estimate is printed
separately, because it is the same for every request of a prompt.

    .venv/bin/python bench/prompt_size.py                 # summary table
    .venv/bin/python bench/prompt_size.py --per-request   # one line per request
    .venv/bin/python bench/prompt_size.py --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from blocks.model import (
    PROMPT_NAMES,
    MissingAnswer,
    ReplyAnswer,
    RoutingAnswer,
    SummaryAnswer,
    render_prompts,
)
from intake.capture import capture_request
from intake.models import TriageResult

DEV_SET = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "dev.jsonl"
TARGET_MEDIAN = 600
SCHEMAS: dict[str, type[BaseModel]] = {
    "routing": RoutingAnswer,
    "missing": MissingAnswer,
    "summary": SummaryAnswer,
    "reply": ReplyAnswer,
}


def chars_estimate(text: str) -> int:
    return round(len(text) / 4)


def words_estimate(text: str) -> int:
    return round(len(text.split()) * 4 / 3)


def percentile(values: list[int], share: float) -> int:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def rules_for(record: Any) -> TriageResult | None:
    """The rules' decision (it fills the missing/reply prompts), if triage exists."""
    try:
        from intake.triage import triage
    except ImportError:
        return None
    return triage(record)


def schema_tokens() -> dict[str, int]:
    from anthropic import transform_schema

    return {
        name: chars_estimate(json.dumps(transform_schema(model)))
        for name, model in SCHEMAS.items()
    }


def measure(path: Path) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    triage_used = True
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        record = capture_request(case)
        rules = rules_for(record)
        triage_used = triage_used and rules is not None
        prompts = render_prompts(record, rules)
        row: dict[str, Any] = {"id": case.get("id"), "channel": case.get("channel")}
        for name in PROMPT_NAMES:
            row[name] = chars_estimate(prompts[name].text)
            row[f"{name}_words"] = words_estimate(prompts[name].text)
        rows.append(row)

    summary: dict[str, Any] = {}
    for name in PROMPT_NAMES:
        values = [r[name] for r in rows]
        words = [r[f"{name}_words"] for r in rows]
        summary[name] = {
            "median": int(statistics.median(values)),
            "p90": percentile(values, 0.9),
            "max": max(values),
            "median_words_estimate": int(statistics.median(words)),
        }
    per_request = [sum(r[n] for n in PROMPT_NAMES[:3]) for r in rows]
    summary["live_request_total"] = {
        "median": int(statistics.median(per_request)),
        "p90": percentile(per_request, 0.9),
        "note": "routing + missing + summary (the default calls per request)",
    }
    return {
        "requests": len(rows),
        "estimate": "characters / 4 of system + user prompt text",
        "rules_source": "intake.triage"
        if triage_used
        else "none (routing-only labels)",
        "target_median": TARGET_MEDIAN,
        "prompts": summary,
        "schema_tokens": schema_tokens(),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-set", type=Path, default=DEV_SET)
    parser.add_argument("--per-request", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.dev_set.exists():
        print(f"dev set not found: {args.dev_set}", file=sys.stderr)
        return 2

    result = measure(args.dev_set)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if args.per_request:
        print("id         channel    " + " ".join(f"{n:>8}" for n in PROMPT_NAMES))
        for row in result["rows"]:
            cells = " ".join(f"{row[n]:>8}" for n in PROMPT_NAMES)
            print(f"{row['id']:<10} {row['channel']:<10} {cells}")
        print()

    print(f"{result['requests']} dev requests; input tokens estimated as "
          f"{result['estimate']}; rules: {result['rules_source']}")  # fmt: skip
    print(f"{'prompt':<10} {'median':>7} {'p90':>6} {'max':>6} {'words est.':>11} "
          f"{'+ schema':>9}")  # fmt: skip
    for name in PROMPT_NAMES:
        s = result["prompts"][name]
        schema = result["schema_tokens"][name]
        print(f"{name:<10} {s['median']:>7} {s['p90']:>6} {s['max']:>6} "
              f"{s['median_words_estimate']:>11} {schema:>9}")  # fmt: skip
    total = result["prompts"]["live_request_total"]
    print(f"per live request (routing+missing+summary): median {total['median']}, "
          f"p90 {total['p90']}")  # fmt: skip
    worst = max(result["prompts"][n]["median"] for n in PROMPT_NAMES)
    verdict = "meets" if worst <= TARGET_MEDIAN else "MISSES"
    print(f"largest prompt median {worst} {verdict} the target of {TARGET_MEDIAN}")
    return 0 if worst <= TARGET_MEDIAN else 1


if __name__ == "__main__":
    sys.exit(main())
