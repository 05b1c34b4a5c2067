"""The files a page needs to draw charts offline: plotly.js and the world map.

Both come from inside the installation (plotly.js from the `plotly` package, the map from this
package's assets folder), never from a CDN: raremap must work on a machine with no network.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from raremap.errors import RaremapError

TOPOJSON_NAME = "world_110m"


@lru_cache(maxsize=1)
def plotly_javascript() -> str:
    """The plotly.js bundle of the installed `plotly` package (about 4.8 MB of text)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as error:
        raise RaremapError(
            "the report and the dashboard need plotly; install it with `pip install 'raremap[report]'`"
        ) from error
    return str(get_plotlyjs())


@lru_cache(maxsize=1)
def world_topojson() -> str:
    """The Natural Earth 1:110m world TopoJSON shipped in the package, as compact JSON text."""
    text = resources.files("raremap.report").joinpath("assets", f"{TOPOJSON_NAME}.json").read_text("utf-8")
    return json.dumps(json.loads(text), separators=(",", ":"))


def geo_assets_script() -> str:
    """JavaScript that hands plotly.js the world map before any figure, so it never fetches one."""
    return f"window.PlotlyGeoAssets = {{topojson: {{{TOPOJSON_NAME}: {world_topojson()}}}}};"


def script_safe(text: str) -> str:
    """Text that can sit inside a <script> element: no `</` that could close it early."""
    return text.replace("</", "<\\/")
