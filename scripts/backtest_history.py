"""Append the back-test episodes' base-year history to the bundled tables (idempotent).

The rows are the data behind the episodes in src/raremap/backtest/episodes/: the 2010 base year
of the Chinese export-quota episode, and the 2023 magnet trade and world demand the 2024 Kachin
episode's base year needs. Each row cites a source and says how it was made. Rows whose key is already in a table are
skipped, so the script can be rerun after a rebase; columns a table does not have yet (the data
contract's `as_of`) are dropped, columns a table has that a row lacks are left empty.

    python scripts/backtest_history.py          # append what is missing
    python scripts/backtest_history.py --check  # exit 1 if anything is missing
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

TABLES = Path(__file__).resolve().parents[1] / "src" / "raremap" / "data" / "tables"

KEYS = {
    "sources": ["source_id"],
    "production": ["country", "stage", "element", "year", "series"],
    "trade": ["exporter", "importer", "stage", "element", "year", "hs_code"],
    "prices": ["element", "form", "market", "year"],
    "demand": ["country", "sector", "element", "year", "path"],
}

ACCESSED = "2026-12-05"

SOURCES = [
    dict(source_id="ccr_2011_china_ndfeb_2010", title="Status Quo and Outlook for China's NdFeB Magnet Industry (China sintered NdFeB output 2001-2010; 2010 exports by destination)", publisher="China Chemical Reporter", url="https://ccr.com.cn/c/2011-08-17/629694.shtml", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="wsj_2011_china_ree_exports_2010", title="China's rare-earth exports slide, still bust quota (2010 exports 39,813 t, quota 30,258 t, value $939.72 million; China Customs Statistics Information Centre)", publisher="The Wall Street Journal (via reactionsearch.com)", url="https://www.reactionsearch.com/chinas-rare-earth-exports-slide-still-bust-quota/", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="fiercewireless_2011_china_ree_export_value", title="China triples rare earth export income (2010 value $939.7 million vs $310.1 million in 2009; Reuters, China Customs Statistics)", publisher="FierceWireless (Reuters)", url="https://www.fiercewireless.com/europe/china-triples-rare-earth-export-income", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="chinadaily_2010_moc_exports_japan", title="Nearly half of China's rare earth exports go to Japan in first 9 months: MOC (32,200 t Jan-Sep 2010; Japan 16,000 t, 49.8 %; US 6,200 t, 19 %)", publisher="China Daily (Xinhua)", url="http://covid-19.chinadaily.com.cn/business/2010-11/16/content_11559088.htm", year="2010", accessed=ACCESSED, licence=""),
    dict(source_id="wsj_2011_japan_imports_2010", title="Japan sustains Chinese rare earth imports (Trade Minister Ohata: about 20,000 t from China in 2010, basically unchanged from 2009)", publisher="The Wall Street Journal, China Real Time", url="http://blogs.wsj.com/chinarealtime/2011/01/06/japan-sustains-chinese-rare-earth-imports/", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="peoplesdaily_2012_ree_exports_2011", title="China announces first batch of 2013 rare earth export quota (2011 exports 18,600 t, 60 % of the quota, per MIIT; 2012 quota about 31,000 t)", publisher="People's Daily Online", url="http://en.people.cn/90778/8077165.html", year="2012", accessed=ACCESSED, licence=""),
    dict(source_id="reuters_2011_quota_2011_2012", title="China sets first 2012 rare earth export quota at 10,546 t (full-year 2011 quota 30,184 t)", publisher="Reuters", url="http://uk.reuters.com/article/china-rareearth-idUKL3E7NR3HF20111227", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="eworks_2012_quota_2012", title="China announces second rare earth export quota for 2012 (full-year 2012 quota 30,996 t)", publisher="eWorks Global (Xinhua)", url="http://eworksglobal.com/View/Article/NewsDetail.aspx?id=7218", year="2012", accessed=ACCESSED, licence=""),
    dict(source_id="sina_2012_japan_ree_imports", title="Japan fears China may limit rare earth export again (Nikkei: Japan's 2011 imports 15,400 t, -34 %; H1 2012 from China 3,007 t, 49.3 %)", publisher="Sina English", url="http://english.sina.com/world/2012/0912/506068.html", year="2012", accessed=ACCESSED, licence=""),
    dict(source_id="wharton_2014_japan_china_ree", title="Catch-22: rare earths trade poses challenges for China and Japan (Japan's direct imports from China from more than 80 % before 2010 to below 60 % in 2012, Ministry of Finance)", publisher="Knowledge at Wharton", url="http://knowledge.wharton.upenn.edu/article/catch-22-rare-earths-trade-poses-challenges-for-china-and-japan/", year="2014", accessed=ACCESSED, licence=""),
    dict(source_id="sprecher_2017_ree_resilience", title="Novel indicators for the quantification of resilience in critical material supply chains, with a 2010 rare earth crisis case study (Environ. Sci. Technol. 51(7), 3860-3870)", publisher="Sprecher, Daigo, Spekkink, Vos, Kleijn, Murakami, Kramer", url="https://doi.org/10.1021/acs.est.6b05751", year="2017", accessed=ACCESSED, licence=""),
    dict(source_id="usgs_mcs_2016_ree", title="Mineral Commodity Summaries 2016: Rare Earths (yearend prices 2011-2015)", publisher="U.S. Geological Survey", url="https://docslib.org/doc/1659904/mineral-commodity-summaries-2016", year="2016", accessed=ACCESSED, licence="Public domain (U.S. Government work)"),
    dict(source_id="usgs_2011_production_2010_indexmundi", title="World production of rare earth metals, 2010 (China 130,000 t, 97 %; India 2 %, Brazil 0.42 %, Malaysia 0.27 %; USGS figures)", publisher="IndexMundi (from USGS Mineral Commodity Summaries 2011)", url="https://www.indexmundi.com/blog/index.php/tag/rare-earth-metals/", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="cecorp_usgs_2010_china_india", title="Rare earth (REE): China 130,000 t and India 2,700 t REO in 2010 (USGS)", publisher="Canadian Exploration Corp (reporting USGS)", url="http://www.cecorp.ca/en/future-energy/rare-earth-ree/", year="2011", accessed=ACCESSED, licence=""),
    dict(source_id="reuters_2025_magnet_exports_nov", title="China's rare-earth magnet exports hit second-highest ever in November (6,150 t; Jan-Nov 2025 51,440 t, -2 % y/y)", publisher="Astro Awani (Reuters)", url="https://international.astroawani.com/global-news/chinas-rareearth-magnet-exports-hit-secondhighest-ever-nov-552629", year="2025", accessed=ACCESSED, licence=""),
    dict(source_id="reuters_2026_china_ree_exports_2025", title="China's rare earth exports in 2025 highest since 2014 (62,585 t, +12.9 %; General Administration of Customs)", publisher="Energy News / OE Digital (Reuters)", url="https://energynews.oedigital.com/mining/2026/01/14/chinas-rare-earth-exports-to-2025-are-at-their-highest-level-since-2014-despite-restrictions", year="2026", accessed=ACCESSED, licence=""),
    dict(source_id="reuters_2025_china_ree_trade_2024", title="China's rare earth exports in 2024 climb as home demand limited (exports 55,431 t; imports 132,931 t, -24.4 %; imports from Myanmar -31.6 % Jan-Nov)", publisher="NewsFromRSS (Reuters)", url="https://newsfromrss.com/chinas-rare-earth-exports-in-2024-climb-as-home-demand-limited", year="2025", accessed=ACCESSED, licence=""),
    dict(source_id="wsj_2025_magnet_exports_may", title="Chinese rare earth exports collapsed 74% YoY in May (1,238 t, -52.9 % m/m; WSJ analysis of customs data)", publisher="Automotive World (The Wall Street Journal)", url="https://www.automotiveworld.com/news/chinese-rare-earth-exports-collapsed-74-yoy-in-may/", year="2025", accessed=ACCESSED, licence=""),
    dict(source_id="argus_2025_dy_tb_europe", title="Overseas rare earth prices soar (Argus: 99.5 % Dy oxide in Europe 700-1,000 USD/kg on 6 May 2025 from 250-310 a month earlier)", publisher="GMTEight (Argus)", url="https://gmteight.com/latest/detail/282683", year="2025", accessed=ACCESSED, licence=""),
    dict(source_id="chemradar_2025_mofcom_70", title="MOFCOM and GAC Announcement No. 70 of 2025: suspension of Announcements 55-58, 61 and 62 until 10 November 2026", publisher="ChemRadar", url="https://www.chemradar.com/en/news/detail/f3s7t2oy9qf4", year="2025", accessed=ACCESSED, licence=""),
    dict(source_id="reuters_2025_myanmar_kia_imports", title="Myanmar rebels disrupt China rare earth trade (Chinese imports of rare earth oxides and compounds from Myanmar 311 t in February 2025, -89 % y/y)", publisher="Arab News (Reuters)", url="https://www.arabnews.pk/node/2595122", year="2025", accessed=ACCESSED, licence=""),
    dict(source_id="wsgs_ree_prices_2009_2011", title="REE prices: between October 2009 and June 2011 prices for all REE rose 1,500 percent, then declined significantly in late 2011 (USGS)", publisher="Wyoming State Geological Survey", url="http://www.wsgs.uwyo.edu/Research/Minerals/REE-Prices.aspx", year="2013", accessed=ACCESSED, licence=""),
    dict(source_id="smm_2010_japan_imports_november", title="Japan rare earths imports from China plunge in November (634 t in November 2010, 1,278 t in October, 2,246 t in September; Japanese government data)", publisher="Shanghai Metals Market (Reuters)", url="https://news.metal.com/newscontent/100015474/Japan-Rare-Earths-Imports-from-China-Plunge-in-Nov", year="2010", accessed=ACCESSED, licence=""),
    dict(source_id="investingnews_2014_usgs_2013", title="Top rare earth producing countries 2013 (USGS MCS 2014: China 100,000 t REO in 2013, the same as in 2012)", publisher="Investing News Network", url="https://investingnews.com/daily/resource-investing/top-rare-earth-producing-countries-2013-usgs", year="2014", accessed=ACCESSED, licence=""),
    dict(source_id="jmb_2012_ree_prices_inventories", title="Rare earth international market prices maintain downward (inventory holders dump stocks held with speculative expectations; Nd metal about 215 USD/kg, Dy metal about 2,400 USD/kg)", publisher="Japan Metal Bulletin", url="http://www.japanmetalbulletin.com/?p=19893", year="2012", accessed=ACCESSED, licence=""),
    dict(source_id="adamas_2025_dy_price_volumes", title="The fallacy of European rare earth prices (2025: about 96 % of dysprosium oxide consumed priced at an average 224 USD/kg; less than 1 % at 800 USD/kg or more)", publisher="Adamas Intelligence", url="https://www.adamasintel.com/the-fallacy-of-european-rare-earth-prices-and-the-pras-that-promote-them", year="2026", accessed=ACCESSED, licence=""),
]

SHARE_2010 = "China 130,000 t = 97 % of world output (USGS MCS 2011 as reported by IndexMundi), so world = 130,000 / 0.97 = 134,021 t"

PRODUCTION = [
    dict(country="CHN", stage="mining", element="REO", year="2010", value_t="130000", series="main", source_id="cecorp_usgs_2010_china_india", quality="reported", method="USGS Mineral Commodity Summaries 2011 figure as reported by the source", as_of="2011-01"),
    dict(country="IND", stage="mining", element="REO", year="2010", value_t="2700", series="main", source_id="cecorp_usgs_2010_china_india", quality="reported", method="USGS Mineral Commodity Summaries 2011 figure as reported by the source", as_of="2011-01"),
    dict(country="BRA", stage="mining", element="REO", year="2010", value_t="563", series="main", source_id="usgs_2011_production_2010_indexmundi", quality="derived", method=f"0.42 % of world output; {SHARE_2010}", as_of="2011-01"),
    dict(country="MYS", stage="mining", element="REO", year="2010", value_t="362", series="main", source_id="usgs_2011_production_2010_indexmundi", quality="derived", method=f"0.27 % of world output; {SHARE_2010}", as_of="2011-01"),
    dict(country="WLD", stage="mining", element="REO", year="2010", value_t="134021", series="main", source_id="usgs_2011_production_2010_indexmundi", quality="derived", method=SHARE_2010, as_of="2011-01"),
    dict(country="CHN", stage="separation", element="REO", year="2010", value_t="130000", series="main", source_id="cecorp_usgs_2010_china_india", quality="estimated", method="China's 2010 mine output (130,000 t REO, USGS) taken as separated in China; no national separation figure for 2010 found; excludes separation of imported feed", as_of="2011-01"),
    dict(country="CHN", stage="metal", element="REO", year="2010", value_t="24648", series="main", source_id="ccr_2011_china_ndfeb_2010", quality="estimated", method="Rare-earth metal needed for NdFeB: China sintered NdFeB output 2010 78,000 t (source) x 0.316 rare-earth mass share (the method of the 2023-2024 rows); excludes metal for other uses, so a lower bound", as_of="2011-08"),
    dict(country="CHN", stage="magnet", element="NdFeB", year="2010", value_t="78000", series="main", source_id="ccr_2011_china_ndfeb_2010", quality="reported", method="Sintered NdFeB output 2010 (bonded NdFeB 4,000 t not included)", as_of="2011-08"),
    dict(country="CHN", stage="magnet", element="NdFeB", year="2009", value_t="52000", series="main", source_id="ccr_2011_china_ndfeb_2010", quality="reported", method="Sintered NdFeB output 2009 (bonded NdFeB 3,000 t not included)", as_of="2011-08"),
    dict(country="JPN", stage="magnet", element="NdFeB", year="2010", value_t="18953", series="main", source_id="chinaorg_2013_ndfeb_shares", quality="derived", method="World sintered NdFeB output 2010 98,200 t x Japan's share 19.3 % (same source)", as_of="2013-08"),
    dict(country="WLD", stage="magnet", element="NdFeB", year="2010", value_t="98200", series="main", source_id="chinaorg_2013_ndfeb_shares", quality="reported", method="World sintered NdFeB (semi-finished) output 2010; China 79.4 %, Japan 19.3 %, Europe 1.3 %", as_of="2013-08"),
]

TRADE_2010_NOTE = "China's rare-earth exports (compounds, metals, ores; HS 2805, 2846 and related) as one flow at the separation stage, element REO; the split between compounds and metals is not in the source"
TRADE = [
    dict(exporter="CHN", importer="JPN", stage="separation", element="REO", year="2010", value_t="20000", value_usd="", hs_code="none", source_id="wsj_2011_japan_imports_2010", quality="reported", method=f"Japan's Trade Minister: about 20,000 t imported from China in 2010 (rounded); {TRADE_2010_NOTE}", as_of="2011-01"),
    dict(exporter="CHN", importer="USA", stage="separation", element="REO", year="2010", value_t="7564", value_usd="", hs_code="none", source_id="chinadaily_2010_moc_exports_japan", quality="estimated", method=f"US share of China's Jan-Sep 2010 exports (19 %, MOC) x China's 2010 exports 39,813 t (wsj_2011_china_ree_exports_2010); one part-year share applied to the year; {TRADE_2010_NOTE}", as_of="2010-11"),
]
for importer, tonnes in (("HKG", "2197.72"), ("USA", "1740.16"), ("KOR", "1232.80"), ("DEU", "1077.96"), ("ITA", "843.63"), ("SGP", "746.51")):
    TRADE.append(dict(exporter="CHN", importer=importer, stage="magnet", element="NdFeB", year="2010", value_t=tonnes, value_usd="", hs_code="850511", source_id="ccr_2011_china_ndfeb_2010", quality="reported", method="China's 2010 rare-earth permanent magnet exports by destination (top destinations of 13,885.92 t; includes bonded and SmCo magnets)", as_of="2011-08"))

# 2023 magnet trade: the 2024 rows' destination shares applied to China's 2023 total (Adamas: 2024 = 58,152 t, 10 % above 2023).
SHARES_2024 = {"DEU": 11919, "ITA": 2650, "JPN": 2234, "KOR": 5479, "THA": 3673, "USA": 7051, "VNM": 4562}
TOTAL_2023 = 58152 / 1.10
for importer, tonnes_2024 in SHARES_2024.items():
    share = tonnes_2024 / 58152
    TRADE.append(dict(
        exporter="CHN", importer=importer, stage="magnet", element="NdFeB", year="2023",
        value_t=f"{TOTAL_2023 * share:.0f}", value_usd="", hs_code="850511",
        source_id="adamas_2025_china_magnet_exports_2024", quality="estimated",
        method=(f"China's 2023 rare-earth magnet exports = 58,152 t (2024) / 1.10 (Adamas: 2024 was 10 % above 2023) = {TOTAL_2023:,.0f} t, "
                f"x this destination's share of the 2024 row ({tonnes_2024:,} t of 58,152 t = {share:.4f}); the 2024 share assumed for 2023 (weak)"),
        as_of="2025-01",
    ))

PRICES = [
    dict(element="Nd", form="oxide", market="FOB China yearend 99.5% min (USGS MCS 2016)", year="2011", usd_per_kg="195", source_id="usgs_mcs_2016_ree", quality="derived", method="midpoint of the yearend range 190-200 USD/kg", as_of="2016-01"),
    dict(element="Nd", form="oxide", market="FOB China yearend 99.5% min (USGS MCS 2016)", year="2012", usd_per_kg="77.5", source_id="usgs_mcs_2016_ree", quality="derived", method="midpoint of the yearend range 75-80 USD/kg", as_of="2016-01"),
    dict(element="Dy", form="oxide", market="FOB China yearend 99.5% min (USGS MCS 2016)", year="2011", usd_per_kg="1410", source_id="usgs_mcs_2016_ree", quality="derived", method="midpoint of the yearend range 1,400-1,420 USD/kg", as_of="2016-01"),
    dict(element="Dy", form="oxide", market="FOB China yearend 99.5% min (USGS MCS 2016)", year="2012", usd_per_kg="615", source_id="usgs_mcs_2016_ree", quality="derived", method="midpoint of the yearend range 600-630 USD/kg", as_of="2016-01"),
    dict(element="REO", form="oxide", market="China export unit value, all rare-earth exports (customs)", year="2009", usd_per_kg="7.06", source_id="fiercewireless_2011_china_ree_export_value", quality="derived", method="2009 export value 310.1 million USD / 2009 export volume 43,895 t (2010's 39,813 t was a 9.3 % fall: 39,813 / 0.907, wsj_2011_china_ree_exports_2010)", as_of="2011-01"),
    dict(element="REO", form="oxide", market="China export unit value, all rare-earth exports (customs)", year="2010", usd_per_kg="23.6", source_id="wsj_2011_china_ree_exports_2010", quality="derived", method="2010 export value 939.72 million USD / 39,813 t", as_of="2011-01"),
]

# World magnet demand 2010 in tonnes of magnet, by sector with the 2024 WLD sector mix (assumption).
WLD_2024 = {  # sector -> t NdFeB (demand.csv WLD historical 2024, t magnet)
    "defence": 2240.0, "electronics": 100000.0, "ev": 43018.0, "industrial": 155743.0, "other": 27484.0, "wind": 4848.0,
}
WORLD_MAGNETS_2010 = 98200.0
DEMAND = []
_total_2024 = sum(WLD_2024.values())
for sector, tonnes in WLD_2024.items():
    value = WORLD_MAGNETS_2010 * tonnes / _total_2024
    DEMAND.append(dict(
        country="WLD", sector=sector, element="NdFeB", year="2010", value_t=f"{value:.1f}", unit="t magnet", path="historical",
        source_id="chinaorg_2013_ndfeb_shares", quality="estimated",
        method=("World sintered NdFeB output 2010 (98,200 t) taken as world magnet use (stocks ignored), split by sector with "
                f"the WLD 2024 historical rows of this table (share {tonnes / _total_2024:.4f}; the 2010 sector mix is not sourced)."),
        as_of="2013-08",
    ))


# World demand in the back-test base years (2023; and 2010 outside magnets), by the 2024 rows' own rule:
# world rare-earth use = world mine output (stocks ignored); magnets = world NdFeB output; the rest split by
# application in the 2024 shares. The engine interpolates demand between data years and holds it flat before
# the first, so without these rows a 2023 base year would interpolate magnets between 2010 and 2024, and a 2010
# base year would give catalysts, glass, metallurgy and phosphors their 2024 use (265 kt REO against 134 kt mined).
MAGNETS_2024, MAGNETS_2023 = 333333.0, 311111.0  # production.csv WLD magnet NdFeB (ree_exchanges_2025_neo_narva)
MAGNET_REO_2024 = 124974.0  # the 2024 rows' method: this table's magnet rows through grades and recipes, t REO
OTHER_2024 = 390000.0 - MAGNET_REO_2024  # 265,026 t REO
MINED = {2023: 376000.0, 2010: 134021.0}  # production.csv WLD mining (USGS MCS 2025; USGS MCS 2011 via IndexMundi)
MAGNET_FACTOR = {2023: MAGNETS_2023 / MAGNETS_2024, 2010: 98200.0 / MAGNETS_2024}
OXIDE_FACTOR = {year: (MINED[year] - MAGNET_REO_2024 * MAGNET_FACTOR[year]) / OTHER_2024 for year in MINED}


def _world_2024_rows() -> list[dict[str, str]]:
    with (TABLES / "demand.csv").open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle)
                if row["country"] == "WLD" and row["year"] == "2024" and row["path"] == "historical"]


for row in _world_2024_rows():
    magnet = row["unit"] == "t magnet"
    for year in (2023, 2010):
        if magnet and year == 2010:
            continue  # the 2010 magnet rows above (world sintered NdFeB output 2010)
        factor = MAGNET_FACTOR[year] if magnet else OXIDE_FACTOR[year]
        if magnet:
            method = (f"World magnet use {year} = world NdFeB output {year} (311,111 t, production.csv) taken as use (stocks ignored), "
                      f"split by sector and magnet family as the WLD 2024 historical rows of this table: 2024 row x {factor:.4f} "
                      "(311,111 / 333,333); the 2023 sector mix is not sourced (the 2024 mix assumed).")
            source = "ree_exchanges_2025_neo_narva"
        else:
            magnets_reo = MAGNET_REO_2024 * MAGNET_FACTOR[year]
            method = (f"World rare-earth use {year} taken as world mine output ({MINED[year]:,.0f} t REO, production.csv; stocks ignored, "
                      f"the rule of the 2024 rows); magnets {magnets_reo:,.0f} t REO (the 2024 rows' {MAGNET_REO_2024:,.0f} t x world NdFeB "
                      f"output {year} / 2024); the other {MINED[year] - magnets_reo:,.0f} t split by application and element in the "
                      f"shares of the WLD 2024 rows: 2024 row x {factor:.4f}. The {year} application mix is not sourced (the 2024 mix "
                      "assumed; Goonan 2011 puts mature uses, catalysts, glass, lighting and metallurgy, at 59 % of 2008 use).")
            source = "usgs_mcs_2025_ree" if year == 2023 else "usgs_2011_production_2010_indexmundi"
        DEMAND.append(dict(
            country="WLD", sector=row["sector"], element=row["element"], year=str(year),
            value_t=f"{float(row['value_t']) * factor:.1f}", unit=row["unit"], path="historical",
            source_id=source, quality="estimated", method=method, as_of="2025-03" if year == 2023 else "2011-01",
        ))

ROWS = {"sources": SOURCES, "production": PRODUCTION, "trade": TRADE, "prices": PRICES, "demand": DEMAND}


def append_missing(table: str, rows: list[dict[str, str]], write: bool) -> int:
    path = TABLES / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        present = {tuple(str(record[key]) for key in KEYS[table]) for record in reader}
    missing = [row for row in rows if tuple(str(row[key]) for key in KEYS[table]) not in present]
    if write and missing:
        text = path.read_text(encoding="utf-8")
        with path.open("a", newline="", encoding="utf-8") as handle:
            if not text.endswith("\n"):
                handle.write("\n")
            writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore", lineterminator="\n")
            for row in missing:
                writer.writerow({column: row.get(column, "") for column in header})
    return len(missing)


def main(arguments: list[str]) -> int:
    check = "--check" in arguments
    total = 0
    for table, rows in ROWS.items():
        count = append_missing(table, rows, write=not check)
        total += count
        print(f"{table}: {count} row(s) {'missing' if check else 'appended'}")
    return 1 if check and total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
