"""The REST API: datasets, scenarios, runs as jobs, and metrics, under /api.

Every error a client can fix comes back as a 4xx with a `detail` that says what to change;
reading needs no token, writing and running do (see raremap.web.security).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from raremap.data.schema import table_schemas
from raremap.errors import RaremapError
from raremap.scenario import ScenarioError, json_schema
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

router = APIRouter(prefix="/api")
State = Annotated[ServerState, Depends(server_state)]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
PLAN_SCENARIOS = 20
"""Scenarios a plan run draws when the request does not say: enough for a chart, done in seconds."""
PLAN_FRONTIER = 3
DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


class RunBody(BaseModel):
    """A run to start: its kind, a scenario name, and changes deep-merged onto that scenario.

    For `risk` and `plan` runs, `scenario` names a built-in risk or plan file; `draws` and `seed` are
    for risk runs, `scenarios` (drawn scenarios) and `frontier` (points on the cost-risk frontier) for plans.
    """

    model_config = ConfigDict(extra="forbid")

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


class NoAliasLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses anchors and aliases, so a small body cannot expand into a huge one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("anchors and aliases (&name, *name) are not accepted; write the values out")
        return super().compose_node(parent, index)


async def document_from(request: Request) -> dict[str, Any]:
    """The scenario mapping in a request body, as JSON or YAML by its content type."""
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        document = yaml.load(text, Loader=NoAliasLoader) if content_type in YAML_TYPES else json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise HTTPException(status_code=400, detail=f"the body is not valid JSON or YAML: {error}") from None
    if not isinstance(document, dict):
        raise HTTPException(status_code=422, detail="the body must be a mapping (name: ..., base: ..., ...)")
    return document


@router.get("/health", summary="Whether the server is up, its dataset and the run kinds it can start")
def health(state: State) -> dict[str, Any]:
    return {
        "status": "ok",
        "dataset_version": state.dataset.version,
        "kinds": {kind: unavailable_reason(kind) or "available" for kind in KINDS},
    }


@router.get("/datasets", summary="The dataset the server runs on, and the versions held in its store")
def datasets(state: State) -> dict[str, Any]:
    with state.storage.connection() as connection:
        stored = connection.execute(
            "SELECT version, origin, CAST(loaded_at AS VARCHAR) AS loaded_at, row_count "
            "FROM datasets ORDER BY loaded_at"
        ).df()
    current = {
        "version": state.dataset.version,
        "origin": state.dataset.origin,
        "tables": {name: len(frame) for name, frame in state.dataset.tables.items()},
    }
    return {"current": current, "stored": plain(stored.to_dict("records"))}


@router.get("/datasets/current/tables/{table}", summary="Rows of one table of the current dataset")
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


@router.get("/scenarios/{name}", summary="One scenario with its bases merged in")
def get_scenario(state: State, name: str) -> dict[str, Any]:
    try:
        scenario = scenarios.scenario_named(name, state.storage, state.dataset)
    except scenarios.ScenarioNotFoundError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return {"name": name, "scenario": scenario.model_dump(mode="json")}


@router.post(
    "/scenarios/validate",
    summary="Check a scenario document (JSON or YAML) without saving it",
    openapi_extra=DOCUMENT_BODY,
)
async def validate_scenario(state: State, request: Request) -> dict[str, Any]:
    document = await document_from(request)
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
    openapi_extra=DOCUMENT_BODY,
    summary="Save a scenario document (JSON or YAML); its name must not be a built-in's",
)
async def create_scenario(state: State, request: Request) -> dict[str, Any]:
    document = await document_from(request)
    scenario = scenarios.validate_new(document, state.storage, state.dataset)
    state.storage.save_scenario(scenario.name, document)
    return {"name": scenario.name, "scenario": scenario.model_dump(mode="json")}


@router.get("/metrics", summary="Concentration, sourcing, coverage, criticality and the CRMA scorecard")
def metrics(
    state: State,
    importer: Annotated[str, Query(pattern="^[A-Za-z]{3}$")] = "IND",
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    element: Annotated[str, Query(min_length=1, max_length=16)] = "REO",
) -> dict[str, Any]:
    return plain(state.metrics_summary(importer.upper(), year, element))


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


@router.get("/jobs/{job_id}", summary="One job's status, progress and, when done, its run id")
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


@router.get("/runs/{run_id}", summary="One stored run: its specification, summary and result names")
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


@router.get("/runs/{run_id}/results/{result}", summary="Rows of one result table of a stored run")
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
