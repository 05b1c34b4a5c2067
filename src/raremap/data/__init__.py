"""The bundled dataset: schema, reading, checks, the Dataset container and the DuckDB store."""

from raremap.data.dataset import Dataset, load

__all__ = ["Dataset", "load"]
