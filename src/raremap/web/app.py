"""The FastAPI application: REST API, dashboard, locally served assets and self-hosted API docs.

FastAPI's own /docs and /redoc pages load scripts from a CDN, so they are off; /api is an API
reference rendered here from the OpenAPI spec (served at /openapi.json).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from raremap.data.dataset import Dataset
from raremap.errors import RaremapError
from raremap.report.assets import geo_assets_script, plotly_javascript
from raremap.report.html import escape
from raremap.scenario import ScenarioError
from raremap.web import api, dashboard
from raremap.web.jobs import JobLimitError, JobManager
from raremap.web.pages import page
from raremap.web.security import BodyLimitMiddleware, SecurityHeadersMiddleware
from raremap.web.settings import WebSettings
from raremap.web.state import ServerState
from raremap.web.storage import Storage

STATIC_CACHE = "public, max-age=86400"
WRITE_METHODS = ("post", "put", "patch", "delete")


def create_app(settings: WebSettings, dataset: Dataset | None = None) -> FastAPI:
    """The app for one store; `dataset` defaults to the bundled one."""
    import raremap

    dataset = dataset if dataset is not None else raremap.load()
    storage = Storage(settings.db_path)
    state = ServerState(
        settings=settings, dataset=dataset, storage=storage, jobs=JobManager(settings, storage)
    )
    app = FastAPI(
        title="raremap",
        version=raremap.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        description="Rare-earth supply-chain strategy: datasets, scenarios, runs and metrics. Reading is "
        "open; writing and running need `Authorization: Bearer TOKEN`.",
    )
    app.state.settings = settings
    app.state.server = state
    app.include_router(api.router)
    app.include_router(dashboard.router)
    add_static_routes(app)
    add_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(SecurityHeadersMiddleware)
    app.router.add_event_handler("shutdown", state.jobs.shutdown)
    return app


def add_static_routes(app: FastAPI) -> None:
    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_script() -> Response:
        return Response(
            plotly_javascript(), media_type="text/javascript", headers={"Cache-Control": STATIC_CACHE}
        )

    @app.get("/static/geo-assets.js", include_in_schema=False)
    def geo_assets() -> Response:
        return Response(
            geo_assets_script(), media_type="text/javascript", headers={"Cache-Control": STATIC_CACHE}
        )

    @app.get("/api", include_in_schema=False, response_class=HTMLResponse)
    def api_reference() -> str:
        return page("API reference", api_reference_html(app.openapi()))


def api_reference_html(spec: dict[str, Any]) -> str:
    """A table of every operation of the OpenAPI spec: method, path, what it does, parameters, token."""
    rows = []
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = ", ".join(
                f"{parameter['name']} ({parameter['in']})" for parameter in operation.get("parameters", [])
            )
            token = "yes" if method in WRITE_METHODS else "no"
            rows.append(
                f"<tr><td>{method.upper()}</td><td><code>{escape(path)}</code></td>"
                f"<td>{escape(operation.get('summary', ''))}</td><td>{escape(parameters)}</td><td>{token}</td></tr>"
            )
    return (
        '<p>The machine-readable spec is at <a href="/openapi.json">/openapi.json</a>. Operations marked '
        "token need <code>Authorization: Bearer TOKEN</code>.</p><table><thead><tr><th>method</th><th>path</th>"
        f"<th>what</th><th>parameters</th><th>token</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def add_error_handlers(app: FastAPI) -> None:
    """Errors a client can fix become 4xx with the engine's own message."""

    @app.exception_handler(ScenarioError)
    async def scenario_error(request: Request, error: ScenarioError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "problems": list(error.problems)}, status_code=422)

    @app.exception_handler(JobLimitError)
    async def job_limit(request: Request, error: JobLimitError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"Retry-After": "5"})

    @app.exception_handler(RaremapError)
    async def raremap_error(request: Request, error: RaremapError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)
