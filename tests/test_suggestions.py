"""Suggestions rank real names by how people mistype them."""

from __future__ import annotations

import pytest

import raremap
from raremap.suggestions import closest, did_you_mean, edit_distance, ranked


@pytest.fixture(scope="module")
def codes(dataset: raremap.Dataset) -> list[str]:
    return list(dataset["countries"]["country"])


@pytest.mark.parametrize(("typed", "meant"), [("CNH", "CHN"), ("aus", "AUS"), ("AUX", "AUS"), ("Idn", "IDN")])
def test_a_mistyped_code_gets_the_code_meant(codes: list[str], typed: str, meant: str) -> None:
    assert closest(typed, codes) == meant


def test_a_swap_counts_as_one_edit() -> None:
    assert edit_distance("CNH", "CHN") == 1 and edit_distance("CNH", "PCN") == 2


def test_garbage_gets_no_suggestion(codes: list[str]) -> None:
    assert ranked("x" * 20_000, codes) == [] and closest("QQQQQQ", codes) is None


def test_the_fix_lists_alternatives_or_says_where_names_are(codes: list[str]) -> None:
    assert did_you_mean("CNH", codes, "country").startswith("did you mean 'CHN'?")
    assert "countries.csv" in did_you_mean("QQQ", codes, "country")
    assert did_you_mean("Zz", ["Nd", "Dy"], "element") == "use one of the elements: Dy, Nd"
