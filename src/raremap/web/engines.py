"""Adapters from a validated request to an engine run that reports progress and saves its result.

The web layer depends on the engines only here. Each adapter returns a function the job manager
calls on a worker thread; it reports progress between the engine's lifecycle steps and returns
the id of the run it stored. Simulations take a scenario; risk and plan runs take the name of a
built-in risk or plan file (never a path). An unknown kind is refused with a 4xx, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raremap.errors import RaremapError
from raremap.scenario import Scenario
from raremap.web.jobs import Progress
from raremap.web.storage import Storage

Execution = Callable[[Progress], str]
KINDS = ("simulate", "risk", "plan")


def simulation_execution(dataset: Any, scenario: Scenario, storage: Storage) -> Execution:
    """Validate, build, solve and collect one scenario, then save it to the store."""

    def execute(progress: Progress) -> str:
        from raremap.simulate import Simulation

        simulation = Simulation(scenario, dataset=dataset)
        progress(0.1, "checking the scenario against the data")
        simulation.validate()
        progress(0.3, "building the model")
        simulation.build()
        progress(0.6, "solving the equilibrium")
        simulation.solve()
        progress(0.9, "collecting and saving the results")
        result = simulation.collect()
        return storage.save_result(result.save)

    return execute


def risk_execution(
    dataset: Any, name: str, draws: int | None, seed: int | None, storage: Storage
) -> Execution:
    """A Monte Carlo run of a built-in risk file on one worker, draws written under the store's folder.

    The engine saves to the store itself when given a path; here it is given none and the run is
    saved afterwards (`RiskRun.save`) under the server's store lock, so reads are not blocked while
    draws are solved.
    """

    def execute(progress: Progress) -> str:
        import uuid

        from raremap.risk.engine import RunOptions, run_risk

        folder = storage.path.parent / "risk-draws" / uuid.uuid4().hex
        options = RunOptions(
            out=folder, workers=1, store_path=None, progress=False, report=lambda message: None
        )
        progress(0.1, "drawing and solving disruptions")
        run = run_risk(name, options, draws=draws, seed=seed, dataset=dataset)
        progress(0.9, "saving the summaries")
        return storage.save_result(run.save)

    return execute


def plan_execution(
    dataset: Any, name: str, scenarios: int, frontier_points: int, storage: Storage
) -> Execution:
    """A built-in plan (named, never a path) solved with few scenarios and frontier points, then saved.

    The planner is given no store; the run is saved afterwards under the server's store lock.
    """

    def execute(progress: Progress) -> str:
        from raremap.plan.loading import load_plan
        from raremap.plan.planner import run_plan

        plan = load_plan(name, dataset)
        run = run_plan(dataset, plan, scenarios=scenarios, frontier_points=frontier_points, progress=progress)
        progress(0.9, "saving the plan")
        return storage.save_result(run.save)

    return execute


def plan_names() -> list[str]:
    from raremap.plan.loading import builtin_names

    return builtin_names()


def risk_names() -> list[str]:
    from raremap.risk.loading import builtin_names

    return builtin_names()


def unavailable_reason(kind: str) -> str | None:
    """None when the server can run `kind`; otherwise why not, in words a client can act on."""
    if kind in KINDS:
        return None
    return f"unknown run kind {kind!r}; kinds are {', '.join(KINDS)}"


def execution_for(kind: str, dataset: Any, scenario: Scenario, storage: Storage) -> Execution:
    reason = unavailable_reason(kind)
    if reason is not None:
        raise RaremapError(reason)
    return simulation_execution(dataset, scenario, storage)
