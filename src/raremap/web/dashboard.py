"""The dashboard: pick a scenario, edit its shocks, run it, watch progress, see and compare charts.

Server-rendered pages; the only scripts are plotly.js (served locally) and a few lines that post
the scenario form to the API and poll a job's progress.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from raremap.overview import latest_common_year
from raremap.report.html import escape
from raremap.report.run_sections import run_sections
from raremap.report.world import share_map, value_chain_sankey
from raremap.scenario import Scenario
from raremap.vocabulary import STAGES
from raremap.web import scenarios
from raremap.web.pages import link_table, page, sections_html
from raremap.web.security import COOKIE_NAME, same_token
from raremap.web.state import ServerState, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
FORM_CHOICES = ("ban", "quota", "licence_delay")
MAXIMUM_COMPARED = 6
JOB_SUBJECTS = {"simulate": "scenario", "risk": "risk file", "plan": "plan"}

START_RUN_SCRIPT = """
// Post a run (with the form's token if given); go to its job page, or show why it was refused.
function startRun(form, body, message) {
  var headers = {'Content-Type': 'application/json'};
  if (form.token && form.token.value) { headers['Authorization'] = 'Bearer ' + form.token.value; }
  message.textContent = 'starting...';
  fetch('/api/runs', {method: 'POST', headers: headers, body: JSON.stringify(body), credentials: 'same-origin'})
    .then(function (response) { return response.json().then(function (data) { return [response.status, data]; }); })
    .then(function (answer) {
      if (answer[0] === 202) { window.location = '/jobs/' + answer[1].job_id; return; }
      var detail = answer[1].detail;
      message.textContent = typeof detail === 'string' ? detail : JSON.stringify(detail, null, 1);
    })
    .catch(function (error) { message.textContent = String(error); });
}
"""
FORM_SCRIPT = START_RUN_SCRIPT + """
function rows(kind) {
  var result = [];
  document.querySelectorAll('tr[data-kind="' + kind + '"]').forEach(function (row) {
    if (row.querySelector('[name=remove]') && row.querySelector('[name=remove]').checked) { return; }
    var item = JSON.parse(row.dataset.original || '{}');
    row.querySelectorAll('[data-field]').forEach(function (input) {
      var field = input.dataset.field, value = input.value.trim();
      if (value === '') { delete item[field]; return; }
      if (input.dataset.type === 'list') { item[field] = value.split(',').map(function (part) { return part.trim(); }).filter(Boolean); }
      else if (input.dataset.type === 'number') { item[field] = Number(value); }
      else { item[field] = value; }
    });
    if (!item[row.dataset.key]) { return; }
    if (kind === 'export_controls') {
      if (item.form !== 'quota') { delete item.quota_t; delete item.quota_share_of_base; }
      if (item.form !== 'licence_delay') { delete item.delay_days; delete item.delay_working_days; }
      if (item.quota_t !== undefined) { delete item.quota_share_of_base; }
      if (item.delay_working_days !== undefined && item.delay_days !== undefined) { delete item.delay_working_days; }
    }
    result.push(item);
  });
  return result;
}
document.getElementById('scenario-form').addEventListener('submit', function (event) {
  event.preventDefault();
  var form = event.target, message = document.getElementById('form-message');
  var body = {kind: 'simulate', scenario: form.dataset.scenario, overrides: {
    periods: {start: Number(form.periods_start.value), end: Number(form.periods_end.value)},
    export_controls: rows('export_controls'), disruptions: rows('disruptions')}};
  startRun(form, body, message);
});
"""
PLAN_SCRIPT = START_RUN_SCRIPT + """
document.querySelectorAll('form.plan-form').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var message = form.querySelector('.error');
    var body = {kind: 'plan', scenario: form.dataset.plan,
                scenarios: Number(form.scenarios.value), frontier: Number(form.frontier.value)};
    startRun(form, body, message);
  });
});
"""
JOB_SCRIPT = """
(function poll() {
  var box = document.getElementById('job');
  fetch('/api/jobs/' + box.dataset.job, {credentials: 'same-origin'}).then(function (response) { return response.json(); })
    .then(function (job) {
      document.getElementById('bar').style.width = Math.round(job.progress * 100) + '%';
      document.getElementById('status').textContent = job.status + ': ' + job.message;
      document.getElementById('status').className = 'status-' + job.status;
      if (job.status === 'done') { window.location = '/runs/' + job.run_id; }
      else if (job.status === 'queued' || job.status === 'running') { setTimeout(poll, 400); }
    })
    .catch(function () { setTimeout(poll, 1000); });
})();
"""


def logged_in(request: Request, state: ServerState) -> bool:
    return same_token(request.cookies.get(COOKIE_NAME), state.settings.token)


def runs_frame(state: ServerState) -> pd.DataFrame:
    catalog = state.storage.run_catalog()
    return catalog[["run_id", "kind", "name", "dataset_version", "created_at"]].assign(
        dataset_version=catalog["dataset_version"].str[:12], created_at=catalog["created_at"].str[:19]
    )


def runs_form(state: ServerState) -> str:
    """The stored runs with a checkbox each, to compare the ones ticked."""
    frame = runs_frame(state)
    if frame.empty:
        return "<p>No stored runs yet: run a scenario above.</p>"
    rows = "".join(
        f'<tr><td><input type="checkbox" name="run" value="{escape(row.run_id)}"></td>'
        f'<td><a href="/runs/{escape(row.run_id)}">{escape(row.run_id)}</a></td><td>{escape(row.kind)}</td>'
        f"<td>{escape(row.name)}</td><td>{escape(row.created_at)}</td><td>{escape(row.dataset_version)}</td></tr>"
        for row in frame.itertuples(index=False)
    )
    return (
        '<form method="get" action="/compare"><table><thead><tr><th></th><th>run</th><th>kind</th><th>scenario</th>'
        f"<th>created</th><th>dataset</th></tr></thead><tbody>{rows}</tbody></table>"
        '<button type="submit" id="compare">Compare selected</button></form>'
    )


def token_field(request: Request, state: ServerState) -> str:
    if logged_in(request, state):
        return ""
    return (
        '<label>Token <input name="token" type="password" autocomplete="off"></label> '
        '(printed when the server started; or <a href="/login">log in</a>) '
    )


def plan_forms(request: Request, state: ServerState) -> str:
    """One small form per built-in plan: scenarios and frontier points within the server's caps, then Run."""
    from raremap.web.api import PLAN_FRONTIER, PLAN_SCENARIOS
    from raremap.web.engines import plan_names

    limits = state.settings
    forms = []
    for name in plan_names():
        forms.append(
            f'<form class="plan-form" data-plan="{escape(name)}"><strong>{escape(name)}</strong> '
            f'<label>scenarios <input class="tiny" name="scenarios" type="number" min="1" '
            f'max="{limits.max_plan_scenarios}" value="{min(PLAN_SCENARIOS, limits.max_plan_scenarios)}"></label> '
            f'<label>frontier points <input class="tiny" name="frontier" type="number" min="1" '
            f'max="{limits.max_frontier_points}" value="{min(PLAN_FRONTIER, limits.max_frontier_points)}"></label> '
            f'{token_field(request, state)}<button type="submit" id="plan-{escape(name)}">Plan</button> '
            '<span class="error"></span></form>'
        )
    return (
        "<p>Solve a built-in diversification plan (at most "
        f"{limits.max_plan_scenarios} scenarios and {limits.max_frontier_points} frontier points here; "
        "`raremap plan` for more).</p>" + "".join(forms)
    )


@router.get("/", response_class=HTMLResponse)
def home(state: State, request: Request) -> str:
    listing = pd.DataFrame(scenarios.listing(state.storage))
    jobs = pd.DataFrame(
        state.jobs.listing()[:10],
        columns=["job_id", "kind", "scenario", "status", "progress", "message", "run_id"],
    )
    year = latest_common_year(state.dataset)
    importer = state.settings.importer
    world = [
        share_map(state.dataset, "separation", year, importer),
        value_chain_sankey(state.dataset, year, importer),
    ]
    from raremap.report.figure import Section

    body = (
        f"<p>Dataset {escape(state.dataset.version[:12])} ({escape(state.dataset.origin)}). Pick a scenario to "
        "edit its shocks and run it.</p><h2>Scenarios</h2>"
        + link_table(listing, {"name": "/scenarios/{value}"})
        + "<h2>Plans</h2>"
        + plan_forms(request, state)
        + "<h2>Recent jobs</h2>"
        + link_table(jobs, {"job_id": "/jobs/{value}", "run_id": "/runs/{value}"})
        + "<h2>Stored runs</h2>"
        + runs_form(state)
        + sections_html(
            [
                Section(
                    "world",
                    "Where the value chain sits",
                    f"Separation shares and the value chain, {year}; {importer}'s flows in red.",
                    figures=tuple(world),
                )
            ]
        )
    )
    return page("Dashboard", body, figures=True, script=PLAN_SCRIPT)


def _input(field: str, value: Any, css: str = "short", kind: str = "text") -> str:
    shown = (
        ", ".join(map(str, value))
        if isinstance(value, list | tuple)
        else ("" if value is None else str(value))
    )
    type_attribute = (
        ' data-type="list"' if kind == "list" else ' data-type="number"' if kind == "number" else ""
    )
    return f'<input class="{css}" data-field="{field}"{type_attribute} value="{escape(shown)}" aria-label="{field}">'


def _select(field: str, value: Any, choices: tuple[str, ...]) -> str:
    options = "".join(
        f"<option{' selected' if choice == value else ''}>{choice}</option>" for choice in choices
    )
    return f'<select data-field="{field}" aria-label="{field}">{options}</select>'


def export_control_rows(scenario: Scenario) -> str:
    items = [control.model_dump(mode="json") for control in scenario.export_controls]
    rows = []
    for item in [*items, {}]:
        original = escape(json.dumps(item))
        rows.append(
            f'<tr data-kind="export_controls" data-key="exporter" data-original="{original}">'
            f"<td>{_input('exporter', item.get('exporter'), 'tiny')}</td>"
            f"<td>{_input('stages', item.get('stages'), 'short', 'list')}</td>"
            f"<td>{_input('elements', item.get('elements'), 'short', 'list')}</td>"
            f"<td>{_input('destinations', item.get('destinations'), 'short', 'list')}</td>"
            f"<td>{_select('form', item.get('form', 'ban'), FORM_CHOICES)}</td>"
            f"<td>{_input('start', item.get('start'))}</td><td>{_input('end', item.get('end'))}</td>"
            f"<td>{_input('quota_share_of_base', item.get('quota_share_of_base'), 'tiny', 'number')}</td>"
            f"<td>{_input('delay_days', item.get('delay_days'), 'tiny', 'number')}</td>"
            f"<td>{'<input type=checkbox name=remove aria-label=remove>' if item else 'new'}</td></tr>"
        )
    header = "".join(
        f"<th>{name}</th>"
        for name in (
            "exporter",
            "stages",
            "elements",
            "destinations",
            "form",
            "start",
            "end",
            "quota share",
            "delay days",
            "remove",
        )
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def disruption_rows(scenario: Scenario) -> str:
    items = [disruption.model_dump(mode="json") for disruption in scenario.disruptions]
    rows = []
    for item in [*items, {}]:
        rows.append(
            f'<tr data-kind="disruptions" data-key="country" data-original="{escape(json.dumps(item))}">'
            f"<td>{_input('country', item.get('country'), 'tiny')}</td>"
            f"<td>{_select('stage', item.get('stage', 'mining'), STAGES)}</td>"
            f"<td>{_input('share_lost', item.get('share_lost'), 'tiny', 'number')}</td>"
            f"<td>{_input('start', item.get('start'), 'tiny', 'number')}</td>"
            f"<td>{_input('duration_years', item.get('duration_years'), 'tiny', 'number')}</td>"
            f"<td>{'<input type=checkbox name=remove aria-label=remove>' if item else 'new'}</td></tr>"
        )
    header = "".join(
        f"<th>{name}</th>" for name in ("country", "stage", "share lost", "start year", "years", "remove")
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@router.get("/scenarios/{name}", response_class=HTMLResponse)
def scenario_page(state: State, request: Request, name: str) -> str:
    try:
        scenario = scenarios.scenario_named(name, state.storage, state.dataset)
    except scenarios.ScenarioNotFoundError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    token = (
        ""
        if logged_in(request, state)
        else '<p><label>Token <input name="token" type="password" autocomplete="off"></label> '
        '(printed when the server started; or <a href="/login">log in</a>)</p>'
    )
    body = (
        f"<p>{escape(' '.join(scenario.description.split()))}</p>"
        f'<form id="scenario-form" data-scenario="{escape(name)}">'
        f'<fieldset><legend>Periods</legend><label>start <input class="tiny" name="periods_start" '
        f'value="{scenario.periods.start}"></label> <label>end <input class="tiny" name="periods_end" '
        f'value="{scenario.periods.end}"></label> (at most {state.settings.max_periods} periods)</fieldset>'
        f"<fieldset><legend>Export controls</legend>{export_control_rows(scenario)}"
        "<p class='caption'>Lists are comma-separated; dates are a year, YYYY-MM or YYYY-MM-DD; fill the last row "
        "to add one.</p></fieldset>"
        f"<fieldset><legend>Supply disruptions</legend>{disruption_rows(scenario)}</fieldset>"
        f'{token}<button type="submit" id="run">Run</button> <span id="form-message" class="error"></span></form>'
    )
    return page(f"Scenario: {name}", body, script=FORM_SCRIPT)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(state: State, job_id: str) -> str:
    try:
        job = state.jobs.get(job_id)
    except KeyError:
        raise HTTPException(status_code=404, detail=f"no job {job_id!r}") from None
    body = (
        f'<div id="job" data-job="{escape(job_id)}"><p>{escape(job["kind"])} of {JOB_SUBJECTS.get(job["kind"], "")} '
        f'{escape(job["scenario"])}</p><div class="progress"><div id="bar"></div></div>'
        f'<p id="status">{escape(job["status"])}: {escape(job["message"])}</p></div>'
    )
    return page("Run in progress", body, script=JOB_SCRIPT)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(state: State) -> str:
    return page("Stored runs", runs_form(state))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(state: State, run_id: str) -> str:
    run = state.stored_run(run_id)
    sections = run_sections([run])
    summary = pd.DataFrame(
        [{key: value for key, value in run.summary.items() if not isinstance(value, dict | list)}]
    )
    body = (
        f"<p>{escape(run.kind)} of scenario <strong>{escape(run.name)}</strong>, {escape(run.created_at[:19])}, "
        f'dataset {escape(run.dataset_version[:12])}. <a href="/api/runs/{escape(run.run_id)}">JSON</a></p>'
        + link_table(summary, {})
        + sections_html(sections)
    )
    return page(f"Run {run.name}", body, figures=True)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(state: State, run: Annotated[list[str], Query(max_length=MAXIMUM_COMPARED)] = []) -> str:  # noqa: B006
    if not run:
        return page("Compare runs", '<p>Tick two or more runs on the <a href="/runs">runs page</a>.</p>')
    runs = [state.stored_run(run_id) for run_id in run]
    return page("Compare runs", sections_html(run_sections(runs)), figures=True)


@router.get("/login", response_class=HTMLResponse)
def login_page(state: State, token: str | None = None) -> Any:
    if token is not None:
        return _login(state, token)
    body = (
        '<form method="post" action="/login"><label>Token <input name="token" type="password" autocomplete="off">'
        '</label> <button type="submit">Log in</button></form>'
    )
    return page("Log in", body)


@router.post("/login", response_class=HTMLResponse)
async def login_form(state: State, request: Request) -> Any:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return _login(state, (fields.get("token") or [""])[0])


def _login(state: ServerState, token: str) -> Any:
    if not same_token(token, state.settings.token):
        return HTMLResponse(
            page("Log in", '<p class="error">Wrong token.</p><p><a href="/login">Try again</a></p>'),
            status_code=401,
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", path="/")
    return response
