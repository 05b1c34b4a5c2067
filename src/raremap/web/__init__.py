"""The web API and dashboard (`raremap serve`); needs the `web` extra (fastapi, uvicorn, plotly).

Nothing here is imported by the core package, so `import raremap` works without these extras.
"""

from __future__ import annotations

from typing import Any


def create_app(*arguments: Any, **keywords: Any) -> Any:
    """Build the FastAPI app (see raremap.web.app.create_app); imported lazily to keep fastapi optional."""
    from raremap.web.app import create_app as build

    return build(*arguments, **keywords)


__all__ = ["create_app"]
