"""Merge source rows from a CSV file into the bundled sources table.

Several people (and scripts) add sources at once, so the merge holds a file lock,
keeps rows sorted by source_id and refuses a source_id whose fields differ from the
row already there (rename one of them instead).

Usage: python scripts/add_sources.py NEW_ROWS.csv
"""

from __future__ import annotations

import csv
import fcntl
import sys
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[1] / "src" / "raremap" / "data" / "tables" / "sources.csv"
COLUMNS = ["source_id", "title", "publisher", "url", "year", "accessed", "licence"]


def merge(new_rows_path: Path) -> int:
    with open(SOURCES.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(SOURCES, newline="", encoding="utf-8") as handle:
            rows = {row["source_id"]: row for row in csv.DictReader(handle)}
        with open(new_rows_path, newline="", encoding="utf-8") as handle:
            new_rows = list(csv.DictReader(handle))
        for row in new_rows:
            row = {column: (row.get(column) or "").strip() for column in COLUMNS}
            existing = rows.get(row["source_id"])
            if existing is not None and existing != row:
                raise SystemExit(
                    f"source_id {row['source_id']!r} already exists with different fields: "
                    f"{existing} vs {row}; choose another source_id"
                )
            rows[row["source_id"]] = row
        with open(SOURCES, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            for source_id in sorted(rows):
                writer.writerow(rows[source_id])
    return len(new_rows)


if __name__ == "__main__":
    print(f"merged {merge(Path(sys.argv[1]))} rows into {SOURCES}")
