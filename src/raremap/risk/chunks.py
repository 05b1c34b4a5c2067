"""Chunk files: each finished chunk of draws is one Parquet file, written atomically, checked on resume.

The files themselves are the record of progress: chunk `k` holds exactly draws
``k * chunk_size`` up to the next chunk's first draw, and exists only once complete (written under
a temporary name, flushed, then renamed). A run folder also holds ``run.json``, which pins what the
draws depend on (risk file, data, seed, draws, chunk size) so that a resume cannot mix runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from raremap.errors import RaremapError

MANIFEST = "run.json"
CHUNK_PATTERN = "chunk-{index:06d}.parquet"
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class ChunkPlan:
    """Which draws each chunk holds."""

    draws: int
    chunk_size: int

    @property
    def count(self) -> int:
        return -(-self.draws // self.chunk_size)

    def bounds(self, index: int) -> tuple[int, int]:
        start = index * self.chunk_size
        return start, min(start + self.chunk_size, self.draws)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.count))


def chunk_path(directory: Path, index: int) -> Path:
    return directory / CHUNK_PATTERN.format(index=index)


def fingerprint_hash(fingerprint: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()


def write_chunk(directory: Path, index: int, table: pa.Table) -> Path:
    """Write a chunk under a temporary name, flush it to disk, then rename it into place."""
    target = chunk_path(directory, index)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    try:
        with open(partial, "wb") as handle:
            pq.write_table(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise RaremapError(
            f"cannot write {target}: {error.strerror or error}; every chunk before it is saved, so free space "
            "(or fix the folder's permissions) and continue with --resume"
        ) from error
    return target


BYTES_PER_DRAW = 4096
"""A generous size of one draw in a chunk file (measured: about 2 KB with the default risk file)."""
SPARE_BYTES = 16 * 1024 * 1024


def check_output_folder(directory: Path, draws: int) -> None:
    """Refuse, before the first draw, an --out that cannot hold the run: a file, read-only, or too little space."""
    if directory.exists() and not directory.is_dir():
        raise RaremapError(f"--out {directory} is a file; give a folder for the draws")
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise RaremapError(f"--out {directory}: {existing} is a file, so the folder cannot be created there")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RaremapError(f"--out {directory}: {existing} is read-only; choose a folder you can write to")
    needed = draws * BYTES_PER_DRAW + SPARE_BYTES
    free = shutil.disk_usage(existing).free
    if free < needed:
        raise RaremapError(
            f"--out {directory}: {free / 1e6:,.0f} MB free on its disk, but {draws:,} draws need about "
            f"{needed / 1e6:,.0f} MB; free space or choose another folder"
        )


def chunk_problem(path: Path, start: int, stop: int) -> str | None:
    """Why a chunk file cannot be trusted (unreadable, or not exactly its draws), or None if it is sound."""
    try:
        draws = pq.read_table(path, columns=["draw"]).column("draw").to_pylist()
    except (OSError, pa.ArrowException, KeyError) as error:
        return f"unreadable ({type(error).__name__}: {str(error)[:120]})"
    if draws != list(range(start, stop)):
        return f"holds {len(draws)} draws, not draws {start}-{stop - 1} in order"
    return None


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    partial = directory / (MANIFEST + PARTIAL_SUFFIX)
    try:
        partial.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(partial, directory / MANIFEST)
    except OSError as error:
        raise RaremapError(f"cannot write {directory / MANIFEST}: {error.strerror or error}; choose another --out") from error


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        raise RaremapError(f"{directory} holds no run to resume ({MANIFEST} is missing); start it without --resume")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RaremapError(f"{path} is not valid JSON ({error}); start the run again in an empty folder") from error
    return manifest


def prepare_folder(directory: Path, manifest: dict[str, Any], resume: bool) -> None:
    """Create the run folder, or check on resume that it holds the same run; drop partial files."""
    directory.mkdir(parents=True, exist_ok=True)
    for partial in directory.glob(f"*{PARTIAL_SUFFIX}"):
        partial.unlink()
    existing = (directory / MANIFEST).exists() or any(directory.glob("chunk-*.parquet"))
    if not resume:
        if existing:
            raise RaremapError(
                f"{directory} already holds a run; continue it with --resume or give another --out folder"
            )
        write_manifest(directory, manifest)
        return
    previous = read_manifest(directory)
    if previous.get("format", 1) != manifest.get("format"):
        raise RaremapError(
            f"cannot resume {directory}: it was written in run format {previous.get('format', 1)} and this raremap "
            f"writes format {manifest.get('format')} (format 3 records shortfall per sector and period in the sector's "
            "unit, t magnet or t REO, over the horizon), "
            "so its chunks cannot be mixed with new ones; start the run again in another (or an emptied) --out folder"
        )
    for key in ("seed", "draws", "chunk_size", "fingerprint"):
        if previous.get(key) != manifest.get(key):
            raise RaremapError(
                f"cannot resume {directory}: its {key} is {previous.get(key)!r} but this run's is {manifest.get(key)!r}; "
                "resume with the same risk file, data, --draws, --seed and --chunk-size, or use another --out folder"
            )


def pending_chunks(directory: Path, plan: ChunkPlan) -> tuple[list[int], list[str]]:
    """Chunks still to compute, and a message for every corrupt chunk file found (and removed)."""
    pending, reports = [], []
    for index in plan:
        path = chunk_path(directory, index)
        if not path.exists():
            pending.append(index)
            continue
        problem = chunk_problem(path, *plan.bounds(index))
        if problem is not None:
            reports.append(f"chunk file {path.name} is corrupt: {problem}; recomputing its draws")
            path.unlink()
            pending.append(index)
    return pending, reports


def chunk_files(directory: Path, plan: ChunkPlan) -> list[Path]:
    """Every chunk file of a finished run, in draw order; refuses an incomplete run."""
    paths = [chunk_path(directory, index) for index in plan]
    missing = [path.name for path in paths if not path.exists()]
    if missing:
        raise RaremapError(f"run in {directory} is incomplete ({len(missing)} chunks missing); finish it with --resume")
    return paths
