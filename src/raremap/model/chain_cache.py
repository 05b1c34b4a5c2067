"""Built supply chains kept on disk, so a second run on the same data and settings starts at once.

Building a chain from the tables includes a solve of the base year (calibration and the base-year
flows of trade), a few seconds. The result depends only on the dataset's content, the build options
and the model's code, so it is stored under a key made of the three: a dataset or code change makes
a new key, never a stale answer. The folder is ``$RAREMAP_CACHE`` or ``~/.cache/raremap``; setting
``RAREMAP_CACHE=off`` turns the disk cache off. A file that cannot be read is rebuilt, not trusted.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from functools import cache
from pathlib import Path

from raremap.model.supply_chain import SupplyChain

MODEL_PACKAGE = Path(__file__).resolve().parent


@cache
def code_version() -> str:
    """A digest of the model package's source: any change to how chains are built gives new keys."""
    digest = hashlib.sha256()
    for path in sorted(MODEL_PACKAGE.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_folder() -> Path | None:
    setting = os.environ.get("RAREMAP_CACHE", "")
    if setting.lower() == "off":
        return None
    return Path(setting) if setting else Path.home() / ".cache" / "raremap"


def cached_chain(dataset_version: str, options_key: str, build: Callable[[], SupplyChain]) -> SupplyChain:
    """The chain for a dataset version and options: from disk when built before, else built and stored."""
    folder = cache_folder()
    if folder is None:
        return build()
    name = hashlib.sha256(f"{dataset_version}|{options_key}|{code_version()}".encode()).hexdigest()[:32]
    path = folder / f"chain-{name}.pickle"
    try:
        with path.open("rb") as handle:
            chain = pickle.load(handle)
        if isinstance(chain, SupplyChain):
            return chain
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    chain = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(chain, handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)
    except OSError:
        pass  # a read-only or full disk only costs the next run its head start
    return chain
