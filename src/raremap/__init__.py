"""raremap: rare-earth supply-chain strategy as numbers you can trace to a source."""

from raremap.data.dataset import Dataset, load
from raremap.errors import ConsistencyError, Problem, RaremapError

__version__ = "0.1.0"
__all__ = ["ConsistencyError", "Dataset", "Problem", "RaremapError", "__version__", "load"]
