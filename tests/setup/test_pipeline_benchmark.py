"""The pipeline benchmark: its baseline recipe, its reading of ESMValCore's log, its memory measurement."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from bench_helpers import load_benchmark

from smeval.runner import RECIPE, ROOT, recipe_inputs


@pytest.fixture(scope="module")
def pipeline():
    return load_benchmark("pipeline")


def test_read_once_reads_every_input_of_the_recipe_exactly_once(pipeline):
    recipe = yaml.safe_load(RECIPE.read_text())
    wanted = set(recipe_inputs(recipe))
    # The recipe reads each input once (test_recipe_consistency); a second
    # diagnostic reading mrsos again must not make the baseline read it twice.
    again = recipe["diagnostics"]["soil_moisture"]["variables"]["mrsos"]
    recipe["diagnostics"]["again"] = {
        "variables": {"mrsos_again": {**again, "short_name": "mrsos"}}
    }
    assert len(recipe_inputs(recipe)) > len(wanted)
    pipeline.read_once(recipe)
    got = recipe_inputs(recipe)
    assert sorted(got) == sorted(wanted)
    (diagnostic,) = recipe["diagnostics"].values()
    assert diagnostic["scripts"] is None
    assert "preprocessors" not in recipe
    for group in diagnostic["variables"].values():
        assert "preprocessor" not in group
        assert ("timerange" in group) == (group["mip"] != "fx")


LOG = """\
2026-11-25 03:40:20,000 UTC [1] INFO    esmvalcore._task:920 Running 3 tasks using 2 processes
2026-11-25 03:40:20,010 UTC [2] INFO    esmvalcore._task:289 Starting task d/pr in process [2]
2026-11-25 03:40:30,000 UTC [2] INFO    esmvalcore._task:297 Successfully completed task d/pr (priority 1) in 0:00:10.000000
2026-11-25 03:40:31,000 UTC [3] INFO    esmvalcore._task:289 Starting task d/script in process [3]
2026-11-25 03:40:40,000 UTC [3] DEBUG   esmvalcore._task:780 Collecting provenance of task d/script took 2.5 seconds
2026-11-25 03:40:40,000 UTC [3] INFO    esmvalcore._task:297 Successfully completed task d/script (priority 0) in 0:00:09.000000
2026-11-25 03:40:41,000 UTC [2] INFO    esmvalcore._task:289 Starting task e/report in process [2]
2026-11-25 03:41:50,000 UTC [2] DEBUG   esmvalcore._task:780 Collecting provenance of task e/report took 7.5 seconds
2026-11-25 03:41:50,000 UTC [2] INFO    esmvalcore._task:297 Successfully completed task e/report (priority 2) in 0:01:09.000000
2026-11-25 03:42:00,000 UTC [1] INFO    esmvalcore._task:982 Successfully completed all tasks.
"""


def test_breakdown_by_hand(pipeline):
    got = pipeline.breakdown(LOG, {"d/script", "e/report"})
    assert got["preprocessing"] == pytest.approx(10.0)
    assert got["diagnostics"] == pytest.approx(9.0 + 69.0)
    assert got["provenance"] == pytest.approx(10.0)
    # 03:40:20 -> 03:42:00 on 2 processes = 200 s of worker time, 88 s in tasks.
    assert got["tasks_wall"] == pytest.approx(100.0)
    assert got["between_tasks"] == pytest.approx(200.0 - 88.0)
    assert got["last_result"] == pytest.approx(10.0)


def test_breakdown_of_an_unfinished_run_is_empty(pipeline):
    assert pipeline.breakdown(LOG.rsplit("\n", 2)[0], {"d/script"}) == {}


HOLDER = "import numpy as np; a = np.ones({n} * 2**20 // 8); print(a.sum())"
#: A small interpreter measuring a command that starts a child holding memory:
#: the measuring process must be small, as pytest's is not (see run_measured).
MEASURE = """
import os, subprocess, sys
from smeval.runner import run_measured
parent = "import subprocess, sys; print(subprocess.run([sys.executable, '-c', sys.argv[1]], capture_output=True, "
parent += "text=True).stdout.strip()); print('to stderr', file=sys.stderr); sys.exit(3)"
process = run_measured([sys.executable, "-c", parent, sys.argv[1]], ".", dict(os.environ))
print(process.returncode, process.stdout.strip(), process.stderr.strip(), process.max_rss_gb, sep="|")
"""


@pytest.mark.parametrize("mib", [50, 400])
def test_run_measured_sees_the_memory_of_grandchildren(tmp_path, mib):
    # The command only starts a child that holds `mib` MiB: the peak is the child's.
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, HOLDER.format(n=mib)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    returncode, stdout, stderr, max_rss_gb = out.strip().split("|")
    assert int(returncode) == 3
    assert stdout == str(float(mib * 2**20 // 8))
    assert stderr == "to stderr"
    assert mib / 1024 < float(max_rss_gb) < (mib + 200) / 1024


def test_peer_regions_are_smeval_regions_by_area(pipeline, tmp_path):
    # The peer's GeoJSON polygons cover the same area as smeval's boxes after
    # its exclusions: planar degree-areas worked by hand from SPEC section 3.
    import json

    import shapely.geometry

    from smeval.core.regions import ALL_REGIONS, GREENLAND_BOXES

    features = json.loads(
        pipeline.write_peer_regions(tmp_path / "regions.geojson").read_text()
    )["features"]
    assert [f["properties"]["name"] for f in features] == [
        r.id for r in ALL_REGIONS
    ]
    shapes = {
        f["properties"]["name"]: shapely.geometry.shape(f["geometry"])
        for f in features
    }
    assert shapes["TIB"].area == pytest.approx(8 * 25)  # 30-38 N, 75-100 E
    assert shapes["SH"].area == pytest.approx(
        60 * 360
    )  # 60 S-0, Antarctica left out
    greenland = sum(
        (b.lat_max - b.lat_min) * (b.lon_max - b.lon_min)
        for b in GREENLAND_BOXES
    )
    assert shapes["NH"].area == pytest.approx(
        90 * 360 - greenland
    )  # Greenland's boxes are disjoint


def test_peer_recipe_takes_the_recipes_data_sets_per_variable(
    pipeline, tmp_path
):
    present = {
        ("MPI-ESM1-2-LR", "mrsos"),
        ("MPI-ESM1-2-LR", "mrsol"),
        ("ERA5", "mrsos"),
        ("ERA5", "pr"),
    }
    peer = yaml.safe_load(pipeline.PEER_RECIPE.read_text())
    pipeline.peer_edit(peer, present, tmp_path / "regions.geojson")
    groups = {
        name: [d["dataset"] for d in group["additional_datasets"]]
        for diagnostic in peer["diagnostics"].values()
        for name, group in diagnostic["variables"].items()
    }
    assert groups == {
        "mrsos": ["MPI-ESM1-2-LR", "ERA5"],
        "mrsol": ["MPI-ESM1-2-LR"],
        "pr": ["ERA5"],
        "mrsos_clim": ["MPI-ESM1-2-LR", "ERA5"],
        "mrsol_clim": ["MPI-ESM1-2-LR"],
        "pr_clim": ["ERA5"],
    }
    shapefiles = {
        steps["extract_shape"]["shapefile"]
        for steps in peer["preprocessors"].values()
        if "extract_shape" in steps
    }
    assert shapefiles == {str(tmp_path / "regions.geojson")}


def test_peer_tss_differences_per_region(pipeline, tmp_path):
    # |dTSS| over the rows both tables hold: median and maximum per variable and region.
    import pandas as pd

    def table(values):
        return pd.DataFrame(
            [
                {
                    "dataset": d,
                    "kind": "model",
                    "reference": "ERA5",
                    "variable": "sm_shallow",
                    "region": "TIB",
                    "statistic": "TSS",
                    "value": v,
                }
                for d, v in values.items()
            ]
        )

    table({"A": 0.5, "B": 0.7, "C": 0.9, "D": 0.1}).to_csv(
        tmp_path / "ours.csv", index=False
    )
    table({"A": 0.6, "B": 0.4, "C": 0.9}).to_csv(
        tmp_path / "peer.csv", index=False
    )
    (row,) = pipeline.compare_tss(
        tmp_path / "ours.csv", tmp_path / "peer.csv"
    ).to_dict("records")
    assert row["n"] == 3
    assert row["median"] == pytest.approx(0.1)
    assert row["max"] == pytest.approx(0.3)


def test_provenance_profile_replays_a_task(tmp_path, capsys):
    # A finished run in miniature: a metrics table with its provenance (as the
    # metrics task leaves it) and a figure task whose record names it.
    from esmvalcore._provenance import TrackedFile
    from prov.model import ProvDocument

    profile = load_benchmark("provenance_profile")
    run = tmp_path / "recipe_soilmoisture_20260101_000000"
    (run / "run" / "skill" / "figures").mkdir(parents=True)
    metrics = run / "work" / "metrics.csv"
    metrics.parent.mkdir(parents=True)
    metrics.write_text("a,b\n")
    doc = ProvDocument()
    doc.add_namespace("task", "https://www.esmvaltool.org/task")
    tracked = TrackedFile(metrics, {"caption": "metrics"}, [])
    tracked.initialize_provenance(doc.activity("task:skill/metrics"))
    tracked.save_provenance()
    figure = run / "plots" / "fig12.png"
    figure.parent.mkdir(parents=True)
    figure.write_bytes(b"\x89PNG")
    record = {
        str(figure.with_suffix(".csv")): {
            "caption": "data",
            "ancestors": [str(metrics)],
        }
    }
    figure.with_suffix(".csv").write_text("x\n")
    (
        run / "run" / "skill" / "figures" / "diagnostic_provenance.yml"
    ).write_text(yaml.safe_dump(record))
    assert profile.main([str(run), "skill/figures"]) == 0
    out = capsys.readouterr().out
    assert "skill/figures: 1 outputs recorded" in out
    assert "with smeval.provenance_transfer" in out
    assert (
        figure.with_suffix(".csv").read_text() == "x\n"
    )  # the run itself is not changed
    assert not figure.with_name("fig12_provenance.xml").exists()


FAKE_ESMVALTOOL = """
import os, subprocess, sys, time
script = os.environ["FAKE_SCRIPT"]  # not in argv: the command line stays esmvaltool's
if os.fork() == 0:  # a task worker: same command line, runs a diagnostic script
    subprocess.run([sys.executable, script], check=True)
    os._exit(0)
os.wait()
"""
FAKE_SCRIPT = """
import time
ballast = bytearray(300 * 2**20)  # touched by bytearray's zero fill
time.sleep(3)
"""


def test_process_memory_names_the_largest_process_by_role(pipeline, tmp_path):
    (tmp_path / "diagnostics").mkdir()
    script = tmp_path / "diagnostics" / "fake_series.py"
    script.write_text(FAKE_SCRIPT)
    (tmp_path / "esmvaltool").write_text(FAKE_ESMVALTOOL)
    with pipeline.ProcessMemory(interval=0.1) as memory:
        subprocess.run(
            [sys.executable, str(tmp_path / "esmvaltool"), "run"],
            check=True,
            env={**os.environ, "FAKE_SCRIPT": str(script)},
        )
    assert set(memory.roles) == {
        "esmvaltool main process",
        "ESMValCore task worker (running a script)",
        "diagnostic script fake_series",
    }
    assert 0.3 < memory.roles["diagnostic script fake_series"] < 0.45
    assert memory.roles["esmvaltool main process"] < 0.1
    assert memory.by_role().startswith("diagnostic script fake_series 0.3")


class _NoCommandLine:
    """A process as psutil shows it inside ``exec``: no command line yet."""

    def cmdline(self) -> list[str]:
        return []


def test_process_without_command_line_has_no_role(pipeline):
    # CI once sampled the fake script inside exec and counted it as "other".
    assert pipeline.role(_NoCommandLine()) is None


class _Process:
    """A process as psutil shows it: a command line and a parent."""

    def __init__(self, cmdline: list[str], parent: _Process | None) -> None:
        self._cmdline = cmdline
        self._parent = parent

    def cmdline(self) -> list[str]:
        return self._cmdline

    def parent(self) -> _Process | None:
        return self._parent

    def children(self) -> list[_Process]:
        return []


def test_a_task_workers_fork_before_exec_has_no_role(pipeline):
    # CI sampled a worker's child between fork and exec: it still had the
    # worker's command line and was counted as another worker.
    esmvaltool = ["python", "/venv/bin/esmvaltool", "run", "recipe.yml"]
    main = _Process(esmvaltool, _Process(["bash"], None))
    worker = _Process(esmvaltool, main)
    assert pipeline.role(main) == "esmvaltool main process"
    assert pipeline.role(worker).startswith("ESMValCore task worker")
    assert pipeline.role(_Process(esmvaltool, worker)) is None


def test_the_floor_warms_the_page_cache_only_for_inputs_it_can_hold(
    pipeline, tmp_path
):
    # 3 files of 1000 bytes: a warming pass needs twice their 3000 bytes.
    files = []
    for i in range(3):
        files.append(tmp_path / f"f{i}.nc")
        files[-1].write_bytes(b"x" * 1000)
    assert pipeline.cache_holds(files, available=6000)
    assert not pipeline.cache_holds(files, available=5999)


def test_the_benchmark_runs_the_recipe_on_a_tiny_archive(tmp_path):
    # The whole benchmark, as its README gives it, on the tiny archive: the
    # archive made, its floor measured, the real recipe run (never timed
    # here: only that each number is there and consistent).
    root = tmp_path / "archive-tiny-m1"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "pipeline.py"),
            *("--scale", "tiny", "--members", "1", "--no-read-once"),
            *("--workdir", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [row] = [
        line.split(" | ")
        for line in done.stdout.splitlines()
        if line.startswith(f"{root.name} | ")
    ]
    inputs = [*root.glob("CMIP6/**/*.nc"), *root.glob("OBS6/**/*.nc")]
    assert int(row[1]) == len(inputs) > 0
    floor, recipe, ratio = float(row[3]), float(row[5]), float(row[6])
    assert 0 < floor < recipe
    # The ratio of the unrounded times; the table rounds each to 0.1.
    low, high = (
        (recipe - 0.05) / (floor + 0.05),
        (recipe + 0.05) / max(floor - 0.05, 1e-9),
    )
    assert low - 0.05 <= ratio <= high + 0.05
    assert f"{root.name}: recipe {row[5]} s" in done.stdout
    output = tmp_path / f"run-{root.name}" / "output"
    [index] = output.glob("recipe_soilmoisture_*/index.html")
    assert index.stat().st_size > 0
