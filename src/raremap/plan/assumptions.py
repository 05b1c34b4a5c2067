"""Numbers the planner needs that no dataset table gives: each is named here and listed in docs/plan.md.

Every other default number is read from a table row or from the plan's SupplyChain when a plan is
resolved (costs, lead_times, parameters, prices), and recorded in the plan's provenance table.
"""

from __future__ import annotations

OFFTAKE_SHARE_OF_PARTNER_CAPACITY = 0.10
"""Largest offtake a partner grants: this share of its capacity at the stage in the horizon's first year."""

OFFTAKE_RESERVATION = {"operating": 0.05, "signed": 0.075, "negotiating": 0.125}
"""Share of the good's base-year price paid each year per contracted tonne, delivered or not (the price of
the option), by the agreement's status: the more settled the agreement, the cheaper the option."""

OFFTAKE_START_DELAY_YEARS = {"operating": 0, "signed": 1, "negotiating": 2}
"""Years after the horizon's start (or the agreement's date, if later) before deliveries can begin."""

DELAY_PROBABILITY = {"mining": 0.4, "separation": 0.2, "metal": 0.15, "magnet": 0.15}
"""Chance that a domestic build's lead time slips in a scenario: highest for coastal monazite mining
(coastal-zone clearances, community opposition), lowest for metal and magnet lines."""

DELAY_YEARS_MAXIMUM = {"mining": 3, "separation": 2, "metal": 2, "magnet": 2}
"""Largest slip in years; a slipping build slips 1..maximum years with equal chance."""

STOCK_RELEASE_PRICE_MULTIPLE = 1.5
"""A strategic stock is released when the importer's price of the good is above this multiple of its
base-year price (a price spike), so it is kept for shocks rather than sold into an ordinary year."""

MATERIAL_USD_MILLION = 1.0
"""A decision is listed when it commits at least this much (USD million)..."""

MATERIAL_SHARE_OF_NEED = 0.01
"""...or when its volume is at least this share of the importer's need at its stage in its first year."""

BLOC_AGREEMENTS_STAND_FOR_MEMBERS = True
"""A partnership with a bloc (QUAD, MSP, IPEF) offers offtakes with each member that has capacity."""
