"""Numbers the planner needs that no dataset table gives: each is named here and listed in docs/plan.md.

Every other default number is read from a table row when a plan is resolved (costs, lead_times,
parameters, prices, deposits), and the row is recorded in the plan's provenance table.
"""

from __future__ import annotations

CAPS_DELAY_YEARS = 4
"""Caps bind from horizon start + this: the REPM scheme's 2-year gestation plus bidding and ramp-up."""

OFFTAKE_SHARE_OF_PARTNER_CAPACITY = 0.10
"""Largest offtake a partner grants: this share of its base-period capacity at the stage."""

OFFTAKE_PREMIUM = {"operating": 0.10, "signed": 0.15, "negotiating": 0.25}
"""Price premium over the market per tonne delivered, by the agreement's status (more settled, cheaper)."""

OFFTAKE_RESERVATION = 0.05
"""Share of the market price paid each year per tonne contracted, delivered or not (take-or-pay element)."""

OFFTAKE_START_DELAY_YEARS = {"operating": 0, "signed": 1, "negotiating": 2}
"""Years after the horizon start (or the agreement date, if later) before deliveries can begin."""

MINING_VALUE_SHARE = 0.5
"""Share of the separated magnet-oxide value credited to the concentrate that carries it."""

DEFAULT_CAPEX_USD_PER_TPA = {"mining": 10000.0, "separation": 14018.0, "metal": 20000.0, "magnet": 54000.0,
                             "recycling": 30000.0}
"""Capex where the costs table has no row for the importer or the world (separation and magnet repeat the
costs table's AUS and EST rows, the only ones there; mining, metal and recycling are assumptions)."""

DEFAULT_OPEX_USD_PER_T = {"mining": 4000.0, "separation": 15000.0, "metal": 12000.0, "magnet": 18900.0,
                          "recycling": 20000.0}
"""Opex where the costs table has no row: the simulator's stage defaults (docs/simulation.md rule 5) and its
recycling cost setting (20 USD/kg)."""

DEFAULT_LEAD_YEARS = {"mining": 6, "separation": 3, "metal": 3, "magnet": 2, "recycling": 2}
DEFAULT_RAMP_YEARS = {"mining": 2, "separation": 1, "metal": 1, "magnet": 1, "recycling": 1}
"""Lead and ramp-up where the lead_times table has no row for the importer or the world (mining is the
WLD row; metal and recycling are assumptions; separation rounds the AUS row's 2.5 years up)."""

DELAY_PROBABILITY = {"mining": 0.4, "separation": 0.2, "metal": 0.15, "magnet": 0.15, "recycling": 0.1}
"""Chance that a domestic build's lead time slips in a scenario: highest for coastal monazite mining
(coastal-zone clearances, community opposition), lowest for recycling."""

DELAY_YEARS_MAXIMUM = {"mining": 3, "separation": 2, "metal": 2, "magnet": 2, "recycling": 1}
"""Largest slip in years; a slipping build slips 1..maximum years with equal chance."""

FALLBACK_DISRUPTION_PROBABILITY = 0.05
FALLBACK_SEVERITIES = (0.2, 0.4, 0.6, 0.8)
"""The planner's own sampler (used only when the risk engine cannot be imported): each country x stage with
at least 1 % of world capacity loses one of these shares for one year with this annual probability."""

INR_PER_USD = 86.0
"""Exchange rate used by the costs table's IND magnet row (2025); used for the REPM scheme's outlay."""
