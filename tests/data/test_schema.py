"""The schema files are themselves consistent: every table, key and allowed-value list resolves."""

from __future__ import annotations

from raremap.data.schema import DTYPES, table_schemas, vocabularies


def test_every_table_has_its_key_columns_in_its_schema() -> None:
    for schema in table_schemas().values():
        assert schema.key, schema.name
        for column in schema.key:
            assert column in schema.column_names, (schema.name, column)


def test_every_share_column_and_group_exists() -> None:
    for schema in table_schemas().values():
        if schema.share_column:
            assert schema.share_column in schema.column_names
            assert all(column in schema.column_names for column in schema.share_group)


def test_dtypes_and_allowed_values_resolve() -> None:
    schemas = table_schemas()
    for schema in schemas.values():
        for column in schema.columns:
            assert column.dtype in DTYPES, (schema.name, column.name)
            for alternative in column.allowed:
                kind, _, target = alternative.partition(":")
                if kind == "vocab":
                    assert target in vocabularies(), alternative
                else:
                    assert kind == "ref", alternative
                    table, _, referenced = target.partition(".")
                    assert referenced in schemas[table].column_names, alternative


def test_every_table_but_sources_carries_provenance() -> None:
    for name, schema in table_schemas().items():
        if name != "sources":
            assert {"source_id", "quality", "method"} <= set(schema.column_names), name
