"""Writing result files so that a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from raremap.errors import RaremapError


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
