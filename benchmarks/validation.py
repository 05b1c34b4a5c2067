"""Benchmark: validation time of the bundled dataset and of the same dataset doubled; prints JSON.

"Doubled" writes every table twice over (each row repeated once), the case that exposed the
quadratic key check in issue 18: every second row is then a duplicate, every share group sums to
2, and trade exceeds production everywhere, so validation reports tens of thousands of problems.
Validation must stay linear: the doubled dataset in at most 2.5 times the original's time. The
peer is the original, measured in the same run (median of `--repeats`).

Usage: python benchmarks/validation.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from raremap.data.dataset import bundled_directory, load
from raremap.errors import ConsistencyError

LINEAR_LIMIT = 2.5


def doubled_copy(directory: Path) -> Path:
    """Every bundled table with each data row written twice."""
    for source in sorted(bundled_directory().glob("*.csv")):
        header, *rows = source.read_text(encoding="utf-8").splitlines(keepends=True)
        (directory / source.name).write_text(header + "".join(rows) + "".join(rows), encoding="utf-8")
    return directory


def validation_seconds(directory: Path | None) -> tuple[float, int]:
    """Seconds to load and check a dataset, and the number of problems it has."""
    began = time.perf_counter()
    try:
        load(directory)
        problems = 0
    except ConsistencyError as error:
        problems = len(error.problems)
    return time.perf_counter() - began, problems


def median_seconds(directory: Path | None, repeats: int) -> tuple[float, int]:
    timings = [validation_seconds(directory) for _ in range(repeats)]
    return statistics.median(seconds for seconds, _ in timings), timings[0][1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    rows = sum(len(path.read_text(encoding="utf-8").splitlines()) - 1 for path in bundled_directory().glob("*.csv"))
    validation_seconds(None)  # warm imports and schema caches
    with tempfile.TemporaryDirectory(prefix="raremap-doubled-") as folder:
        doubled = doubled_copy(Path(folder))
        original_seconds, original_problems = median_seconds(None, arguments.repeats)
        doubled_seconds, doubled_problems = median_seconds(doubled, arguments.repeats)
    ratio = doubled_seconds / original_seconds
    print(json.dumps({
        "benchmark": "validation",
        "rows_original": rows,
        "rows_doubled": 2 * rows,
        "original_seconds": round(original_seconds, 3),
        "original_problems": original_problems,
        "doubled_seconds": round(doubled_seconds, 3),
        "doubled_problems": doubled_problems,
        "ratio": round(ratio, 2),
        "linear_limit": LINEAR_LIMIT,
        "linear": ratio <= LINEAR_LIMIT,
    }, indent=2))


if __name__ == "__main__":
    main()
