"""The REST API: datasets, scenarios, runs as jobs, and metrics, under /api.

Every error a client can fix comes back as a 4xx with a `detail` that says what to change;
reading needs no token, writing and running do (see raremap.web.security).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from raremap.data.schema import table_schemas
from raremap.errors import RaremapError
from raremap.reading_guard import InputError, parse_body
from raremap.scenario import ScenarioError, json_schema
from raremap.suggestions import did_you_mean
from raremap.web import scenarios
from raremap.web.engines import (
    KINDS,
    execution_for,
    plan_execution,
    plan_names,
    risk_execution,
    risk_names,
    unavailable_reason,
)
from raremap.web.jobs import RunRequest
from raremap.web.security import require_token
from raremap.web.state import ServerState, server_state

JSON_TYPE = "application/json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
"""The body types of scenario documents. None is a type a web page on another site may send
without the browser first asking this server (text/plain, forms), so such a page cannot make a
visitor's browser post documents here."""
PLAN_SCENARIOS = 20
"""Scenarios a plan run draws when the request does not say: enough for a chart, done in seconds."""
PLAN_FRONTIER = 3
DOCUMENT_WORKERS = 2
"""Request bodies parsed and validated at the same time (each on a worker thread, never on the
event loop); further requests wait their turn, so a burst of large documents cannot occupy every
thread the server has."""


class ErrorBody(BaseModel):
    """Every error answer: what is wrong and how to fix it, and each problem when there are several."""

    detail: str
    problems: list[str] = Field(default_factory=list)


ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON or YAML, nests too deeply, repeats a key or is not UTF-8.",
    401: "The token is missing or wrong (send `Authorization: Bearer TOKEN`).",
    403: "A cookie-authenticated request from another site.",
    404: "No such scenario, table, run, job, plan or risk file.",
    413: "The body is larger than the server accepts (256 KB by default).",
    415: "The body is not one of the documented content types.",
    422: "The request is well formed but not valid; `problems` lists each problem with its path.",
    429: "Too many jobs are waiting; retry after Retry-After seconds.",
    503: "The store is busy (another process is writing); retry after Retry-After seconds.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for error codes, all with the ErrorBody schema."""
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        responses[code] = {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]}
        if code in (429, 503):
            responses[code]["headers"] = RETRY_AFTER
    return responses


router = APIRouter(prefix="/api", responses=error_responses(422, 503))
State = Annotated[ServerState, Depends(server_state)]
TOKEN_ERRORS = error_responses(401, 403)
DOCUMENT_ERRORS = error_responses(400, 404, 413, 415)
def document_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """The OpenAPI request body of a scenario document, as JSON or YAML."""
    content = {media: {"schema": schema} for media in (JSON_TYPE, *YAML_TYPES)}
    return {"requestBody": {"required": True, "description": description, "content": content}}


ANY_DOCUMENT_BODY = document_body(
    {"type": "object", "additionalProperties": True},
    "Any mapping: the answer lists every problem it has as a scenario (see the Scenario schema).",
)
SAVED_DOCUMENT_BODY = document_body(
    {"$ref": "#/components/schemas/SavedScenario"},
    "A scenario; besides this schema its names must be in the dataset and its dates inside its horizon.",
)


class RunBody(BaseModel):
    """A run to start: its kind, a scenario name, and changes deep-merged onto that scenario.

    For `risk` and `plan` runs, `scenario` names a built-in risk or plan file; `draws` and `seed` are
    for risk runs, `scenarios` (drawn scenarios) and `frontier` (points on the cost-risk frontier) for plans.
    The largest draws, scenarios and frontier this server accepts are in its OpenAPI schema.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["simulate", "risk", "plan"] = "simulate"
    scenario: str = Field(min_length=1, max_length=64)
    overrides: dict[str, Any] = Field(default_factory=dict)
    draws: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    scenarios: int | None = Field(default=None, ge=1)
    frontier: int | None = Field(default=None, ge=1)


def plain(value: Any) -> Any:
    """JSON-safe values: NaN and infinities become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def body_format(request: Request) -> str:
    """'json' or 'yaml' by the request's content type; 415 for anything else (or none)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == JSON_TYPE:
        return "json"
    if content_type in YAML_TYPES:
        return "yaml"
    raise HTTPException(
        status_code=415,
        detail=f"send the document as {JSON_TYPE} or {', '.join(YAML_TYPES)} (not {content_type or 'no type'})",
    )


def document_from(body: bytes, kind: str) -> dict[str, Any]:
    """The scenario mapping in a body, read by the same guarded reader as files (sizes, depth, keys)."""
    try:
        document = parse_body(body, kind)
    except InputError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    if not isinstance(document, dict):
        raise HTTPException(status_code=422, detail="the body must be a mapping (name: ..., base: ..., ...)")
    return document


async def off_the_loop(request: Request, function: Any, *arguments: Any) -> Any:
    """Run CPU work on a worker thread, at most DOCUMENT_WORKERS at a time, so the event loop stays free."""
    limiter = getattr(request.app.state, "document_limiter", None)
    if limiter is None:
        limiter = request.app.state.document_limiter = anyio.CapacityLimiter(DOCUMENT_WORKERS)
    return await anyio.to_thread.run_sync(function, *arguments, limiter=limiter)


@router.get("/health", summary="Whether the server is up, its dataset and the run kinds it can start")
def health(state: State) -> dict[str, Any]:
    return {
        "status": "ok",
        "dataset_version": state.dataset.version,
        "kinds": {kind: unavailable_reason(kind) or "available" for kind in KINDS},
    }


@router.get("/datasets", summary="The dataset the server runs on, and the versions held in its store")
def datasets(state: State) -> dict[str, Any]:
    stored = state.storage.datasets()
    current = {
        "version": state.dataset.version,
        "origin": state.dataset.origin,
        "tables": {name: len(frame) for name, frame in state.dataset.tables.items()},
    }
    return {"current": current, "stored": plain(stored.to_dict("records"))}


@router.get(
    "/datasets/current/tables/{table}",
    summary="Rows of one table of the current dataset",
    responses=error_responses(404),
)
def dataset_table(
    state: State,
    table: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    if table not in table_schemas():
        raise HTTPException(
            status_code=404, detail=f"no table {table!r}; tables are {', '.join(table_schemas())}"
        )
    frame = state.dataset[table]
    rows = frame.iloc[offset : offset + limit].astype(object).where(frame.notna(), None)
    return {"table": table, "total": len(frame), "offset": offset, "rows": plain(rows.to_dict("records"))}


@router.get("/scenarios", summary="Every scenario the server can run: built-in and saved")
def list_scenarios(state: State) -> list[dict[str, Any]]:
    return scenarios.listing(state.storage)


@router.get("/scenarios/schema", summary="The JSON Schema of scenario documents")
def scenario_schema() -> dict[str, Any]:
    return json_schema()


@router.get("/scenarios/{name}", summary="One scenario with its bases merged in", responses=error_responses(404))
def get_scenario(state: State, name: str) -> dict[str, Any]:
    try:
        scenario = scenarios.scenario_named(name, state.storage, state.dataset)
    except scenarios.ScenarioNotFoundError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return {"name": name, "scenario": scenario.model_dump(mode="json")}


@router.post(
    "/scenarios/validate",
    summary="Check a scenario document (JSON or YAML) without saving it",
    openapi_extra=ANY_DOCUMENT_BODY,
    responses=DOCUMENT_ERRORS,
)
async def validate_scenario(state: State, request: Request) -> dict[str, Any]:
    kind = body_format(request)
    body = await request.body()
    return dict(await off_the_loop(request, _validate, state, body, kind))


def _validate(state: ServerState, body: bytes, kind: str) -> dict[str, Any]:
    document = document_from(body, kind)
    try:
        scenario = scenarios.validate_new(document, state.storage, state.dataset)
    except ScenarioError as error:
        return {"valid": False, "problems": list(error.problems)}
    except RaremapError as error:
        return {"valid": False, "problems": [str(error)]}
    return {"valid": True, "problems": [], "scenario": scenario.model_dump(mode="json")}


@router.post(
    "/scenarios",
    status_code=201,
    dependencies=[Depends(require_token)],
    openapi_extra=SAVED_DOCUMENT_BODY,
    responses={**TOKEN_ERRORS, **DOCUMENT_ERRORS},
    summary="Save a scenario document (JSON or YAML); its name must not be a built-in's",
)
async def create_scenario(state: State, request: Request) -> dict[str, Any]:
    kind = body_format(request)
    body = await request.body()
    return dict(await off_the_loop(request, _create, state, body, kind))


def _create(state: ServerState, body: bytes, kind: str) -> dict[str, Any]:
    document = document_from(body, kind)
    scenario = scenarios.validate_new(document, state.storage, state.dataset)
    state.storage.save_scenario(scenario.name, document)
    return {"name": scenario.name, "scenario": scenario.model_dump(mode="json")}


@router.get(
    "/metrics",
    summary="Concentration, sourcing, coverage, criticality and the CRMA scorecard",
    responses=error_responses(404),
)
async def metrics(
    state: State,
    request: Request,
    importer: Annotated[str, Query(pattern="^[A-Za-z]{3}$", description="ISO3 code, any case")] = "IND",
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    element: Annotated[str, Query(min_length=1, max_length=16)] = "REO",
) -> dict[str, Any]:
    code = importer.upper()
    countries = set(state.dataset.tables["countries"]["country"].astype(str))
    if code not in countries:
        raise HTTPException(
            status_code=404, detail=f"no country {importer!r} in the dataset; {did_you_mean(importer, countries, 'country')}"
        )
    summary = await off_the_loop(request, state.metrics_summary, code, year, element)
    return dict(plain(summary))


def checked_request(state: ServerState, body: RunBody) -> tuple[RunRequest, Any]:
    """The run request and its scenario, within this server's limits on draws and periods."""
    limits = state.settings
    reason = unavailable_reason(body.kind)
    if reason is not None:
        raise HTTPException(status_code=422, detail=reason)
    if body.draws is not None and body.draws > limits.max_draws:
        raise HTTPException(
            status_code=422,
            detail=f"draws {body.draws} is above this server's limit of "
            f"{limits.max_draws}; ask for fewer, or run `raremap {body.kind}` from the command line",
        )
    if body.kind == "risk":
        return RunRequest(body.kind, body.scenario, body.overrides, body.draws, body.seed), None
    if body.kind == "plan":
        scenarios_count, frontier = plan_sizes(state, body)
        request = RunRequest(
            body.kind, body.scenario, body.overrides, scenarios=scenarios_count, frontier=frontier
        )
        return request, None
    try:
        scenario = scenarios.scenario_named(body.scenario, state.storage, state.dataset)
    except scenarios.ScenarioNotFoundError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    scenario = scenarios.with_overrides(scenario, body.overrides, state.dataset)
    periods = len(scenario.periods.years())
    if periods > limits.max_periods:
        raise HTTPException(
            status_code=422,
            detail=f"the scenario has {periods} periods, above this server's limit "
            f"of {limits.max_periods}; shorten periods.end or lengthen periods.length",
        )
    request = RunRequest(body.kind, body.scenario, body.overrides, body.draws, body.seed)
    return request, scenario


def plan_sizes(state: ServerState, body: RunBody) -> tuple[int, int]:
    """Scenarios and frontier points of a plan run: small defaults, and refused above the server's caps."""
    limits = state.settings
    if body.scenarios is not None and body.scenarios > limits.max_plan_scenarios:
        raise HTTPException(
            status_code=422,
            detail=f"scenarios {body.scenarios} is above this server's limit of {limits.max_plan_scenarios}; "
            "ask for fewer, or run `raremap plan` from the command line",
        )
    if body.frontier is not None and body.frontier > limits.max_frontier_points:
        raise HTTPException(
            status_code=422,
            detail=f"frontier {body.frontier} is above this server's limit of {limits.max_frontier_points} "
            "points; ask for fewer, or run `raremap plan` from the command line",
        )
    scenarios_count = body.scenarios or min(PLAN_SCENARIOS, limits.max_plan_scenarios)
    frontier = body.frontier or min(PLAN_FRONTIER, limits.max_frontier_points)
    return scenarios_count, frontier


def plan_request(state: ServerState, body: RunBody) -> Any:
    """A plan run of a built-in plan file (named, never a path); takes no overrides."""
    names = plan_names()
    if body.scenario not in names:
        raise HTTPException(
            status_code=404, detail=f"no plan named {body.scenario!r}; plans are {', '.join(names)}"
        )
    if body.overrides or body.draws is not None or body.seed is not None:
        raise HTTPException(
            status_code=422, detail="plan runs take no overrides, draws or seed; give scenarios and frontier"
        )
    scenarios_count, frontier = plan_sizes(state, body)
    return plan_execution(state.dataset, body.scenario, scenarios_count, frontier, state.storage)


def risk_request(state: ServerState, body: RunBody) -> Any:
    """A risk run of a built-in risk file (named, never a path), with its draws within the limit."""
    names = risk_names()
    if body.scenario not in names:
        raise HTTPException(
            status_code=404, detail=f"no risk file named {body.scenario!r}; risk files are {', '.join(names)}"
        )
    if body.overrides:
        raise HTTPException(status_code=422, detail="risk runs take no overrides; give draws and seed")
    draws = body.draws if body.draws is not None else min(1000, state.settings.max_draws)
    return risk_execution(state.dataset, body.scenario, draws, body.seed, state.storage)


@router.post(
    "/runs",
    status_code=202,
    dependencies=[Depends(require_token)],
    responses={**TOKEN_ERRORS, **error_responses(400, 404, 413, 429)},
    summary="Start a run as a background job; poll /api/jobs/{job_id} for its progress",
)
def start_run(state: State, body: RunBody) -> dict[str, Any]:
    request, scenario = checked_request(state, body)
    if body.kind == "risk":
        execution = risk_request(state, body)
    elif body.kind == "plan":
        execution = plan_request(state, body)
    else:
        execution = execution_for(body.kind, state.dataset, scenario, state.storage)
    job = state.jobs.submit(request, execution)
    return plain({**job, "links": {"job": f"/api/jobs/{job['job_id']}", "page": f"/jobs/{job['job_id']}"}})


@router.get("/jobs", summary="Every job, newest first, with status and progress")
def list_jobs(state: State) -> list[dict[str, Any]]:
    return plain(state.jobs.listing())


@router.get(
    "/jobs/{job_id}", summary="One job's status, progress and, when done, its run id", responses=error_responses(404)
)
def get_job(state: State, job_id: str) -> dict[str, Any]:
    try:
        return plain(state.jobs.get(job_id))
    except KeyError:
        raise HTTPException(status_code=404, detail=f"no job {job_id!r}; list jobs at /api/jobs") from None


@router.get("/runs", summary="Every stored run (from the server or the command line), newest first")
def list_runs(state: State) -> list[dict[str, Any]]:
    catalog = state.storage.run_catalog()
    rows = catalog.to_dict("records")
    for row in rows:
        row["summary"] = json.loads(row["summary"]) if row["summary"] else {}
    return plain(rows)


@router.get(
    "/runs/{run_id}",
    summary="One stored run: its specification, summary and result names",
    responses=error_responses(404),
)
def get_run(state: State, run_id: str) -> dict[str, Any]:
    run = state.stored_run(run_id)
    return plain(
        {
            "run_id": run.run_id,
            "kind": run.kind,
            "name": run.name,
            "dataset_version": run.dataset_version,
            "created_at": run.created_at,
            "specification": run.specification,
            "summary": run.summary,
            "results": {name: len(frame) for name, frame in run.results.items()},
        }
    )


@router.get(
    "/runs/{run_id}/results/{result}",
    summary="Rows of one result table of a stored run",
    responses=error_responses(404),
)
def get_run_result(
    state: State,
    run_id: str,
    result: str,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> dict[str, Any]:
    run = state.stored_run(run_id)
    if result not in run.results:
        raise HTTPException(
            status_code=404,
            detail=f"run {run_id} has no result {result!r}; it has {', '.join(run.results) or 'none'}",
        )
    frame = run.results[result]
    rows = frame.iloc[offset : offset + limit].astype(object).where(frame.notna(), None)
    return {
        "run_id": run_id,
        "result": result,
        "total": len(frame),
        "offset": offset,
        "rows": plain(rows.to_dict("records")),
    }
