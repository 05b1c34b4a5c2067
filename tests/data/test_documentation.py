"""docs/data.md is generated from the schema and the data, and is up to date."""

from __future__ import annotations

from pathlib import Path

from raremap.data.dataset import Dataset
from raremap.data.documentation import method_templates, render_data_reference
from raremap.data.schema import table_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def test_the_data_reference_lists_every_table_and_column(dataset: Dataset) -> None:
    page = render_data_reference(dataset)
    for name, schema in table_schemas().items():
        assert f"## `{name}`" in page
        for column in schema.columns:
            assert f"| `{column.name}` |" in page


def test_every_estimation_method_appears(dataset: Dataset) -> None:
    page = render_data_reference(dataset)
    for name in dataset:
        if name != "sources":
            for method in method_templates(dataset[name])["method"]:
                assert method.replace("|", "\\|").replace("\n", " ") in page


def test_docs_data_md_is_current(dataset: Dataset) -> None:
    assert DOCS.read_text(encoding="utf-8") == render_data_reference(dataset), (
        "docs/data.md is stale: run python scripts/generate_data_docs.py"
    )
