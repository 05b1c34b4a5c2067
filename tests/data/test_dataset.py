"""The Dataset is typed by the schema, immutable, and versioned by content."""

from __future__ import annotations

import pandas as pd
import pytest

from raremap.data.dataset import Dataset
from raremap.data.schema import table_schemas
from raremap.errors import RaremapError


def test_bundled_data_validates_with_every_table(dataset: Dataset) -> None:
    assert set(dataset) == set(table_schemas())
    assert all(len(dataset[table]) > 0 for table in dataset)


def test_columns_carry_the_schema_types(dataset: Dataset) -> None:
    production = dataset["production"]
    assert pd.api.types.is_float_dtype(production["value_t"])
    assert pd.api.types.is_integer_dtype(production["year"])


def test_tables_handed_out_are_copies(dataset: Dataset) -> None:
    frame = dataset["reserves"]
    frame.loc[frame.index[0], "value_t"] = -1.0
    assert (dataset["reserves"]["value_t"] >= 0).all()


def test_the_version_depends_on_content_not_on_row_order(dataset: Dataset) -> None:
    shuffled = {name: frame.sample(frac=1.0, random_state=1) for name, frame in dataset.tables.items()}
    assert Dataset(tables=shuffled).version == dataset.version
    changed = dict(dataset.tables)
    changed["reserves"] = changed["reserves"].assign(value_t=changed["reserves"]["value_t"] + 1)
    assert Dataset(tables=changed).version != dataset.version


def test_unknown_table_names_list_the_tables(dataset: Dataset) -> None:
    with pytest.raises(RaremapError, match="production"):
        dataset["prodution"]


def test_every_cited_source_has_title_url_and_year(dataset: Dataset) -> None:
    sources = dataset["sources"]
    assert sources[["title", "publisher", "url", "year", "accessed"]].notna().all().all()
    cited = pd.concat([dataset[table]["source_id"] for table in dataset if table != "sources"])
    assert set(cited) <= set(sources["source_id"])


def test_quality_summary_counts_every_row(dataset: Dataset) -> None:
    summary = dataset.quality_summary()
    for row in summary.itertuples():
        assert row.reported + row.derived + row.estimated == row.rows == len(dataset[row.table])


def test_source_counts_match_the_citations(dataset: Dataset) -> None:
    counts = dataset.source_counts().set_index("source_id")["rows"]
    cited = pd.concat([dataset[table]["source_id"] for table in dataset if table != "sources"]).value_counts()
    assert dict(counts[counts > 0]) == dict(cited)
