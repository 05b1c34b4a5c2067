"""Every unit conversion of the model in one place: oxide, metal, element content and magnet mass.

The tables state their units (schema.csv): demand in t REO (oxide equivalent of each element) or in
t magnet; production and capacity in t REO at mining and separation, t metal at metal, t magnet at
magnet; recipes as metal mass shares of a magnet. The factors come from the dataset:

- oxide -> metal: ``conversions`` (molar masses, CIAAW atomic weights), e.g. Nd2O3 -> Nd 0.8574;
- metal -> magnet mass: ``recipes`` (metal share of each element in a tonne of magnet);
- REO -> element: the country's ore composition (``ore_composition`` x ``country_deposits``).

So t REO of Nd in magnets -> t Nd metal = x 0.8574 -> t magnet = / (Nd share of the recipe). The
first version divided oxide tonnes by metal shares and overstated magnet demand by about 17 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from raremap.errors import RaremapError

DEFAULT_METAL_FACTOR = 0.85
"""t metal per t oxide where the conversions table has no row for an element (close to every
sesquioxide: 0.85-0.88); the bundled table covers every element the model carries."""


def metal_factors(conversions: pd.DataFrame, elements: Iterable[str]) -> pd.Series:
    """t metal per t oxide by element (`conversions` rows oxide -> metal)."""
    rows = conversions[(conversions["from_form"] == "oxide") & (conversions["to_form"] == "metal")]
    factors = rows.set_index("element")["factor"].astype(float)
    return factors.reindex(list(elements)).fillna(DEFAULT_METAL_FACTOR)


def oxide_to_metal(tonnes_oxide: float, element: str, factors: Mapping[str, float]) -> float:
    """Tonnes of metal in `tonnes_oxide` of the element's oxide."""
    return tonnes_oxide * float(factors.get(element, DEFAULT_METAL_FACTOR))


def magnet_mass_from_content(oxide_by_element: Mapping[str, float], recipe: Mapping[str, float],
                             factors: Mapping[str, float], basis: Iterable[str]) -> float:
    """Tonnes of magnet whose `basis` elements (e.g. Nd and Pr) contain the given t REO of them.

    The basis should be elements every magnet of the recipe contains in a known share (the NdPr of
    NdFeB); grade-dependent elements (Dy, Tb) are not a good measure of magnet mass.
    """
    basis = [element for element in basis if float(recipe.get(element, 0.0)) > 0]
    if not basis:
        raise RaremapError("cannot convert element content to magnet mass: the recipe has none of the basis elements")
    metal = sum(oxide_to_metal(float(oxide_by_element.get(element, 0.0)), element, factors) for element in basis)
    return metal / sum(float(recipe[element]) for element in basis)


def magnet_content_as_oxide(magnet_tonnes: float, recipe: Mapping[str, float], factors: Mapping[str, float]) -> dict[str, float]:
    """t REO of each rare earth in `magnet_tonnes` of magnet (the inverse of `magnet_mass_from_content`)."""
    return {
        element: magnet_tonnes * float(share) / float(factors.get(element, DEFAULT_METAL_FACTOR))
        for element, share in recipe.items()
        if float(share) > 0
    }


def recipe_table(recipes: pd.DataFrame, rare_earths: Iterable[str]) -> pd.DataFrame:
    """Metal share of each rare earth per tonne of magnet, magnet types x elements (other metals dropped)."""
    kept = recipes[recipes["element"].isin(list(rare_earths))]
    return kept.pivot_table(index="magnet_type", columns="element", values="share", aggfunc="sum", fill_value=0.0)
