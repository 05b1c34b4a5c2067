"""Writing result files so that a reader never sees half a file, and CSV that a spreadsheet cannot run.

A spreadsheet treats a cell starting with `=`, `+`, `-` or `@` as a formula, so a scenario or
source named `=HYPERLINK("http://...")` would become a live link (or worse) in the analyst's copy
of a table. Every CSV raremap writes goes through `csv_text`, which prefixes such text with `'`
(the spreadsheet convention for "this is text"); numbers such as -5 are left alone.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from raremap.errors import RaremapError

FORMULA_START = r"^[=+\-@\t\r]"


def output_directory(path: str | Path) -> Path:
    """Create (if needed) and return an output folder, with a clear error if that is impossible."""
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise RaremapError(f"output path {directory} is a file; give a folder for the results")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RaremapError(
            f"cannot create output folder {directory}: {error.strerror}; choose another --out"
        ) from error
    return directory


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp makes files private; results are not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _neutral_column(values: pd.Series) -> pd.Series:
    """A column whose text cells cannot start a formula; numbers and empty cells unchanged."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    present = values.notna()
    text = values.where(present, "").astype(str)
    risky = present & text.str.contains(FORMULA_START, regex=True) & pd.to_numeric(text, errors="coerce").isna()
    if not risky.any():
        return values
    return values.where(~risky, "'" + text)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cannot be taken for a formula (see the module docstring)."""
    safe = frame.copy()
    safe.columns = pd.Index([_neutral_column(pd.Series([str(column)])).iloc[0] for column in frame.columns])
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        neutral = _neutral_column(column)
        if neutral is not column:
            safe.isetitem(position, neutral.astype(object).to_numpy())
    return safe


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV text raremap writes for a table: no index, Unix line ends, no formula-starting text."""
    return spreadsheet_safe(frame).to_csv(index=False, lineterminator="\n")


def write_csv_atomic(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write a table as safe CSV (see `csv_text`), atomically."""
    return write_text_atomic(path, csv_text(frame))
