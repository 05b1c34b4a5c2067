"""Running on a Dask cluster: a LocalCluster on loopback gives the same draws as a local run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from raremap.errors import RaremapError
from raremap.risk import engine
from raremap.risk.engine import RunOptions, run_risk
from tests.risk.helpers import read_run

distributed = pytest.importorskip("dask.distributed")


@pytest.mark.slow
def test_local_cluster_matches_a_local_run(tmp_path: Path, small_risk_file: Path, dataset) -> None:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        remote = RunOptions(out=tmp_path / "dask", scheduler=cluster.scheduler_address, chunk_size=9,
                            store_path=None, progress=False)
        run = run_risk(small_risk_file, remote, dataset=dataset)
    local = RunOptions(out=tmp_path / "local", chunk_size=60, store_path=None, progress=False)
    run_risk(small_risk_file, local, dataset=dataset)
    pd.testing.assert_frame_equal(read_run(tmp_path / "dask"), read_run(tmp_path / "local"), check_exact=True)
    assert run.draws == 60


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, small_risk_file: Path, dataset,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "SCHEDULER_TIMEOUT_SECONDS", 1)
    options = RunOptions(out=tmp_path / "run", scheduler="tcp://127.0.0.1:9", store_path=None, progress=False)
    with pytest.raises(RaremapError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_risk(small_risk_file, options, dataset=dataset)
    assert not list((tmp_path / "run").glob("chunk-*.parquet"))
