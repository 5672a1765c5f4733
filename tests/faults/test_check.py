"""``smeval check``: every problem of an archive and a recipe at once, as one table (issue 19, point 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import yaml

from smeval.check.core import (
    CheckResult,
    check_options,
    restricted_recipe,
    run_check,
)
from smeval.runner import RECIPE

from . import plant
from .conftest import case_recipe


def _plant_everything(archive: Path) -> None:
    """One fault per case, each in another data set (the docs/reliability.md table)."""
    for member in ("r1i1p1f2", "r2i1p1f2"):  # a listed model lacks a variable
        plant.remove(
            plant.cmip6_file(archive, "CNRM-CM6-1", member, "pr").parents[2]
        )
    plant.truncate(plant.cmip6_file(archive, "MIROC6", "r1i1p1f1", "evspsbl"))
    plant.set_units(
        plant.cmip6_file(archive, "MPI-ESM1-2-LR", "r1i1p1f1", "pr"),
        "mm day-1",
    )
    mrsol = plant.cmip6_file(archive, "CNRM-CM6-1", "r1i1p1f2", "mrsol")
    with netCDF4.Dataset(mrsol) as nc:
        bounds = np.asarray(nc["depth_bnds"][:])
    plant.set_layer_bounds(mrsol, bounds[::-1].tolist())  # deepest layer first
    mrsol = plant.cmip6_file(archive, "MIROC6", "r2i1p1f1", "mrsol")
    with netCDF4.Dataset(mrsol) as nc:
        bounds = np.asarray(nc["depth_bnds"][:])
    bounds[1, 0] = bounds[0, 1] / 2
    plant.set_layer_bounds(mrsol, bounds.tolist())  # layers 1 and 2 overlap
    plant.scale(
        plant.cmip6_file(archive, "MIROC6", "r1i1p1f1", "mrsos"), 1000.0
    )
    plant.fill(plant.cmip6_file(archive, "MIROC6", "r2i1p1f1", "mrsos"))
    path = plant.cmip6_file(archive, "MPI-ESM1-2-LR", "r2i1p1f1", "mrsos")
    path.rename(
        str(path).replace("197901-198112", "197901-198012")
    )  # 1981 missing
    mrros = plant.cmip6_file(archive, "MPI-ESM1-2-LR", "r2i1p1f1", "mrros")
    plant.own(mrros)
    with netCDF4.Dataset(mrros, "a") as nc:
        nc["lat"].delncattr("bounds")


#: (in the run, dataset, member, variable, words of the problem) of every planted fault.
EXPECTED = [
    (
        "stops the run",
        "CNRM-CM6-1",
        "",
        "pr",
        "no files of CMIP6 CNRM-CM6-1 pr (Amon) in the archive",
    ),
    (
        "stops the run",
        "MIROC6",
        "r1i1p1f1",
        "evspsbl",
        "unreadable or truncated file",
    ),
    (
        "stops the run",
        "MPI-ESM1-2-LR",
        "r1i1p1f1",
        "pr",
        "units 'mm day-1' where pr must be in kg m-2 s-1",
    ),
    (
        "stops the run",
        "CNRM-CM6-1",
        "r1i1p1f2",
        "mrsol",
        "soil layers not in increasing depth order",
    ),
    (
        "excluded by smeval",
        "MIROC6",
        "r2i1p1f1",
        "mrsol",
        "soil layer bounds overlap",
    ),
    (
        "excluded by smeval",
        "MIROC6",
        "r1i1p1f1",
        "mrsos",
        "outside the plausible range -1 to 100 kg m-2",
    ),
    (
        "excluded by smeval",
        "MIROC6",
        "r2i1p1f1",
        "mrsos",
        "all sampled values are missing",
    ),
    (
        "skipped by ESMValCore",
        "MPI-ESM1-2-LR",
        "r2i1p1f1",
        "mrsos",
        "No input data available for years 1981",
    ),
    ("kept", "MPI-ESM1-2-LR", "r2i1p1f1", "mrros", "lat has no bounds"),
]


def _found(rows, expected) -> bool:
    consequence, dataset, member, variable, words = expected
    return any(
        r["in the run"] == consequence
        and r["dataset"] == dataset
        and r["member"] == member
        and r["variable"] == variable
        and words in r["problem"]
        for r in rows
    )


def test_one_pass_reports_every_planted_fault(tmp_path, archive):
    recipe, config = case_recipe(tmp_path, archive)
    _plant_everything(archive)
    result = run_check(config, recipe)
    missing = [e for e in EXPECTED if not _found(result.rows, e)]
    assert not missing, (missing, result.rows)
    # Nothing else: the good inputs raise no problem.
    assert len(result.rows) == len(EXPECTED), result.rows


def test_the_command_prints_the_table_and_fails(tmp_path, archive):
    recipe, config = case_recipe(
        tmp_path,
        archive,
        edit=lambda r: r["diagnostics"]["skill"]["scripts"]["metrics"].update(
            tss_treshold=0.5
        ),
    )
    plant.scale(
        plant.cmip6_file(archive, "MIROC6", "r1i1p1f1", "mrsos"), 1000.0
    )
    out = tmp_path / "restricted.yml"
    exe = Path(sys.executable).with_name("smeval")
    process = subprocess.run(
        [
            str(exe),
            "check",
            str(config / "config-user.yml"),
            str(recipe),
            "--write-recipe",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == 1, process.stderr
    text = " ".join(process.stdout.split())
    assert "in the run dataset member variable problem" in text
    assert (
        "unknown option `tss_treshold` (did you mean `tss_threshold`?)" in text
    )
    assert "excluded by smeval MIROC6 r1i1p1f1 mrsos values" in text
    assert "2 problem(s) that stop or change the run" in text
    restricted = yaml.safe_load(out.read_text())
    mrsos = restricted["diagnostics"]["soil_moisture"]["variables"]["mrsos"][
        "additional_datasets"
    ]
    miroc = [d for d in mrsos if d["dataset"] == "MIROC6"]
    assert [d["ensemble"] for d in miroc] == [
        "r2i1p1f1"
    ]  # the good member, listed explicitly
    assert (
        "MIROC6 r1i1p1f1 mrsos: values"
        in restricted["documentation"]["description"]
    )
    assert out.read_text().startswith("# Written by smeval check")


def test_a_clean_archive_passes(tmp_path, archive):
    recipe, config = case_recipe(tmp_path, archive)
    result = run_check(config, recipe)
    assert result.rows == []
    assert result.n_files > 50


def test_the_restricted_recipe_drops_whole_entries_and_their_references(
    tmp_path, archive
):
    recipe, config = case_recipe(tmp_path, archive)
    for short_name in (
        "mrsos",
        "mrsol",
        "pr",
        "evspsbl",
        "mrros",
        "snm",
        "sftlf",
    ):
        plant.remove(plant.obs6_file(archive, "GLDAS-NOAH", short_name))
    result = run_check(config, recipe)
    assert {r["dataset"] for r in result.rows} == {"GLDAS-NOAH"}
    restricted, reasons = restricted_recipe(
        yaml.safe_load(recipe.read_text()), result
    )
    datasets = {
        d["dataset"]
        for diagnostic in restricted["diagnostics"].values()
        for group in (diagnostic.get("variables") or {}).values()
        for d in group["additional_datasets"]
    }
    assert "GLDAS-NOAH" not in datasets
    assert "ERA5" in datasets
    metrics = restricted["diagnostics"]["skill"]["scripts"]["metrics"]
    assert metrics["references"] == ["ERA5", "ERA-Interim"]
    assert any("without GLDAS-NOAH" in r for r in reasons)


def test_units_esmvalcore_converts_are_kept_and_their_values_judged_converted(
    tmp_path, archive
):
    # g m-2 s-1 is kg m-2 s-1 x 1000: ESMValCore's CMOR fixes convert it
    # (safe_convert_units), so the run goes on with plausible values.
    recipe, config = case_recipe(tmp_path, archive)
    path = plant.cmip6_file(archive, "MPI-ESM1-2-LR", "r1i1p1f1", "pr")
    plant.scale(path, 1000.0)
    plant.set_units(path, "g m-2 s-1")
    rows = run_check(config, recipe).rows
    assert [
        (r["in the run"], r["dataset"], r["member"], r["variable"])
        for r in rows
    ] == [("kept", "MPI-ESM1-2-LR", "r1i1p1f1", "pr")], rows
    assert "ESMValCore converts them to kg m-2 s-1" in rows[0]["problem"]


def test_a_layer_cut_above_what_deep_depth_needs_is_reported():
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    shipped = CheckResult()
    check_options(recipe, shipped)
    assert not [r for r in shipped.rows if r["variable"] == "mrsol"]
    for name in ("soil_moisture", "water_budget", "runoff"):
        series = recipe["diagnostics"][name]["scripts"]["regional_series"]
        series["deep_depth"] = 3.0
    deeper = CheckResult()
    check_options(recipe, deeper)
    [row] = [r for r in deeper.rows if r["variable"] == "mrsol"]
    assert "z_max = 4 m" in row["problem"]
    assert "at least 6 m" in row["problem"]
