"""Reading stored runs (simulations, risk runs, plans) back from the DuckDB store for the report.

The store keeps each run's named result frames as JSON. This module lists a run's result names
(the store API reads one result at a time) and gathers a run into one object, so the sections
that draw runs never touch SQL. Run kinds are matched loosely (`simulate`, `simulation`) because
each engine names its kind; see docs/report.md for the result names each section looks for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from raremap.data import store
from raremap.errors import RaremapError

KIND_PREFIXES = {"simulate": ("sim",), "risk": ("risk", "monte"), "plan": ("plan",)}


@dataclass(frozen=True)
class StoredRun:
    """One run from the store with every result frame it saved."""

    run_id: str
    kind: str
    name: str
    dataset_version: str
    created_at: str
    specification: dict[str, Any]
    summary: dict[str, Any]
    results: dict[str, pd.DataFrame]

    @property
    def family(self) -> str:
        """`simulate`, `risk`, `plan` or the stored kind when it is none of those."""
        return run_family(self.kind)

    @property
    def importer(self) -> str:
        value = self.specification.get("importer") or self.summary.get("importer") or "IND"
        return str(value)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.run_id[:8]})"


def run_family(kind: str) -> str:
    lowered = kind.lower()
    for family, prefixes in KIND_PREFIXES.items():
        if lowered.startswith(prefixes):
            return family
    return lowered


def _json_mapping(text: object) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(str(text)) if text is not None else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _result_names(path: Path, run_id: str) -> list[str]:
    with store.connect(path, read_only=True) as connection:
        rows = connection.execute(
            "SELECT result FROM run_results WHERE run_id = ? ORDER BY result", [run_id]
        ).fetchall()
    return [str(row[0]) for row in rows]


def _catalog(path: Path) -> pd.DataFrame:
    with store.connect(path, read_only=True) as connection:
        tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        if "runs" not in tables:
            return pd.DataFrame(
                columns=[
                    "run_id",
                    "kind",
                    "name",
                    "dataset_version",
                    "created_at",
                    "specification",
                    "summary",
                ]
            )
        return connection.execute(
            "SELECT run_id, kind, name, dataset_version, CAST(created_at AS VARCHAR) AS created_at, "
            "CAST(specification AS VARCHAR) AS specification, CAST(summary AS VARCHAR) AS summary "
            "FROM runs ORDER BY created_at, run_id"
        ).df()


def read_runs(path: str | Path, run_ids: Sequence[str] | None = None) -> list[StoredRun]:
    """The runs in the store (all, or those named), oldest first, with their results.

    A run id may be given in full or as a unique prefix, as the CLI prints the first eight characters.
    """
    path = Path(path)
    catalog = _catalog(path)
    if run_ids:
        catalog = catalog[
            [any(_matches(run_id, wanted, catalog) for wanted in run_ids) for run_id in catalog["run_id"]]
        ]
    runs = []
    for row in catalog.to_dict("records"):
        results = {
            name: store.read_run_result(row["run_id"], name, path)
            for name in _result_names(path, row["run_id"])
        }
        runs.append(
            StoredRun(
                run_id=row["run_id"],
                kind=row["kind"],
                name=row["name"],
                dataset_version=row["dataset_version"],
                created_at=str(row["created_at"]),
                specification=_json_mapping(row["specification"]),
                summary=_json_mapping(row["summary"]),
                results=results,
            )
        )
    return runs


def _matches(run_id: str, wanted: str, catalog: pd.DataFrame) -> bool:
    """Whether `run_id` is the run meant by `wanted`: the same id, or the one id it is a prefix of."""
    if run_id == wanted:
        return True
    if wanted in set(catalog["run_id"]):
        return False
    prefixed = [candidate for candidate in catalog["run_id"] if candidate.startswith(wanted)]
    if len(prefixed) > 1:
        raise RaremapError(f"run id {wanted!r} matches {len(prefixed)} runs; give more characters")
    return prefixed == [run_id]


def check_requested(runs: Sequence[StoredRun], run_ids: Sequence[str], path: str | Path) -> None:
    """Fail, naming them, when some requested run ids are not in the store."""
    missing = [wanted for wanted in run_ids if not any(run.run_id.startswith(wanted) for run in runs)]
    if missing:
        raise RaremapError(
            f"run {', '.join(missing)} not in store {path}; list the stored runs with the dashboard or "
            "`raremap report --db PATH` without --run"
        )


def value_column(frame: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    """The first of `candidates` that is a column of `frame`; None if there is none."""
    return next((column for column in candidates if column in frame.columns), None)
