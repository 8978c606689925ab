"""Benchmark: capture and triage every case of a JSONL file in one process.

Usage: python bench/triage_speed.py CASES.jsonl [--repeat N]

Prints figures (requests per second, wall-clock and CPU seconds), not a
pass/fail verdict. The first round includes loading the vocabulary
(config/triage/*.yaml); later rounds reuse its caches. On a busy machine the
CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    lines = [
        line
        for line in args.cases.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    raws = [json.loads(line) for line in lines]
    for raw in raws:
        raw.pop("expected", None)

    from intake.capture import capture_request
    from intake.triage import triage

    for round_number in range(1, args.repeat + 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        records = [capture_request(raw) for raw in raws]
        captured = time.perf_counter()
        for record in records:
            triage(record)
        done, cpu_done = time.perf_counter(), time.process_time()
        total = done - start
        print(
            f"round {round_number}: {len(raws)} requests in {total:.3f} s wall, "
            f"{cpu_done - cpu_start:.3f} s CPU ({len(raws) / total:.0f} requests/s; "
            f"capture {captured - start:.3f} s, triage {done - captured:.3f} s)"
        )


if __name__ == "__main__":
    main()
