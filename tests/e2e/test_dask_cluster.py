"""End-to-end: the recipe on a distributed.LocalCluster (issue 15, point 3).

The same tiny archive and recipe as tests/e2e/conftest.py, with the
``local_distributed`` profile of config-user.yml. The results must equal
those of the threaded run within float32 rounding, and the diagnostic
scripts must have computed on the cluster ESMValCore started.
"""

from __future__ import annotations

import os
import re

import iris
import numpy as np
import pandas as pd
import pytest
import yaml

from smeval import runner
from smeval.diag.shared import PERFORMANCE_REPORT_ENV

pytestmark = pytest.mark.e2e

#: Diagnostic scripts whose work is the heavy part of the run.
HEAVY = [
    "soil_moisture/regional_series",
    "water_budget/regional_series",
    "correlation/correlation_fields",
    "maps/climatology_fields",
]


@pytest.fixture(scope="session")
def cluster_run(e2e, tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    dask = yaml.safe_load((runner.ROOT / "config-user.yml").read_text())[
        "dask"
    ]
    config = runner.write_config(
        root / "config",
        e2e["archive"],
        root / "output",
        dask={**dask, "use": "local_distributed"},
    )
    os.environ[PERFORMANCE_REPORT_ENV] = str(root / "performance")
    try:
        process = runner.run_recipe(e2e["recipe"], config, check=False)
    finally:
        del os.environ[PERFORMANCE_REPORT_ENV]
    assert process.returncode == 0, (
        process.stdout[-5000:] + process.stderr[-5000:]
    )
    return {
        "run": runner.latest_run_dir(root / "output", e2e["recipe"].name),
        "performance": root / "performance",
    }


def test_metrics_equal_to_the_threaded_run(e2e, cluster_run):
    keys = ["dataset", "reference", "variable", "region", "statistic"]

    def table(run):
        frame = pd.read_csv(run / "work" / "skill" / "metrics" / "metrics.csv")
        return frame.sort_values(keys).reset_index(drop=True)

    threaded, cluster = table(e2e["run"]), table(cluster_run["run"])
    assert len(threaded) > 1000
    pd.testing.assert_frame_equal(
        cluster.drop(columns="value"), threaded.drop(columns="value")
    )
    np.testing.assert_allclose(
        cluster.value, threaded.value, rtol=2e-6, atol=1e-6, equal_nan=True
    )


def test_maps_equal_to_the_threaded_run(e2e, cluster_run):
    compared = 0
    for folder in (
        "maps/climatology_fields",
        "correlation/correlation_fields",
    ):
        for path in sorted((e2e["run"] / "work" / folder).glob("*.nc")):
            ours = {
                c.var_name: c
                for c in iris.load(
                    str(cluster_run["run"] / "work" / folder / path.name)
                )
            }
            for cube in iris.load(str(path)):
                other = ours[cube.var_name]
                a, b = (
                    np.ma.masked_invalid(cube.data),
                    np.ma.masked_invalid(other.data),
                )
                assert np.array_equal(
                    np.ma.getmaskarray(a), np.ma.getmaskarray(b)
                ), (path.name, cube.var_name)
                np.testing.assert_allclose(
                    b.compressed(),
                    a.compressed(),
                    rtol=2e-6,
                    atol=1e-6,
                    err_msg=f"{path.name} {cube.var_name}",
                )
                compared += 1
    assert compared > 20


def test_heavy_scripts_computed_on_the_cluster(cluster_run):
    run = cluster_run["run"]
    address = re.search(
        r"Using Dask distributed scheduler \(address: (\S+?),",
        (run / "run" / "main_log.txt").read_text(),
    ).group(1)
    for name in HEAVY:
        log = (run / "run" / name / "log.txt").read_text()
        assert (
            f"Dask: computing on the distributed scheduler at {address}" in log
        ), name
        report = cluster_run["performance"] / f"{name.replace('/', '_')}.html"
        # Dask's performance report of the script's work on the cluster.
        tasks = re.search(r"number of tasks: (\d+)", report.read_text())
        assert tasks and int(tasks.group(1)) > 0, name
