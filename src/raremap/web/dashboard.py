"""The dashboard: pick a scenario, edit its shocks, run it, watch progress, see and compare charts.

Server-rendered pages from autoescaped templates (raremap.web.pages); the only scripts are
plotly.js, the figure renderer and `static/dashboard.js`, which posts the scenario form to the
API and polls a job's progress. Pages that draw the dataset (the home page's map and value chain)
are built once per dataset and kept, since the dataset does not change while the server runs.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from raremap.report.run_sections import run_sections
from raremap.scenario import Scenario
from raremap.vocabulary import STAGES
from raremap.web import scenarios
from raremap.web.pages import render, sections_html, table_rows
from raremap.web.security import COOKIE_NAME, same_token
from raremap.web.state import ServerState, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
FORM_CHOICES = ("ban", "quota", "licence_delay")
MAXIMUM_COMPARED = 6
JOB_SUBJECTS = {"simulate": "scenario", "risk": "risk file", "plan": "plan"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def logged_in(request: Request, state: ServerState) -> bool:
    return same_token(request.cookies.get(COOKIE_NAME), state.settings.token)


def runs_listing(state: ServerState) -> list[dict[str, str]]:
    """Stored runs for the runs table: id, kind, scenario, creation time and dataset version, newest first."""
    catalog = state.storage.run_catalog()
    return [
        {
            "run_id": str(row.run_id),
            "kind": str(row.kind),
            "name": str(row.name),
            "created_at": str(row.created_at)[:19],
            "dataset_version": str(row.dataset_version)[:12],
        }
        for row in catalog.itertuples(index=False)
    ]


@router.get("/", response_class=HTMLResponse)
def home(state: State, request: Request) -> str:
    from raremap.web.api import PLAN_FRONTIER, PLAN_SCENARIOS
    from raremap.web.engines import plan_names

    limits = state.settings
    scenario_columns, scenario_rows = table_rows(pd.DataFrame(scenarios.listing(state.storage)))
    jobs = pd.DataFrame(
        state.jobs.listing()[:10],
        columns=["job_id", "kind", "scenario", "status", "progress", "message", "run_id"],
    )
    job_columns, job_rows = table_rows(jobs)
    return render(
        "home.html",
        title="Dashboard",
        figures=True,
        logged_in=logged_in(request, state),
        dataset_version=state.dataset.version[:12],
        dataset_origin=state.dataset.origin,
        scenario_columns=scenario_columns,
        scenario_rows=scenario_rows,
        job_columns=job_columns,
        job_rows=job_rows,
        plans=plan_names(),
        limits=limits,
        plan_scenarios=min(PLAN_SCENARIOS, limits.max_plan_scenarios),
        plan_frontier=min(PLAN_FRONTIER, limits.max_frontier_points),
        runs=runs_listing(state),
        sections=state.world_sections(),
    )


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _form_rows(items: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The existing items and one empty row to add a new one, each field as the text an input shows."""
    rows = []
    for item in [*items, {}]:
        row: dict[str, Any] = {field: _shown(item.get(field)) for field in fields}
        row["original"] = json.dumps(item)
        row["existing"] = bool(item)
        rows.append(row)
    return rows


CONTROL_FIELDS = ("exporter", "stages", "elements", "destinations", "form", "start", "end",
                  "quota_share_of_base", "delay_days", "delay_working_days")
DISRUPTION_FIELDS = ("country", "stage", "share_lost", "start", "duration_years")


@router.get("/scenarios/{name}", response_class=HTMLResponse)
def scenario_page(state: State, request: Request, name: str) -> str:
    try:
        scenario: Scenario = scenarios.scenario_named(name, state.storage, state.dataset)
    except scenarios.ScenarioNotFoundError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    controls = _form_rows([control.model_dump(mode="json") for control in scenario.export_controls], CONTROL_FIELDS)
    for row in controls:
        row["form"] = row["form"] or "ban"
    disruptions = _form_rows([item.model_dump(mode="json") for item in scenario.disruptions], DISRUPTION_FIELDS)
    for row in disruptions:
        row["stage"] = row["stage"] or "mining"
    return render(
        "scenario.html",
        title=f"Scenario: {name}",
        logged_in=logged_in(request, state),
        name=name,
        description=" ".join(scenario.description.split()),
        periods=scenario.periods,
        max_periods=state.settings.max_periods,
        controls=controls,
        disruptions=disruptions,
        forms=FORM_CHOICES,
        stages=STAGES,
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(state: State, request: Request, job_id: str) -> str:
    try:
        job = state.jobs.get(job_id)
    except KeyError:
        raise HTTPException(status_code=404, detail=f"no job {job_id!r}") from None
    return render(
        "job.html",
        title="Run in progress",
        logged_in=logged_in(request, state),
        job=job,
        subject=JOB_SUBJECTS.get(job["kind"], ""),
    )


@router.get("/runs", response_class=HTMLResponse)
def runs_page(state: State, request: Request) -> str:
    return render("runs.html", title="Stored runs", logged_in=logged_in(request, state), runs=runs_listing(state))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(state: State, request: Request, run_id: str) -> str:
    run = state.stored_run(run_id)
    summary = pd.DataFrame(
        [{key: value for key, value in run.summary.items() if not isinstance(value, dict | list)}]
    )
    summary_columns, summary_rows = table_rows(summary)
    return render(
        "run.html",
        title=f"Run {run.name}",
        figures=True,
        logged_in=logged_in(request, state),
        run=run,
        summary_columns=summary_columns,
        summary_rows=summary_rows,
        sections=state.cached_page(("run", run_id), lambda: sections_html(run_sections([run]))),
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    state: State, request: Request, run: Annotated[list[str], Query(max_length=MAXIMUM_COMPARED)] = []  # noqa: B006
) -> str:
    if not run:
        body = Markup('<p>Tick two or more runs on the <a href="/runs">runs page</a>.</p>')
        return render("sections.html", title="Compare runs", logged_in=logged_in(request, state), body=body)
    runs = [state.stored_run(run_id) for run_id in run]
    return render(
        "sections.html",
        title="Compare runs",
        figures=True,
        logged_in=logged_in(request, state),
        body="",
        sections=sections_html(run_sections(runs)),
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(state: State, request: Request, token: str | None = None) -> Any:
    if token is not None:
        return _login(state, token)
    return render("login.html", title="Log in", logged_in=logged_in(request, state))


@router.post("/login", response_class=HTMLResponse)
async def login_form(state: State, request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise HTTPException(status_code=415, detail=f"send the login form as {FORM_CONTENT_TYPE}")
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return _login(state, (fields.get("token") or [""])[0])


def _login(state: ServerState, token: str) -> Any:
    if not same_token(token, state.settings.token):
        return HTMLResponse(render("login.html", title="Log in", wrong=True), status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", path="/")
    return response
