"""The FastAPI application: REST API, dashboard, locally served assets and self-hosted API docs.

FastAPI's own /docs and /redoc pages load scripts from a CDN, so they are off; /api is an API
reference rendered here from the OpenAPI spec (served at /openapi.json). The spec states this
server's limits (largest draws, scenarios, frontier points; body size) and every error answer,
all with one error body: `detail` (what is wrong and the fix) and `problems` (each one).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from raremap.data.dataset import Dataset
from raremap.data.store import StoreBusyError, StoreDamagedError
from raremap.errors import NotCoveredError, RaremapError
from raremap.report.assets import geo_assets_script, plotly_javascript
from raremap.report.html import RENDER_SCRIPT
from raremap.scenario import Scenario
from raremap.specfiles import SpecificationError
from raremap.web import api, dashboard
from raremap.web.jobs import JobLimitError, JobManager
from raremap.web.pages import render, static_file
from raremap.web.scenarios import NAME_PATTERN
from raremap.web.security import BodyGuardMiddleware, SecurityHeadersMiddleware
from raremap.web.settings import WebSettings
from raremap.web.state import ServerState
from raremap.web.storage import Storage

STATIC_CACHE = "public, max-age=86400"
WRITE_METHODS = ("post", "put", "patch", "delete")
STATIC_FILES = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}


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
        "open; writing and running need `Authorization: Bearer TOKEN`. Scenario documents are sent as "
        "application/json or application/yaml; every error answer has `detail` and `problems`.",
    )
    app.state.settings = settings
    app.state.server = state
    app.include_router(api.router)
    app.include_router(dashboard.router)
    add_static_routes(app)
    add_error_handlers(app)
    app.openapi = lambda: openapi_with_limits(app, settings)  # type: ignore[method-assign]
    app.add_middleware(BodyGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(SecurityHeadersMiddleware)
    app.router.add_event_handler("shutdown", state.jobs.shutdown)
    return app


def openapi_with_limits(app: FastAPI, settings: WebSettings) -> dict[str, Any]:
    """The OpenAPI spec with this server's limits and the scenario document schema filled in."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    scenario = Scenario.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(scenario.pop("$defs", {}))
    schemas["Scenario"] = scenario
    saved = copy.deepcopy(scenario)
    saved["properties"]["name"]["pattern"] = NAME_PATTERN.pattern
    saved["title"] = "A scenario to save (its name: 1-64 lower-case letters, digits and dashes)"
    schemas["SavedScenario"] = saved
    _metric_choices(spec, dataset_of(app))
    run_body = schemas["RunBody"]["properties"]
    for name, limit in (
        ("draws", settings.max_draws),
        ("scenarios", settings.max_plan_scenarios),
        ("frontier", settings.max_frontier_points),
    ):
        for alternative in run_body[name].get("anyOf", [run_body[name]]):
            if alternative.get("type") == "integer":
                alternative["maximum"] = limit
    app.openapi_schema = spec
    return spec


def dataset_of(app: FastAPI) -> Dataset:
    state: ServerState = app.state.server
    return state.dataset


def _metric_choices(spec: dict[str, Any], dataset: Dataset) -> None:
    """The years and elements /api/metrics accepts, from this server's dataset."""
    from raremap.metrics.inputs import available_years, inputs_from_dataset, valid_elements

    operation = spec["paths"]["/api/metrics"]["get"]
    for parameter in operation.get("parameters", []):
        schema = parameter["schema"]
        if parameter["name"] == "year":
            years = list(available_years(inputs_from_dataset(dataset)))
            for alternative in schema.get("anyOf", [schema]):
                if alternative.get("type") == "integer":
                    alternative["enum"] = years
        elif parameter["name"] == "element":
            schema["enum"] = list(valid_elements())


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

    @app.get("/static/render-figures.js", include_in_schema=False)
    def render_figures() -> Response:
        return Response(RENDER_SCRIPT, media_type="text/javascript", headers={"Cache-Control": STATIC_CACHE})

    @app.get("/static/{name}", include_in_schema=False)
    def dashboard_file(name: str) -> Response:
        if name not in STATIC_FILES:
            return JSONResponse({"detail": f"no static file {name!r}", "problems": []}, status_code=404)
        return Response(static_file(name), media_type=STATIC_FILES[name], headers={"Cache-Control": STATIC_CACHE})

    @app.get("/api", include_in_schema=False, response_class=HTMLResponse)
    def api_reference(request: Request) -> str:
        return render("api_reference.html", title="API reference", operations=api_operations(app.openapi()))


def api_operations(spec: dict[str, Any]) -> list[dict[str, str]]:
    """Every operation of the OpenAPI spec: method, path, what it does, parameters, whether it needs the token."""
    rows = []
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = ", ".join(
                f"{parameter['name']} ({parameter['in']})" for parameter in operation.get("parameters", [])
            )
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "parameters": parameters,
                    "token": "yes" if method in WRITE_METHODS else "no",
                }
            )
    return rows


def error_body(
    detail: str, status_code: int, problems: list[str] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": problems or []}, status_code=status_code, headers=headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI spec documents for a path (literal paths before templated ones)."""
    paths = app.openapi().get("paths", {})
    for template in sorted(paths, key=lambda candidate: candidate.count("{")):
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            return sorted(method.upper() for method in paths[template])
    return []


def add_error_handlers(app: FastAPI) -> None:
    """Errors a client can fix become 4xx with the engine's own message; a busy store is 503."""

    @app.exception_handler(SpecificationError)
    async def specification_error(request: Request, error: SpecificationError) -> JSONResponse:
        return error_body(str(error), 422, list(error.problems))

    @app.exception_handler(JobLimitError)
    async def job_limit(request: Request, error: JobLimitError) -> JSONResponse:
        return error_body(str(error), 429, headers={"Retry-After": "5"})

    @app.exception_handler(StoreBusyError)
    async def store_busy(request: Request, error: StoreBusyError) -> Response:
        headers = {"Retry-After": str(error.retry_after_seconds)}
        if request.method == "GET" and not request.url.path.startswith("/api"):
            # A person on a page gets a page that tries again by itself, not a JSON body.
            page = render("busy.html", title="The store is busy", detail=str(error),
                          retry_after=error.retry_after_seconds)
            return HTMLResponse(page, status_code=503, headers=headers)
        return error_body(str(error), 503, headers=headers)

    @app.exception_handler(StoreDamagedError)
    async def store_damaged(request: Request, error: StoreDamagedError) -> JSONResponse:
        return error_body(str(error), 503, headers={"Retry-After": "60"})

    @app.exception_handler(NotCoveredError)
    async def not_covered(request: Request, error: NotCoveredError) -> JSONResponse:
        return error_body(str(error), 404)

    @app.exception_handler(RaremapError)
    async def raremap_error(request: Request, error: RaremapError) -> JSONResponse:
        return error_body(str(error), 422)

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
        ]
        return error_body(f"the request does not match the API: {'; '.join(problems)}", 422, problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            allowed = allowed_methods(app, request.url.path) or sorted(
                method.strip() for method in headers.get("Allow", "").split(",") if method.strip()
            )
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; use {', '.join(allowed) or 'another path'}"
            return error_body(detail, 405, headers=headers)
        return error_body(str(error.detail), error.status_code, headers=headers)

