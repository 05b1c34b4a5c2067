"""Helpers shared by tests: copies of the bundled tables that a test can break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from raremap.data.dataset import bundled_directory


def copy_table(table: str, directory: Path) -> Path:
    """Copy one bundled table into `directory` (an override folder) and return its path."""
    target = directory / f"{table}.csv"
    shutil.copy(bundled_directory() / f"{table}.csv", target)
    return target


def read_text_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_text_table(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")
