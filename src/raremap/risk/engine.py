"""Running a Monte Carlo risk analysis: chunks of draws on a local pool or a Dask cluster, resumable.

``run_risk`` follows the engines' lifecycle: it validates and resolves the risk file against the
data, plans chunks, computes the missing ones on the chosen executor (in this process, a local
process pool, or an existing Dask scheduler), writes each finished chunk to Parquet at once, and at
the end collects the result tables (declared in results.csv, engine `risk`) and saves the run to
the DuckDB store (`RiskRun.save`). Results never wait in memory for the run to end, so memory
stays flat as the number of draws grows.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from raremap.data import store
from raremap.data.dataset import Dataset, load
from raremap.errors import RaremapError
from raremap.model.supply_chain import SupplyChain
from raremap.results import check_tables
from raremap.risk.chunks import (
    MANIFEST,
    ChunkPlan,
    check_output_folder,
    chunk_files,
    fingerprint_hash,
    pending_chunks,
    prepare_folder,
    read_manifest,
    write_chunk,
)
from raremap.risk.drivers import drivers
from raremap.risk.evaluate import EVALUATION_NAMES
from raremap.risk.loading import load_risk_model
from raremap.risk.resolve import EXPORT_CONTROL, UNIT_TOTALS, ResolvedRisk, resolve, scenario_for
from raremap.risk.summary import (
    EXCESS_KEYS,
    TOTAL_COLUMNS,
    exceedance_table,
    period_table,
    read_columns,
    sector_losses,
    summary_table,
)
from raremap.risk.worker import ChunkResult, evaluate_chunk, evaluator_for, source_chain

DEFAULT_CHUNK_SIZE = 250
IN_FLIGHT_PER_SLOT = 2
"""Chunks queued per worker slot: enough to keep workers busy, few enough to keep memory flat."""
SCHEDULER_TIMEOUT_SECONDS = 10
RUN_FORMAT = 3
"""Version of the run folder's layout: 3 has one column per sector x period in the sector's unit (magnet
sectors in t magnet, oxide applications in t REO) over the horizon; 2 had sector x element x period."""
SUMMARY_KEYS = ("unit", "horizon", "expected_shortfall_t", "var95_t", "cvar95_t", "p_exceed_10pct", *EXCESS_KEYS)
"""Keys of each sector in the `--json` summary."""


@dataclass(frozen=True)
class RunOptions:
    """Where and how to run: output folder, executor, chunking, resume, store."""

    out: Path
    workers: int = 1
    scheduler: str | None = None
    chunk_size: int | None = None
    resume: bool = False
    store_path: Path | None = store.DEFAULT_PATH
    progress: bool = True
    data_directory: Path | None = None
    report: Callable[[str], None] = print


@dataclass(frozen=True)
class RiskRun:
    """A finished run: counts, speed, the result tables (declared in results.csv) and where the draws are.

    `drivers` holds, per unit total ("all magnet sectors", "all oxide applications"), the ranking and
    PRIM box of the uncertainties behind the worst draws.
    """

    risk: ResolvedRisk
    out: Path
    draws: int
    computed_draws: int
    seconds: float
    evaluations: dict[str, int]
    tables: dict[str, pd.DataFrame]
    drivers: dict[str, dict[str, Any]]
    run_id: str
    dataset_version: str = ""
    reports: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> pd.DataFrame:
        return self.tables["summary"]

    @property
    def exceedance(self) -> pd.DataFrame:
        return self.tables["exceedance"]

    @property
    def draws_per_second(self) -> float:
        return self.computed_draws / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The `raremap risk --json` payload: per sector and unit total, its unit, horizon and metrics."""
        summary = {
            str(row["sector"]): {key: row[key] for key in SUMMARY_KEYS}
            for row in self.summary.to_dict(orient="records")
        }
        return {
            "importer": self.risk.importer,
            "horizon": self.risk.horizon_label,
            "horizon_years": self.risk.horizon_years,
            "draws": self.draws,
            "seed": self.risk.model.seed,
            "draws_per_second": self.draws_per_second,
            "solved_draws": self.evaluations.get("solved", 0),
            "summary": summary,
            "drivers": self.drivers,
            "run_id": self.run_id,
            "out": str(self.out),
        }

    def save(self, path: str | Path) -> str:
        """Store the run's result tables in the DuckDB store (the draw-level Parquet files stay in `out`)."""
        specification = {
            "importer": self.risk.importer,
            "risk": self.risk.model.model_dump(mode="json"),
            "fingerprint": fingerprint_hash(self.risk.fingerprint()),
            "draws_folder": str(self.out.resolve()),
            "horizon": self.risk.horizon_label,
        }
        payload = self.to_json()
        summary = {key: payload[key] for key in ("importer", "horizon", "horizon_years", "draws", "seed",
                                                 "draws_per_second", "solved_draws")}
        store.save_run(
            path,
            run_id=self.run_id,
            kind="risk",
            name=self.risk.model.name,
            dataset_version=self.dataset_version,
            specification=specification,
            summary={**summary, "evaluations": self.evaluations},
            results=self.tables,
        )
        return self.run_id


def prepare(reference: str | Path, dataset: Dataset, draws: int | None = None, seed: int | None = None,
            data_directory: Path | None = None) -> tuple[ResolvedRisk, SupplyChain]:
    """The resolved risk file (with command-line draws and seed) and the data's supply chain for its base
    scenario (before the scenario is applied: each demand level applies it, see evaluate.level_market)."""
    model, label = load_risk_model(reference, dataset, draws=draws, seed=seed)
    scenario = scenario_for(model, dataset)
    chain = source_chain(scenario, dataset)
    return resolve(model, dataset, chain, scenario, label, data_directory), chain


class _InProcess:
    """Chunks computed one after another in this process, on the already built chain."""

    slots = 1

    def __init__(self, risk: ResolvedRisk, chain: SupplyChain):
        self.risk = risk
        evaluator_for(risk, chain)

    def results(self, tasks: Sequence[tuple[int, int, int]]) -> Iterator[ChunkResult]:
        for index, start, stop in tasks:
            yield evaluate_chunk(self.risk, index, start, stop)

    def close(self) -> None:
        """Nothing to release."""


class _LocalPool:
    """A pool of spawned processes; each builds its model once and keeps it for every chunk."""

    def __init__(self, risk: ResolvedRisk, workers: int):
        self.risk = risk
        self.slots = workers
        self.pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def results(self, tasks: Sequence[tuple[int, int, int]]) -> Iterator[ChunkResult]:
        queue = list(tasks)
        running: set[concurrent.futures.Future[ChunkResult]] = set()
        while queue or running:
            while queue and len(running) < self.slots * IN_FLIGHT_PER_SLOT:
                running.add(self.pool.submit(evaluate_chunk, self.risk, *queue.pop(0)))
            done, running = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                yield future.result()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class _DaskCluster:
    """An existing Dask distributed scheduler; dask is an optional extra, imported only here."""

    def __init__(self, risk: ResolvedRisk, address: str):
        try:
            from dask.distributed import Client
        except ImportError as error:
            raise RaremapError("--scheduler needs Dask: pip install 'raremap[dask]'") from error
        try:
            self.client = Client(address, timeout=SCHEDULER_TIMEOUT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise RaremapError(
                f"cannot reach the Dask scheduler at {address} ({type(error).__name__}: {error}); "
                "start one (dask scheduler, dask worker ADDRESS) or drop --scheduler to run locally"
            ) from None
        self.slots = max(1, sum(self.client.nthreads().values()))
        self.risk = self.client.scatter(risk, broadcast=True)

    def results(self, tasks: Sequence[tuple[int, int, int]]) -> Iterator[ChunkResult]:
        from dask.distributed import as_completed

        queue = list(tasks)
        first = [self._submit(queue.pop(0)) for _ in range(min(len(queue), self.slots * IN_FLIGHT_PER_SLOT))]
        finished = as_completed(first, loop=self.client.loop)
        for future in finished:
            result: ChunkResult = future.result()
            future.release()
            if queue:
                finished.add(self._submit(queue.pop(0)))
            yield result

    def _submit(self, task: tuple[int, int, int]) -> Any:
        return self.client.submit(evaluate_chunk, self.risk, *task, pure=False)

    def close(self) -> None:
        self.client.close()


def _executor(risk: ResolvedRisk, chain: SupplyChain, options: RunOptions) -> _InProcess | _LocalPool | _DaskCluster:
    if options.scheduler:
        return _DaskCluster(risk, options.scheduler)
    if options.workers <= 1:
        return _InProcess(risk, chain)
    return _LocalPool(risk, options.workers)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]risk[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("draws  {task.fields[rate]:,.1f} draws/s"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def _compute(risk: ResolvedRisk, chain: SupplyChain, plan: ChunkPlan, pending: list[int], options: RunOptions) -> int:
    """Compute the pending chunks, writing each as it finishes; return the number of draws computed."""
    tasks = [(index, *plan.bounds(index)) for index in pending]
    total_new = sum(stop - start for _, start, stop in tasks)
    done = plan.draws - total_new
    computed = 0
    began = time.perf_counter()
    executor = _executor(risk, chain, options)
    try:
        with _progress(options.progress) as progress:
            task = progress.add_task("draws", total=plan.draws, completed=done, rate=0.0)
            for result in executor.results(tasks):
                table = pa.ipc.open_stream(result.table).read_all()
                write_chunk(options.out, result.index, table)
                computed += result.draws
                rate = computed / max(time.perf_counter() - began, 1e-9)
                progress.update(task, advance=result.draws, rate=rate)
    finally:
        executor.close()
    return computed


def _manifest(risk: ResolvedRisk, chunk_size: int) -> dict[str, Any]:
    return {
        "format": RUN_FORMAT,
        "risk_file": risk.model.name,
        "fingerprint": fingerprint_hash(risk.fingerprint()),
        "draws": risk.model.draws,
        "seed": risk.model.seed,
        "chunk_size": chunk_size,
    }


def _chunk_size(options: RunOptions) -> int:
    if options.chunk_size is None:
        if options.resume and (options.out / MANIFEST).exists():
            return int(read_manifest(options.out)["chunk_size"])
        return DEFAULT_CHUNK_SIZE
    if options.chunk_size <= 0:
        raise RaremapError(f"--chunk-size {options.chunk_size}: give a positive number of draws per chunk")
    return options.chunk_size


def run_risk(reference: str | Path, options: RunOptions, draws: int | None = None, seed: int | None = None,
             dataset: Dataset | None = None) -> RiskRun:
    """Run (or resume) a Monte Carlo risk analysis and store its summary; see the module docstring."""
    if options.workers < 1:
        raise RaremapError(f"--workers {options.workers}: give at least one worker")
    _check_outputs(options, draws)
    dataset = load(options.data_directory) if dataset is None else dataset
    risk, chain = prepare(reference, dataset, draws, seed, options.data_directory)
    check_output_folder(options.out, risk.model.draws)
    chunk_size = _chunk_size(options)
    plan = ChunkPlan(risk.model.draws, chunk_size)
    prepare_folder(options.out, _manifest(risk, chunk_size), options.resume)
    pending, reports = pending_chunks(options.out, plan)
    for message in reports:
        options.report(message)
    began = time.perf_counter()
    computed = _compute(risk, chain, plan, pending, options) if pending else 0
    seconds = time.perf_counter() - began
    return _finish(risk, options, plan, computed, seconds, tuple(reports), str(dataset.version))


def _check_outputs(options: RunOptions, draws: int | None) -> None:
    """Pre-flight: find a bad --out or --db before the first draw, not after the last."""
    check_output_folder(options.out, draws or 1)
    if options.store_path is not None:
        store.check_writable(options.store_path)


def _finish(risk: ResolvedRisk, options: RunOptions, plan: ChunkPlan, computed: int, seconds: float,
            reports: tuple[str, ...], dataset_version: str) -> RiskRun:
    """Result tables, drivers and the store entry of a run whose chunks are all written."""
    paths = chunk_files(options.out, plan)
    totals = read_columns(paths, TOTAL_COLUMNS)
    counts = totals["evaluation"].value_counts()
    evaluations = {name: int(counts.get(code, 0)) for code, name in EVALUATION_NAMES.items()}
    features = totals[[name for name in totals.columns if name.startswith("feature:")]]
    features = features.rename(columns=lambda name: name.removeprefix("feature:"))
    # Drivers per unit total, on the excess over the undisrupted base (what disruptions add; see drivers.py).
    found = {losses.sector: drivers(features, losses.excess, "total_excess_t")
             for losses in sector_losses(totals, risk) if losses.sector in UNIT_TOTALS.values()}
    tables = {
        "summary": summary_table(totals, risk),
        "shortfall": period_table(paths, risk),
        "exceedance": exceedance_table(totals, risk),
        "drivers": drivers_table(risk, found),
        "drivers_box": drivers_box_table(risk, found),
        "processes": processes_table(risk),
    }
    check_tables("risk", tables)
    run = RiskRun(
        risk=risk,
        out=options.out,
        draws=plan.draws,
        computed_draws=computed,
        seconds=seconds,
        evaluations=evaluations,
        tables=tables,
        drivers=found,
        run_id=f"risk-{risk.model.name}-{uuid.uuid4().hex[:12]}",
        dataset_version=dataset_version,
        reports=reports,
    )
    if options.store_path is not None:
        run.save(options.store_path)
    return run


def _unit_of_total(name: str) -> str:
    return next(unit for unit, total in UNIT_TOTALS.items() if total == name)


def drivers_table(risk: ResolvedRisk, found: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The ranking of uncertainties behind the worst draws, per unit total."""
    rows = [
        {"country": risk.importer, "sector": total, "unit": _unit_of_total(total), "basis": result["basis"],
         "rank": rank, **row}
        for total, result in found.items()
        for rank, row in enumerate(result["ranking"], start=1)
    ]
    columns = ["country", "sector", "unit", "basis", "rank", "uncertainty", "mean_in_worst", "mean_overall",
               "standardized_difference"]
    return pd.DataFrame(rows, columns=columns)


def drivers_box_table(risk: ResolvedRisk, found: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The PRIM box's limits per unit total, with its coverage, density and support."""
    rows = [
        {"country": risk.importer, "sector": total, "unit": _unit_of_total(total), **limit,
         **{key: result["prim"][key] for key in ("coverage", "density", "support")}}
        for total, result in found.items()
        for limit in result["prim"]["box"]
    ]
    columns = ["country", "sector", "unit", "uncertainty", "lower", "upper", "coverage", "density", "support"]
    return pd.DataFrame(rows, columns=columns)


def processes_table(risk: ResolvedRisk) -> pd.DataFrame:
    """Every disruption process the draws sample, with its annual probability and mean severity and duration."""
    rows = [
        {"process": process.name, "country": process.country, "stage": process.stage,
         "annual_probability": process.annual_probability, "mean_severity": process.severity.mean(),
         "mean_duration_years": process.duration.mean()}
        for process in risk.processes
    ]
    control = risk.model.export_control
    if control.enabled:
        rows.append({"process": EXPORT_CONTROL, "country": control.exporter, "stage": " ".join(control.stages),
                     "annual_probability": risk.control_probability, "mean_severity": control.severity.mean(),
                     "mean_duration_years": control.duration.mean()})
    columns = ["process", "country", "stage", "annual_probability", "mean_severity", "mean_duration_years"]
    return pd.DataFrame(rows, columns=columns)
