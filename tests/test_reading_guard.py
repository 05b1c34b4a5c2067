"""The guarded reader: every limit refuses with the source, the position and the fix."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from raremap.reading_guard import (
    REQUEST_LIMITS,
    SPECIFICATION_LIMITS,
    TABLE_LIMITS,
    InputError,
    decode_text,
    document_problems,
    parse_body,
    parse_json,
    parse_yaml,
    partial_date,
    read_bytes,
)


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def test_a_small_document_with_an_alias_reads_as_written() -> None:
    document = parse_yaml("a: &x [1, 2]\nb: *x\nstart: 2025-04-04\n", "f.yaml", SPECIFICATION_LIMITS)
    assert document == {"a": [1, 2], "b": [1, 2], "start": datetime.date(2025, 4, 4)}


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    with pytest.raises(InputError, match="holds more than 250,000 values") as caught:
        parse_yaml(alias_bomb(9), "bomb.yaml", SPECIFICATION_LIMITS)
    assert caught.value.line is not None and caught.value.line <= 6


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused_with_its_line_and_column(opening: str) -> None:
    text = "description: " + opening * 20_000
    with pytest.raises(InputError, match="nests deeper than 32 levels") as caught:
        parse_yaml(text, "deep.yaml", SPECIFICATION_LIMITS)
    assert caught.value.line == 1 and caught.value.column is not None


def test_repeated_keys_are_refused_all_at_once() -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml("name: a\nname: b\nbase: x\nbase: y\n", "dup.yaml", SPECIFICATION_LIMITS)
    message = str(caught.value)
    assert "dup.yaml line 2 column 1: key 'name' appears twice" in message and "on lines 4" in message


def test_a_merge_key_may_be_overridden() -> None:
    assert parse_yaml("base: &b {x: 1}\nitem:\n  <<: *b\n  x: 2\n", "m.yaml", SPECIFICATION_LIMITS)["item"] == {"x": 2}


@pytest.mark.parametrize("text", ["2025-02-30", "2026-13-01"])
def test_a_date_that_does_not_exist_stays_text_for_the_model_to_report(text: str) -> None:
    assert parse_yaml(f"start: {text}\n", "d.yaml", SPECIFICATION_LIMITS) == {"start": text}


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(InputError, match=r"s.yaml line 2 column 1: is not valid YAML"):
        parse_yaml("a: [1\n", "s.yaml", SPECIFICATION_LIMITS)


def test_json_depth_duplicates_and_syntax() -> None:
    with pytest.raises(InputError, match="nests deeper than 32"):
        parse_json("[" * 50_000 + "]" * 50_000, "body", REQUEST_LIMITS)
    with pytest.raises(InputError, match="key 'a' appears twice"):
        parse_json('{"a": 1, "a": 2}', "body", REQUEST_LIMITS)
    with pytest.raises(InputError, match="line 2 column 6"):
        parse_json('{"a":\n  1, ]}', "body", REQUEST_LIMITS)
    assert parse_json('{"text": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', "body", REQUEST_LIMITS)


def test_binary_and_other_encodings_are_refused_at_the_bad_byte() -> None:
    with pytest.raises(InputError, match=r"line 2 column 3 \(byte 7\): byte 0xE9 is not UTF-8"):
        decode_text(b"a: 1\nca\xe9\n", "f.yaml")
    with pytest.raises(InputError, match="binary"):
        decode_text(b"\x89PNG\r\n\x1a\n\x00\x00", "f.yaml")
    assert decode_text(b"\xef\xbb\xbfname: x", "f.yaml") == "name: x"


def test_files_larger_than_the_limit_are_refused_without_reading_them(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: 200 MB that take no disk
    with pytest.raises(InputError, match="is 209,715,200 bytes, more than the 67,108,864 a table may have"):
        read_bytes(huge, TABLE_LIMITS, "table")


def test_missing_files_and_directories(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_bytes(tmp_path / "nothing.yaml", SPECIFICATION_LIMITS, "scenario file")
    with pytest.raises(InputError, match="is a directory"):
        read_bytes(tmp_path, SPECIFICATION_LIMITS, "scenario file")


def test_non_finite_numbers_and_long_text_are_listed_by_path() -> None:
    document = {"capacity_changes": [{"capacity_t": float("nan")}], "stockpiles": [{"size_t": float("inf")}],
                "description": "x" * 20_000}
    problems = document_problems(document, SPECIFICATION_LIMITS)
    assert problems[0].startswith("capacity_changes[0].capacity_t = nan: not a finite number")
    assert problems[1].startswith("stockpiles[0].size_t = inf: not a finite number")
    assert problems[2].startswith("description: text of 20,000 characters")


def test_request_bodies_are_guarded_like_files() -> None:
    with pytest.raises(InputError, match="the request body"):
        parse_body(b"name: x\nname: y\n", "yaml")
    with pytest.raises(InputError, match="more than the 262,144"):
        parse_body(b" " * (REQUEST_LIMITS.max_bytes + 1), "json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2024", datetime.date(2024, 1, 1)), ("2024-02", datetime.date(2024, 2, 1)), ("2024-02-29", datetime.date(2024, 2, 29))],
)
def test_partial_dates(text: str, expected: datetime.date) -> None:
    assert partial_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("2024-13-45", "no month 13"), ("2025-02-29", "February 2025 has 28 days"), ("24-1-1", "is not a date")],
)
def test_dates_that_do_not_exist_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        partial_date(text)
