"""hypothesis: table CSVs with hostile cells, bytes, rows and headers are checked or refused, never crash.

Each example reads a mutated copy of one bundled table with the reader and checks it with the
consistency checks (with the countries and sources tables it refers to), as `raremap.load` does.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raremap.data.consistency import check_tables
from raremap.data.dataset import bundled_directory
from raremap.data.reading import read_table
from raremap.data.schema import table_schemas
from raremap.errors import Problem
from tests.hostile.strategies import HOSTILE_TEXT
from tests.hostile.tally import TALLY

pytestmark = pytest.mark.slow
TABLES = ("reserves", "production", "partnerships", "policies", "recipes", "prices")
FOLDER = Path(tempfile.mkdtemp(prefix="raremap-hostile-csv-"))
CELLS = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(["inf", "-inf", "nan", "1e308", "1e400", "-5", "1" * 40, "12 kt", "1,234", "0x10", "2024-13-45",
                     "2025-02-30", '"unclosed', "a\nb", "a,b", "=1+1", "@SUM(A1)", "ind", "Ind"]),
    st.text(max_size=30),
    st.floats().map(repr),
    st.integers().map(str),
)


def rows_of(table: str) -> list[list[str]]:
    with (bundled_directory() / f"{table}.csv").open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream))


def as_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


@st.composite
def mutated_table(draw: st.DrawFn) -> tuple[str, bytes]:
    table = draw(st.sampled_from(TABLES))
    rows = [list(row) for row in rows_of(table)]
    for _ in range(draw(st.integers(1, 4))):
        if len(rows) < 2 or not rows[0]:
            break  # cut down to a header (or nothing): nothing left to change
        change = draw(st.sampled_from(["cell", "cell", "cell", "header", "row", "duplicate", "bytes", "truncate"]))
        if change in ("cell", "header"):
            row = 0 if change == "header" else draw(st.integers(1, len(rows) - 1))
            if rows[row]:  # a blank line has no cells
                rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(CELLS)
        elif change == "row":
            rows.insert(draw(st.integers(1, len(rows))), draw(st.lists(CELLS, max_size=len(rows[0]) + 2)))
        elif change == "duplicate":
            rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
        elif change == "truncate":
            rows = rows[: draw(st.integers(0, len(rows)))]
    raw = as_csv(rows)
    if draw(st.booleans()) and draw(st.booleans()):
        position = draw(st.integers(0, len(raw)))
        raw = raw[:position] + draw(st.binary(min_size=1, max_size=6)) + raw[position:]
    return table, raw


def reference_tables() -> dict[str, object]:
    frames = {}
    for table in ("countries", "sources", "blocs"):
        frame, problems = read_table(bundled_directory() / f"{table}.csv", table_schemas()[table])
        assert frame is not None and not problems
        frames[table] = frame
    return frames


REFERENCES = reference_tables()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=mutated_table())
def test_hostile_tables_are_checked_or_refused_cleanly(case: tuple[str, bytes]) -> None:
    table, raw = case
    path = FOLDER / f"{table}.csv"
    path.write_bytes(raw)
    source = f"hypothesis CSV: {table}"
    try:
        frame, problems = read_table(path, table_schemas()[table])
        if frame is not None:
            _, check_problems = check_tables({**REFERENCES, table: frame})  # type: ignore[dict-item]
            problems = problems + check_problems
        for problem in problems:
            assert isinstance(problem, Problem) and problem.fix and len(str(problem)) < 2_000, str(problem)
    except AssertionError:
        raise
    except Exception as error:
        TALLY.record(source, "crash", f"{type(error).__name__}: {error}")
        raise
    TALLY.record(source, "clean error" if problems else "accepted")
