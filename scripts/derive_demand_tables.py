"""Derive the bundled `demand`, `sectors` and `magnet_grades` tables from the figures their sources publish.

Every constant below names the source it comes from (a `source_id` in sources.csv) or says that it
is an assumption; the `method` text written into each row repeats the arithmetic, so a row can be
checked without running this script. Run from the repository root:

    python scripts/derive_demand_tables.py

It rewrites src/raremap/data/tables/{demand,sectors,magnet_grades}.csv. It reads recipes.csv and
conversions.csv (magnet compositions, oxide<->metal factors) so the element content of the magnet
rows and the magnet totals quoted in the methods stay consistent with those tables.
"""

from __future__ import annotations

import csv
from itertools import pairwise
from pathlib import Path

TABLES = Path(__file__).resolve().parents[1] / "src" / "raremap" / "data" / "tables"

# --- magnet mass, world, 2024 ------------------------------------------------------------------
WORLD_NDFEB_2024 = 333_333  # production.csv WLD magnet NdFeB 2024 (Argus China 300 kt / 'over 90 %' China share)
ACREI_NEV_2024 = 43_018  # Chen Zhanheng (ACREI) via Metalnomist, Dec 2024: NEV magnet demand 2024
ACREI_WIND_2024 = 4_848  # same source: wind-turbine magnet demand 2024
ELECTRONICS_SHARE = 0.30  # Heim & Vander Wal 2023: consumer electronics 'almost 30 %' of NdFeB demand
CHINA_SMCO_2019 = 2_400  # MIIT/ACREI via Reuters, 22 Jan 2020: China SmCo output 2019 (+4 %)
SMCO_GROWTH = 0.04  # the 2019 growth rate, assumed to continue to 2024
SMCO_DEFENCE_SHARE = 0.35  # 'aerospace and defense over 35 %' of SmCo use (market-research summary; weak)
SMCO_INDUSTRIAL_SHARE = 0.25  # 'industrial automation 25 %' of SmCo use (same summary; weak)
US_DEFENCE_MAGNETS = 1_200  # eVAC South Carolina plant: 1,200 of 2,000 t/yr earmarked for US military demand
SIPRI_WORLD = 2_718  # SIPRI 2024 world military expenditure, USD bn
SIPRI_USA = 1_000  # SIPRI 2024: US 'almost $1 trillion' (rounded; assumption that 'almost' ~ 1,000)
SIPRI = {"IND": 86.1, "CHN": 314.0, "DEU": 88.5}  # SIPRI 2024, USD bn
INDUSTRIAL_OF_REST = 0.85  # assumption: of the NdFeB left after ev, wind, defence, electronics, 85 % industrial, 15 % other

# --- countries, 2024 first use (t magnet) -----------------------------------------------------
INDIA_2024 = 6_000  # reex_2025_india_magnet_demand low end of 6,000-7,500 t/yr; see method text
INDIA_E2W = 690  # reex_2025_india_magnet_demand (Businessline): e-2W magnets FY25
CHINA_SHARE = {"USA": 0.768, "JPN": 0.311, "KOR": 0.879, "DEU": 0.90}  # KITA 2023 (2022 import shares; EU for DEU)
CHINA_EXPORTS_2024 = {"USA": 7_444, "JPN": 2_234, "KOR": 5_479, "DEU": 11_919, "VNM": 4_562}  # trade.csv CHN->X 2024
CHINA_NDFEB_2024 = 300_000
CHINA_MAGNET_EXPORTS_2024 = 58_152
JAPAN_NDFEB_2024 = 31_230  # production.csv JPN magnet 2024 (estimated)

# --- non-magnet applications (t REO) -----------------------------------------------------------
WORLD_REO_2024 = 390_000  # USGS MCS 2025 world mine production 2024; use assumed equal to it
APP_SHARE_OF_TOTAL = {  # share of total rare-earth use; catalysts sourced, the rest assumptions (see method)
    "catalysts": 0.20,
    "glass_polishing": 0.22,
    "metallurgy": 0.14,
    "phosphors": 0.03,
    "ceramics": 0.05,
    "other_applications": 0.05,
}
APP_COMPOSITION = {  # element shares of each application's REO; assumptions stated in APP_COMPOSITION_NOTE
    "catalysts": {"La": 0.475, "Ce": 0.49, "Nd": 0.025, "Pr": 0.01},
    "glass_polishing": {"Ce": 0.665, "La": 0.29, "Pr": 0.025, "Nd": 0.02},
    "metallurgy": {"La": 0.44, "Ce": 0.475, "Nd": 0.055, "Pr": 0.03},
    "phosphors": {"Y": 0.69, "Ce": 0.11, "La": 0.085, "Eu": 0.05, "Tb": 0.045, "Gd": 0.02},
    "ceramics": {"Y": 0.53, "La": 0.17, "Ce": 0.12, "Nd": 0.12, "Pr": 0.06},
    "other_applications": {"Ce": 0.30, "La": 0.20, "Nd": 0.15, "Y": 0.15, "Gd": 0.10, "Sm": 0.05, "Pr": 0.05},
}
APP_COMPOSITION_NOTE = {
    "catalysts": "FCC catalysts use mainly La with lesser Ce and Nd, autocatalysts mainly Ce (Steenkampskraal); FCC:auto taken 1:1 (assumption) with FCC La 90/Ce 8/Nd 2 % and auto Ce 90/La 5/Nd 3/Pr 2 % (assumptions)",
    "glass_polishing": "cerium oxide is the main polishing agent and glass additive, lanthanum for optical glass, Nd/Pr colourants (USGS SIR 2011-5094: La+Ce ~80 % of mature markets); split Ce 66.5/La 29/Pr 2.5/Nd 2 % is an assumption",
    "metallurgy": "mischmetal alloys ~62-69 % Ce and ~30 % La (JX mischmetal specification) and NiMH/hydrogen-storage alloys La-rich with Ce, Nd, Pr; half each (assumption) gives La 44/Ce 47.5/Nd 5.5/Pr 3 %",
    "phosphors": "Y, Eu, Tb phosphors with La, Ce, Gd hosts; split Y 69/Ce 11/La 8.5/Eu 5/Tb 4.5/Gd 2 % is an assumption",
    "ceramics": "yttria-stabilised zirconia dominates, with La, Ce, Nd, Pr in glazes and capacitors; split Y 53/La 17/Ce 12/Nd 12/Pr 6 % is an assumption",
    "other_applications": "MRI contrast (Gd), lasers and alloys (Y), SmCo-free Sm uses, fuel additives (Ce), unallocated; split is an assumption",
}
APP_GROWTH = {  # per year after 2024; assumptions from the trends Binnemans et al. (2018) describe
    "catalysts": 0.02,
    "glass_polishing": 0.02,
    "metallurgy": 0.01,
    "phosphors": -0.03,
    "ceramics": 0.02,
    "other_applications": 0.02,
}

# --- IEA magnet rare-earth path (used for growth only) -----------------------------------------
IEA = {2023: 93_000, 2030: 131_000, 2050: 181_000}  # IEA GCMO 2024: 93 kt (2023), APS 131 kt (2030), 181 kt (2050)
EV_SHARE_2023, EV_SHARE_2050, WIND_SHARE = 0.07, 0.30, 0.11
STEPS_EV_FACTOR_2030 = 0.9  # ratio of 2030 EV sales STEPS/APS (~45 / ~50 million), IEA GCMO 2024

MAGNET_SECTORS = ("ev", "wind", "defence", "electronics", "industrial", "other")
OXIDE_SECTORS = tuple(APP_SHARE_OF_TOTAL)

GRADES = {  # (sector, product) -> {magnet_type: share}; WLD default
    ("ev", "NdFeB"): {"NdFeB GBD EV-grade (Dy+Tb)": 1.0},
    ("wind", "NdFeB"): {"NdFeB high-Dy (SH/UH)": 1.0},
    ("electronics", "NdFeB"): {"NdFeB N42 standard": 1.0},
    ("industrial", "NdFeB"): {"NdFeB sintered generic": 1.0},
    ("industrial", "SmCo"): {"Sm2Co17": 1.0},
    ("defence", "NdFeB"): {"NdFeB high-Dy (SH/UH)": 0.5, "NdFeB GBD EV-grade (Dy+Tb)": 0.5},
    ("defence", "SmCo"): {"Sm2Co17": 0.5, "SmCo5": 0.5},
    ("other", "NdFeB"): {"NdFeB sintered generic": 1.0},
    ("other", "SmCo"): {"Sm2Co17": 0.5, "SmCo5": 0.5},
}
INDIA_EV_GRADES = {"NdFeB sintered generic": 0.9, "NdFeB GBD EV-grade (Dy+Tb)": 0.1}


def read(name: str) -> list[dict[str, str]]:
    with (TABLES / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(name: str, fields: list[str], rows: list[dict[str, object]]) -> None:
    with (TABLES / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: tuple(str(r[f]) for f in fields[:6])):
            writer.writerow(row)


def iea_total(year: int) -> float:
    points = sorted(IEA.items())
    for (y0, v0), (y1, v1) in pairwise(points):
        if y0 <= year <= y1:
            return v0 + (v1 - v0) * (year - y0) / (y1 - y0)
    return points[-1][1]


def iea_sector_element(sector: str, year: int, path: str) -> float:
    """Magnet rare earths (t element) of one sector on the IEA-based path the previous dataset used."""
    ev = EV_SHARE_2023 + (EV_SHARE_2050 - EV_SHARE_2023) * (year - 2023) / 27
    rest = 1 - ev - WIND_SHARE
    share = {"ev": ev, "wind": WIND_SHARE, "electronics": rest * 30 / 82, "industrial": rest * 52 / 82}[sector]
    value = share * iea_total(year)
    if path == "stated-policies" and sector == "ev":
        value *= 1 - (1 - STEPS_EV_FACTOR_2030) * min(1.0, max(0.0, (year - 2024) / 6))
    return value


def growth_index(sector: str, year: int, path: str) -> float:
    base = "industrial" if sector in ("defence", "other") else sector
    return iea_sector_element(base, year, path) / iea_sector_element(base, 2024, "announced-pledges")


def main() -> None:
    recipes: dict[str, dict[str, float]] = {}
    for row in read("recipes"):
        recipes.setdefault(row["magnet_type"], {})[row["element"]] = float(row["share"])
    to_oxide = {row["element"]: float(row["factor"]) for row in read("conversions") if row["from_form"] == "metal"}

    def reo_per_t(grades: dict[str, float]) -> dict[str, float]:
        """t REO of each rare earth per t of magnet for a grade mix."""
        out: dict[str, float] = {}
        for magnet_type, share in grades.items():
            for element, mass in recipes[magnet_type].items():
                if element in to_oxide:
                    out[element] = out.get(element, 0.0) + share * mass * to_oxide[element]
        return out

    # World 2024 magnet mass by sector.
    smco_world = CHINA_SMCO_2019 * (1 + SMCO_GROWTH) ** 5
    defence_total = US_DEFENCE_MAGNETS * SIPRI_WORLD / SIPRI_USA
    smco = {
        "defence": smco_world * SMCO_DEFENCE_SHARE,
        "industrial": smco_world * SMCO_INDUSTRIAL_SHARE,
        "other": smco_world * (1 - SMCO_DEFENCE_SHARE - SMCO_INDUSTRIAL_SHARE),
    }
    ndfeb = {
        "ev": ACREI_NEV_2024,
        "wind": ACREI_WIND_2024,
        "defence": defence_total - smco["defence"],
        "electronics": ELECTRONICS_SHARE * WORLD_NDFEB_2024,
    }
    rest = WORLD_NDFEB_2024 - sum(ndfeb.values())
    ndfeb["industrial"] = rest * INDUSTRIAL_OF_REST
    ndfeb["other"] = rest * (1 - INDUSTRIAL_OF_REST)
    world_mass = {("NdFeB", s): v for s, v in ndfeb.items()} | {("SmCo", s): v for s, v in smco.items()}

    magnet_reo = 0.0
    element_totals: dict[str, float] = {}
    for (product, sector), mass in world_mass.items():
        for element, per in reo_per_t(GRADES[(sector, product)]).items():
            element_totals[element] = element_totals.get(element, 0.0) + mass * per
            magnet_reo += mass * per
    magnet_metal = sum(
        mass * sum(share * sum(v for e, v in recipes[t].items() if e in to_oxide) for t, share in GRADES[(s, p)].items())
        for (p, s), mass in world_mass.items()
    )

    rows: list[dict[str, object]] = []
    world_note = (
        f"World sintered NdFeB 2024 {WORLD_NDFEB_2024:,} t (production.csv: Argus China 300 kt / 'over 90 %' China share). "
        f"ev = NEV magnet demand 2024 {ACREI_NEV_2024:,} t (ACREI, Chen Zhanheng, via Metalnomist Dec 2024); "
        f"wind = {ACREI_WIND_2024:,} t (same source; a direct-drive intensity of 0.5 t/MW would give far more, SMM reports the shift to semi-direct drive); "
        f"defence = US military magnets {US_DEFENCE_MAGNETS:,} t (eVAC plant earmark, Lifton) x world/US military spending {SIPRI_WORLD}/{SIPRI_USA} (SIPRI 2024) = {defence_total:,.0f} t, "
        f"of which SmCo {smco['defence']:,.0f} t; electronics = 30 % of NdFeB (Heim & Vander Wal 2023) = {ndfeb['electronics']:,.0f} t; "
        f"the remaining {rest:,.0f} t split industrial 85 % / other 15 % (assumption; industrial includes inverter air conditioners, 30,154 t per ACREI, motors, robots, lifts, conventional-vehicle auxiliaries, e-bikes). "
        f"SmCo = China 2019 output {CHINA_SMCO_2019:,} t (MIIT/ACREI) grown 4 %/yr to {smco_world:,.0f} t, taken as world; defence 35 %, industrial 25 %, other 40 % (market-research shares; weak). "
        f"Consistency: these magnets hold {magnet_metal:,.0f} t of rare-earth metal ({magnet_reo:,.0f} t REO) through magnet_grades.csv, recipes.csv and conversions.csv; "
        f"IEA GCMO 2024 gives 93 kt of magnet rare earths (element) for 2023; scaled by world magnet output 2023->2024 (311,111 -> {WORLD_NDFEB_2024:,} t, production.csv) that is {93000 * WORLD_NDFEB_2024 / 311111:,.0f} t, "
        f"so the magnet rows are {magnet_metal / (93000 * WORLD_NDFEB_2024 / 311111) - 1:+.1%} from the IEA figure (world magnet output is an upper bound, 'over 90 %' China share)."
    )
    for (product, sector), mass in sorted(world_mass.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append(make_row("WLD", sector, product, 2024, mass, "t magnet", "historical", "metalnomist_2024_acrei_magnet_demand", "estimated",
                        f"{sector}: {mass:,.0f} t {product}. " + world_note, "2024-12"))
        for path in ("stated-policies", "announced-pledges"):
            for year in range(2025, 2036):
                index = growth_index(sector, year, path) if product == "NdFeB" else (1 + SMCO_GROWTH) ** (year - 2024)
                rows.append(make_row("WLD", sector, product, year, mass * index, "t magnet", path, "iea_gcmo_2024_key_minerals" if path == "stated-policies" else "iea_gcmo_2024", "estimated",
                                f"2024 world {sector} {product} ({mass:,.0f} t, this table) x growth {index:.3f}: "
                                + ("the IEA GCMO 2024 magnet rare-earth path (93 kt 2023, APS 131 kt 2030, 181 kt 2050; EV share 7 % in 2023 -> 30 % in 2050, wind 11 %, rest electronics:industrial 30:52), "
                                   "STEPS = APS with the EV component x0.9 by 2030 (EV sales ~45 vs ~50 million); defence and other follow industrial (assumption)"
                                   if product == "NdFeB" else "SmCo grows 4 %/yr (China's 2019 growth, assumption)"),
                                "2024-05"))

    # Non-magnet applications, world.
    non_magnet = WORLD_REO_2024 - magnet_reo
    share_sum = sum(APP_SHARE_OF_TOTAL.values())
    for app, share in APP_SHARE_OF_TOTAL.items():
        total = non_magnet * share / share_sum
        for element, part in APP_COMPOSITION[app].items():
            value = total * part
            note = (
                f"World rare-earth use 2024 taken as world mine output {WORLD_REO_2024:,} t REO (USGS MCS 2025; stocks ignored, assumption); "
                f"magnets {magnet_reo:,.0f} t REO (this table's magnet rows through grades and recipes); the other {non_magnet:,.0f} t split by application "
                f"catalysts 20 % of total use (Nkiawete & Vander Wal 2023; Roskill 20 % in 2020), glass and polishing 22 %, metallurgy incl. NiMH 14 %, phosphors 3 %, ceramics 5 %, other 5 % "
                f"(assumptions: REIA says magnets overtook glass as the largest use in 2023; Roskill puts polishing at 11 % by 2030; phosphors were 6-8 % in 2010 and lamp phosphors have declined, Binnemans et al. 2018), rescaled to the non-magnet total. "
                f"{app}: {total:,.0f} t REO. Element split: {APP_COMPOSITION_NOTE[app]}. {element} {part:.3f} x {total:,.0f} = {value:,.0f} t REO."
            )
            source = "nkiawete_vanderwal_2023" if app == "catalysts" else "usgs_sir_2011_5094"
            rows.append(make_row("WLD", app, element, 2024, value, "t REO", "historical", source, "estimated", note, "2025-01"))
            for path in ("stated-policies", "announced-pledges"):
                for year in range(2025, 2036):
                    grown = value * (1 + APP_GROWTH[app]) ** (year - 2024)
                    rows.append(make_row("WLD", app, element, year, grown, "t REO", path, "binnemans_2018_balance", "estimated",
                                    f"2024 world {app} {element} ({value:,.0f} t REO, this table) x (1 {APP_GROWTH[app]:+.0%})^(year-2024): "
                                    "assumed growth; Binnemans et al. (2018) report use in catalysts and alloys increasing, polishing, glass and ceramics stable, NiMH and lamp phosphors decreasing; "
                                    "Nkiawete & Vander Wal (2023): Ce, La and Y uses follow the general economy. Same on both paths.",
                                    "2025-01"))

    # Countries: shares of the world's 2024 NdFeB mix outside ev/defence where no national split exists.
    world_ndfeb_civil = {s: ndfeb[s] for s in ("ev", "wind", "electronics", "industrial", "other")}

    def split(country: str, total: float, defence: float, basis: str, source: str, as_of: str, ev: float | None = None) -> None:
        rest_sectors = dict(world_ndfeb_civil)
        note_ev = ""
        if ev is not None:
            rest_sectors.pop("ev")
            note_ev = f"ev {ev:,.0f} t (national figure); "
        rest_total = sum(rest_sectors.values())
        remaining = total - defence - (ev or 0.0)
        parts = {s: remaining * v / rest_total for s, v in rest_sectors.items()}
        if ev is not None:
            parts["ev"] = ev
        parts["defence"] = defence
        mix = ", ".join(f"{s} {v / rest_total:.3f}" for s, v in rest_sectors.items())
        for sector, value in parts.items():
            rows.append(make_row(country, sector, "NdFeB", 2024, value, "t magnet", "historical", source, "estimated",
                            f"{basis} Total {total:,.0f} t NdFeB (first use: magnets built into products in the country). {note_ev}"
                            f"defence {defence:,.0f} t ({'US military magnets 1,200 t, eVAC plant earmark' if country == 'USA' else 'US military magnets 1,200 t x national/US military spending, SIPRI 2024' if country in SIPRI else 'world defence share of NdFeB'}); "
                            f"the rest split as the world's 2024 NdFeB mix outside {'ev and ' if ev is not None else ''}defence ({mix}; assumption). {sector}: {value:,.0f} t.",
                            as_of))

    world_def_share = ndfeb["defence"] / WORLD_NDFEB_2024
    for country in ("USA", "JPN", "KOR", "DEU"):
        imports = CHINA_EXPORTS_2024[country] / CHINA_SHARE[country]
        total = imports + (JAPAN_NDFEB_2024 if country == "JPN" else 0.0)
        defence = US_DEFENCE_MAGNETS if country == "USA" else (US_DEFENCE_MAGNETS * SIPRI[country] / SIPRI_USA if country in SIPRI else world_def_share * total)
        basis = (
            f"{country} 2024 magnet imports = China's exports to {country} {CHINA_EXPORTS_2024[country]:,} t (trade.csv) / China's share of its NdFeB imports {CHINA_SHARE[country]:.1%} "
            f"(KITA 2023, 2022 shares{', EU share for Germany' if country == 'DEU' else ''}; applied to 2024, assumption) = {imports:,.0f} t"
            + (f", plus Japan's own sintered output {JAPAN_NDFEB_2024:,} t (production.csv, estimated), exports ignored (upper bound)." if country == "JPN" else "; domestic output ignored (negligible in 2024).")
        )
        split(country, total, defence, basis, "kedglobal_2023_kita_magnet_imports", "2025-01")
    china_total = CHINA_NDFEB_2024 - CHINA_MAGNET_EXPORTS_2024
    split("CHN", china_total, US_DEFENCE_MAGNETS * SIPRI["CHN"] / SIPRI_USA,
          f"China NdFeB output 2024 {CHINA_NDFEB_2024:,} t (Argus) minus China's 2024 magnet exports {CHINA_MAGNET_EXPORTS_2024:,} t (China customs via Adamas).",
          "adamas_2025_china_magnet_exports_2024", "2025-01")
    split("VNM", CHINA_EXPORTS_2024["VNM"], world_def_share * CHINA_EXPORTS_2024["VNM"],
          f"Vietnam: China's 2024 magnet exports to Vietnam {CHINA_EXPORTS_2024['VNM']:,} t (trade.csv, estimated); Vietnamese magnet output (Shin-Etsu) and re-exports not counted.",
          "asiacity_2025_china_magnet_exports", "2025-10")

    india_defence = US_DEFENCE_MAGNETS * SIPRI["IND"] / SIPRI_USA
    india_basis = (
        "India's NdFeB use in FY2024-25 settled at 6,000 t: the low end of the 6,000-7,500 t/yr domestic demand Rare Earth Exchanges reports (Nov 2025), "
        "consistent with the Cabinet presenting a 6,000 t/yr scheme as cutting import dependence 'practically to zero' (Reuters via Kitco) and with 1,700 t of rare-earth metal consumption "
        "(Business Standard 2025: 1,700 t metal / 0.316 metal share of N42 magnets = 5,380 t). Trade cross-check: India imported USD 199 million of permanent magnets from China in 2024 "
        "(Moneycontrol) and China supplied 82.9 % of metal magnets; at China's 2024 export unit value of 49.2 USD/kg (Adamas) that bounds metal-magnet imports at ~4,900 t, "
        "so 6,000 t is the upper-middle of the evidence (range ~3,700-7,500 t). The 53,700 t FY25 'permanent magnet' imports (Indian Express) include ferrite (unit value ~3.9 USD/kg) and are not used."
    )
    split("IND", INDIA_2024, india_defence, india_basis + f" ev = electric two-wheeler magnets {INDIA_E2W} t for 1.15 million units (Rare Earth Exchanges, Businessline), the only national sector figure.",
          "reex_2025_india_magnet_demand", "2025-11", ev=INDIA_E2W)

    # India path: doubling by 2030 (Cabinet statement via Reuters), 12.25 %/yr, flat share per sector.
    india_rows = [r for r in rows if r["country"] == "IND" and r["year"] == 2024]
    growth = 2 ** (1 / 6) - 1
    for base in india_rows:
        for year in range(2025, 2036):
            value = float(base["value_t"]) * (1 + growth) ** (year - 2024)
            rows.append(make_row("IND", str(base["sector"]), "NdFeB", year, value, "t magnet", "india-path", "kitco_2025_india_repm_reuters", "estimated",
                            f"India 2024 {base['sector']} ({float(base['value_t']):,.0f} t, this table) x 1.1225^(year-2024): the government expects India's magnet consumption to double by 2030 "
                            "(Cabinet, Nov 2025, Reuters via Kitco) = 12.25 %/yr, sector shares held; Business Standard (2025) expects 15,400 t of rare-earth metal use by 2032 (a far steeper path, not used). "
                            "Actual April-September 2025 imports of all permanent magnets fell 56 % y/y (Livemint); not modelled here.",
                            "2025-11"))

    fields = ["country", "sector", "element", "year", "value_t", "unit", "path", "source_id", "quality", "method", "as_of"]
    write("demand", fields, rows)

    # Grades.
    grade_rows = []
    for (sector, product), mix in GRADES.items():
        for magnet_type, share in mix.items():
            grade_rows.append({
                "country": "WLD", "sector": sector, "product": product, "magnet_type": magnet_type, "share": share,
                "source_id": GRADE_SOURCES[(sector, product)], "quality": "estimated", "method": GRADE_NOTES[(sector, product)], "as_of": "2025-01",
            })
    for magnet_type, share in INDIA_EV_GRADES.items():
        grade_rows.append({
            "country": "IND", "sector": "ev", "product": "NdFeB", "magnet_type": magnet_type, "share": share,
            "source_id": "reex_2025_india_magnet_demand", "quality": "estimated",
            "method": "India's ev magnets are mostly electric two-wheeler hub and mid-drive motors (690 t of the sector, Rare Earth Exchanges/Businessline), for which intensity.csv assumes the generic grade; 10 % GBD EV-grade for the small electric-car fleet (assumption). Indian makers moved to light-rare-earth magnets in 2025 (Livemint).",
            "as_of": "2025-11",
        })
    write("magnet_grades", ["country", "sector", "product", "magnet_type", "share", "source_id", "quality", "method", "as_of"], grade_rows)


GRADE_SOURCES = {
    ("ev", "NdFeB"): "iea_gcmo_2024",
    ("wind", "NdFeB"): "heim_vanderwal_2023_encyclopedia",
    ("electronics", "NdFeB"): "couragemagnet_ndfeb_composition",
    ("industrial", "NdFeB"): "couragemagnet_ndfeb_composition",
    ("industrial", "SmCo"): "couragemagnet_smco_composition",
    ("defence", "NdFeB"): "crs_r41744_2013",
    ("defence", "SmCo"): "crs_r41744_2013",
    ("other", "NdFeB"): "couragemagnet_ndfeb_composition",
    ("other", "SmCo"): "couragemagnet_smco_composition",
}
GRADE_NOTES = {
    ("ev", "NdFeB"): "Traction motors run hot and use grain-boundary-diffused Dy/Tb grades; the whole sector is given the EV-grade recipe (assumption, as intensity.csv does for EV motors).",
    ("wind", "NdFeB"): "Wind-generator magnets carry about 4 % Dy (Heim & Vander Wal 2023); the whole sector is given the high-Dy recipe.",
    ("electronics", "NdFeB"): "Consumer electronics (speakers, voice-coil and vibration motors, drives) run cool and use standard N grades without heavy rare earths (assumption).",
    ("industrial", "NdFeB"): "Industrial motors, compressors, lifts and auxiliaries: a mix of standard and moderate-Dy grades, represented by the generic recipe (0.9 % Dy, midpoint of the source's range; assumption).",
    ("industrial", "SmCo"): "Industrial SmCo (sensors, servo motors, high-temperature pumps) taken as Sm2Co17, the high-temperature grade (assumption).",
    ("defence", "NdFeB"): "Defence NdFeB (actuators, guidance, propulsion) needs high coercivity: half high-Dy, half Dy+Tb grain-boundary-diffused grades (assumption; CRS R41744 lists NdFeB and SmCo uses in guidance and actuators without grades).",
    ("defence", "SmCo"): "Defence SmCo split evenly between SmCo5 and Sm2Co17 (assumption; CRS R41744 names both in weapon systems).",
    ("other", "NdFeB"): "Other magnet uses (medical, acoustic, miscellaneous) given the generic recipe (assumption).",
    ("other", "SmCo"): "Other SmCo uses split evenly between SmCo5 and Sm2Co17 (assumption).",
}


def make_row(country: str, sector: str, element: str, year: int, value: float, unit: str, path: str, source: str, quality: str, method: str, as_of: str) -> dict[str, object]:
    return {
        "country": country, "sector": sector, "element": element, "year": year, "value_t": round(value, 1),
        "unit": unit, "path": path, "source_id": source, "quality": quality, "method": method, "as_of": as_of,
    }


if __name__ == "__main__":
    main()
