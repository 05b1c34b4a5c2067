"""The Dataset: every table, checked, typed and versioned by a hash of its content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from raremap.data.consistency import check_tables
from raremap.data.reading import closest, read_table
from raremap.data.schema import table_schemas
from raremap.errors import ConsistencyError, Problem, RaremapError


def bundled_directory() -> Path:
    """The folder of the tables shipped inside the package."""
    return Path(str(resources.files("raremap.data").joinpath("tables")))


@dataclass(frozen=True)
class Dataset:
    """All tables of one dataset, typed by the schema; immutable once loaded.

    Index a dataset by table name (``dataset["production"]``) to get a copy of that table.
    """

    tables: Mapping[str, pd.DataFrame]
    origin: str = "bundled"
    version: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "version", content_version(self.tables))

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self.tables:
            raise RaremapError(f"unknown table {table!r}; tables are {', '.join(self.tables)}")
        return self.tables[table].copy()

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __repr__(self) -> str:
        rows = sum(len(frame) for frame in self.tables.values())
        return f"Dataset(origin={self.origin!r}, version={self.version[:12]}, tables={len(self.tables)}, rows={rows})"

    def source_counts(self) -> pd.DataFrame:
        """Each source with how many rows cite it, by quality."""
        citations = [
            frame[["source_id", "quality"]].assign(table=name)
            for name, frame in self.tables.items()
            if name != "sources"
        ]
        cited = pd.concat(citations, ignore_index=True)
        counts = cited.pivot_table(
            index="source_id", columns="quality", values="table", aggfunc="count", fill_value=0
        )
        counts = counts.reindex(columns=["reported", "derived", "estimated"], fill_value=0)
        counts["rows"] = counts.sum(axis=1)
        sources = self.tables["sources"].set_index("source_id")[["title", "publisher", "year", "url"]]
        result = sources.join(counts, how="left").fillna(
            {"reported": 0, "derived": 0, "estimated": 0, "rows": 0}
        )
        for column in ("reported", "derived", "estimated", "rows"):
            result[column] = result[column].astype("int64")
        return result.reset_index()

    def quality_summary(self) -> pd.DataFrame:
        """Counts of reported, derived and estimated rows per table, with the age of the data.

        Tables with an `as_of` column also show the oldest, median and newest `as_of` (the date a fact
        was true or last reported, as YYYY, YYYY-MM or YYYY-MM-DD); tables without one show none.
        """
        rows = []
        for name, frame in self.tables.items():
            if name == "sources":
                continue
            counts = frame["quality"].value_counts()
            oldest, median, newest = data_age(frame)
            rows.append(
                {
                    "table": name,
                    "reported": int(counts.get("reported", 0)),
                    "derived": int(counts.get("derived", 0)),
                    "estimated": int(counts.get("estimated", 0)),
                    "rows": len(frame),
                    "as_of_oldest": oldest,
                    "as_of_median": median,
                    "as_of_newest": newest,
                }
            )
        return pd.DataFrame(rows)


def data_age(frame: pd.DataFrame) -> tuple[str, str, str]:
    """Oldest, median and newest `as_of` of a table ('' where the table has no such column).

    Dates of different precision sort as text (2024 < 2024-06 < 2025-01), which orders them by the
    earliest day they can mean; the median is the middle value in that order.
    """
    if "as_of" not in frame.columns:
        return "", "", ""
    dates = sorted(str(value) for value in frame["as_of"].dropna())
    if not dates:
        return "", "", ""
    return dates[0], dates[len(dates) // 2], dates[-1]


def content_version(tables: Mapping[str, pd.DataFrame]) -> str:
    """SHA-256 over every table's name, columns and row hashes in sorted order: the dataset's version.

    Equal content in any row order gives the same version. Rows are hashed by pandas
    (`hash_pandas_object`, a keyed SipHash of each value): an order of magnitude faster than writing
    the tables out as canonical text, which cost a first run a quarter of a second.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update("\0".join([name, *map(str, frame.columns), ""]).encode())
        digest.update(np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    return digest.hexdigest()


def _table_files(directory: Path) -> tuple[dict[str, Path], list[Problem]]:
    schemas = table_schemas()
    files: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() != ".csv":
            continue
        if path.stem in schemas:
            files[path.stem] = path
        else:
            suggestion = closest(path.stem, list(schemas))
            fix = f"rename it to {suggestion}.csv" if suggestion else f"tables are {', '.join(schemas)}"
            problems.append(Problem(path.name, "is not a raremap table", fix))
    return files, problems


def read_tables(directory: str | Path | None = None) -> tuple[dict[str, pd.DataFrame], list[Problem], str]:
    """Read the bundled tables, with any tables in `directory` replacing the bundled ones."""
    files, _ = _table_files(bundled_directory())
    problems: list[Problem] = []
    origin = "bundled"
    if directory is not None:
        user_directory = Path(directory)
        if not user_directory.is_dir():
            what = "is a file, not a directory" if user_directory.exists() else "does not exist"
            raise RaremapError(f"data directory {user_directory} {what}; give a folder of table CSV files")
        user_files, problems = _table_files(user_directory)
        if not user_files and not problems:
            raise RaremapError(
                f"data directory {user_directory} holds no table CSV files; name them after the tables "
                f"({', '.join(table_schemas())})"
            )
        files.update(user_files)
        origin = f"{user_directory} over bundled ({', '.join(sorted(user_files))})"
    missing = [name for name in table_schemas() if name not in files]
    for name in missing:
        problems.append(Problem(f"{name}.csv", "is missing from the dataset", f"add {name}.csv"))
    raw_tables: dict[str, pd.DataFrame] = {}
    for name, path in files.items():
        frame, table_problems = read_table(path, table_schemas()[name])
        problems += table_problems
        if frame is not None:
            raw_tables[name] = frame
    return raw_tables, problems, origin


def load(directory: str | Path | None = None) -> Dataset:
    """Load and check the bundled dataset, optionally overridden by tables in `directory`.

    Raises ConsistencyError listing every problem; nothing is returned half-checked.
    """
    raw_tables, problems, origin = read_tables(directory)
    tables, check_problems = check_tables(raw_tables)
    problems += check_problems
    if problems:
        raise ConsistencyError(problems)
    return Dataset(tables=tables, origin=origin)
