"""Reading a run folder back for comparisons."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq


def read_run(folder: Path, with_evaluation: bool = False) -> pd.DataFrame:
    """Every chunk of a run folder, concatenated in draw order (the evaluation label left out by default:
    it says how a draw was obtained, which depends on what a worker had cached, not what it is)."""
    frames = [pq.read_table(path).to_pandas() for path in sorted(folder.glob("chunk-*.parquet"))]
    frame = pd.concat(frames, ignore_index=True).sort_values("draw", kind="stable").reset_index(drop=True)
    return frame if with_evaluation else frame.drop(columns=["evaluation"])
