"""`raremap backtest`: replay historical episodes and say how close the engine comes."""

from __future__ import annotations

import uuid
from pathlib import Path

import typer

from raremap.cli import app
from raremap.cli.output import console, print_json, rich_table


@app.command("backtest")
def backtest_command(
    episode: list[str] = typer.Argument(None, help="Episode names or YAML files (default: every bundled episode)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    db: Path | None = typer.Option(None, "--db", help="Save each episode's scores to this DuckDB store (the report draws them)."),
    data: Path | None = typer.Option(None, "--data", help="Folder of table CSVs over the bundled ones."),
    list_only: bool = typer.Option(False, "--list", help="List the bundled episodes and stop."),
) -> None:
    """Per observed outcome: observed, model, difference, tolerance and pass/fail, plus what binds."""
    from raremap.backtest import episode_names, load_episode, run_backtests
    from raremap.data.dataset import load

    if list_only:
        for name in episode_names():
            console.print(f"[bold]{name}[/bold]: {load_episode(name).title}")
        return
    dataset = load(data)
    results = run_backtests(episode or None, dataset)
    if db is not None:
        for result in results:
            run_id = save_backtest(result, db)
            if not as_json:
                console.print(f"saved back-test {run_id} to {db}")
    if as_json:
        print_json({"dataset_version": dataset.version, "episodes": [result.to_json() for result in results]})
        return
    for result in results:
        _print_episode(result)
    totals: dict[str, int] = {}
    for result in results:
        for status, count in result.counts().items():
            totals[status] = totals.get(status, 0) + count
    console.print(
        "all episodes: " + ", ".join(f"{count} {status}" for status, count in totals.items())
        + f" (dataset {dataset.version[:12]}); misses and their reasons: docs/backtests.md"
    )


def _print_episode(result: object) -> None:
    from raremap.backtest.run import EpisodeResult

    assert isinstance(result, EpisodeResult)
    episode = result.episode
    console.print(f"\n[bold]{episode.name}[/bold]: {episode.title} (base year {episode.base_year}, {result.seconds:.1f} s)")
    if result.run_error:
        console.print(f"[red]the engine did not run this episode:[/red] {result.run_error}", markup=True)
    table = result.table()
    shown = table[["outcome", "period", "observed", "model", "difference", "tolerance", "status", "unit"]].copy()
    shown["status"] = [status.upper() if status == "fail" else status for status in shown["status"]]
    console.print(rich_table(shown, whole=("outcome", "status")))
    for row in table.itertuples(index=False):
        if row.reason:
            console.print(f"  {row.outcome}: {' '.join(str(row.reason).split())}", markup=False)
    importer = str(episode.scenario.get("importer") or "the importer")
    if not result.binding.empty:
        console.print(rich_table(result.binding, title=f"what binds for {importer} (the run's binding table: each constraint "
                                 "with the periods it binds in and its largest shadow price)"))
    elif not result.run_error:
        console.print(f"binding constraints: the run's binding table lists none for {importer}")
    if episode.engine_limits:
        console.print("what the engine cannot express here:")
        for limit in episode.engine_limits:
            console.print(f"  - {' '.join(limit.split())}", markup=False)


def save_backtest(result: object, db: Path) -> str:
    """Store an episode's scores and model paths as a run of kind `backtest`; returns the run id."""
    from raremap.backtest.run import EpisodeResult
    from raremap.data import store
    from raremap.results import check_tables

    assert isinstance(result, EpisodeResult)
    run_id = f"backtest-{result.episode.name}-{uuid.uuid4().hex[:12]}"
    observed = result.table()
    tables = {"scores": observed.astype({"model": float, "difference": float}), "paths": result.paths, "binding": result.binding}
    check_tables("backtest", tables)
    store.save_run(
        db,
        run_id=run_id,
        kind="backtest",
        name=result.episode.name,
        dataset_version=result.dataset_version,
        specification=result.episode.model_dump(mode="json"),
        summary={"title": result.episode.title, "base_year": result.episode.base_year,
                 "run_error": result.run_error, **result.counts()},
        results=tables,
    )
    return run_id
