"""BACI files in CEPII's exact layout become a trade table in raremap's layout."""

from __future__ import annotations

from pathlib import Path

import pytest

import raremap
from raremap.data import baci
from raremap.errors import RaremapError

BACI_ROWS = """t,i,j,k,v,q
2022,156,699,280530,  1234.5,  150.25
2022,156,699,284690,500,NA
2022,842,699,284610,20.0,4.5
2022,156,392,850511,9000.0,1200.0
2022,156,392,720712,1.0,1.0
"""
COUNTRY_CODES = """country_code,country_name,country_iso2,country_iso3
156,China,CN,CHN
699,India,IN,IND
842,USA,US,USA
392,Japan,JP,JPN
"""


@pytest.fixture
def baci_files(tmp_path: Path) -> tuple[Path, Path]:
    trade = tmp_path / "BACI_HS92_Y2022_V202401b.csv"
    codes = tmp_path / "country_codes_V202401b.csv"
    trade.write_text(BACI_ROWS)
    codes.write_text(COUNTRY_CODES)
    return trade, codes


def test_rare_earth_codes_map_to_stages_with_tonnes_and_dollars(baci_files: tuple[Path, Path]) -> None:
    trade, _ = baci.read_baci(*baci_files, accessed="2026-11-25")
    rows = {(row.exporter, row.importer, row.hs_code): row for row in trade.itertuples()}
    assert set(rows) == {("CHN", "IND", "280530"), ("USA", "IND", "284610"), ("CHN", "JPN", "850511")}
    metal = rows[("CHN", "IND", "280530")]
    assert (metal.stage, metal.element, metal.value_t, metal.value_usd) == (
        "metal",
        "REO",
        150.25,
        1_234_500.0,
    )
    assert rows[("CHN", "JPN", "850511")].stage == "magnet"
    assert set(trade["quality"]) == {"reported"} and set(trade["source_id"]) == {baci.SOURCE_ID}


def test_the_import_is_a_valid_data_override(baci_files: tuple[Path, Path], tmp_path: Path) -> None:
    trade, source = baci.read_baci(*baci_files, accessed="2026-11-25")
    directory = baci.write_import(trade, source, tmp_path / "override")
    dataset = raremap.load(directory)
    assert len(dataset["trade"]) == 3
    assert baci.SOURCE_ID in set(dataset["sources"]["source_id"])


def test_a_file_with_the_wrong_columns_is_refused(tmp_path: Path, baci_files: tuple[Path, Path]) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("year,exporter,importer,product,value\n2022,156,699,280530,1\n")
    with pytest.raises(RaremapError, match="lacks columns t, i, j, k, v, q"):
        baci.read_baci(wrong, baci_files[1], accessed="2026-11-25")


def test_unknown_country_codes_name_the_code_file(tmp_path: Path, baci_files: tuple[Path, Path]) -> None:
    trade_path, codes = baci_files
    trade_path.write_text("t,i,j,k,v,q\n2022,999,699,280530,1,1\n")
    with pytest.raises(RaremapError, match="999"):
        baci.read_baci(trade_path, codes, accessed="2026-11-25")


def test_a_non_numeric_quantity_names_its_line(tmp_path: Path, baci_files: tuple[Path, Path]) -> None:
    trade_path, codes = baci_files
    trade_path.write_text("t,i,j,k,v,q\n2022,156,699,280530,1,1\n2022,156,699,280530,1,lots\n")
    with pytest.raises(RaremapError, match="line 3 column q: 'lots'"):
        baci.read_baci(trade_path, codes, accessed="2026-11-25")
