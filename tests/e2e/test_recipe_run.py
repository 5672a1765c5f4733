"""End-to-end: the real `esmvaltool run` on a tiny generated archive (tests/e2e/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import iris
import netCDF4
import numpy as np
import pandas as pd
import pytest
import yaml

from smeval.diag.io import fields_by_dataset
from smeval.metrics.table import REGION_IDS
from smeval.netcdf_codec import codec_available

pytestmark = pytest.mark.e2e


def _work(run: Path, diagnostic: str, script: str) -> Path:
    return run / "work" / diagnostic / script


def test_esmvalcore_wrote_its_index_and_our_outputs(e2e):
    run = e2e["run"]
    assert (run / "index.html").stat().st_size > 0
    metrics = _work(run, "skill", "metrics")
    for name in (
        "metrics.csv",
        "metrics_cmec.json",
        "annual_cycle.csv",
        "ranking.csv",
        "excluded.csv",
    ):
        assert (metrics / name).stat().st_size > 0, name
    maps = _work(run, "maps", "climatology_fields")
    for variable in (
        "sm_shallow",
        "sm_deep",
        "pr",
        "evspsbl",
        "mrros",
        "pme",
        "pmer",
    ):
        assert (maps / f"climatology_{variable}.nc").stat().st_size > 0
        assert (maps / f"bias_ratio_{variable}.nc").stat().st_size > 0
    corr = _work(run, "correlation", "correlation_fields")
    for dataset in ("ERA5", "GLDAS-NOAH", "CMIP6-MMEM"):
        assert (corr / f"correlation_{dataset}.nc").stat().st_size > 0


def test_one_series_file_per_member_and_variable(e2e):
    # Every (model, member) of the archive has its shallow series; the
    # planted model too; every reference has all seven variables.
    series = _work(e2e["run"], "soil_moisture", "regional_series")
    shallow = {p.stem for p in (series / "sm_shallow").glob("*.nc")}
    members = {
        f"{p.parts[-5]}_{p.parts[-3]}"
        for p in e2e["archive"].glob("CMIP6/*/*/*/historical/*/Lmon/mrsos")
    }
    assert members <= shallow
    assert "PLANTED-1_r1i1p1f1" in shallow
    for ref in ("ERA5", "ERA-Interim", "GLDAS-NOAH"):
        assert ref in shallow
        assert (series / "sm_deep" / f"{ref}.nc").is_file()


def test_series_finite_where_there_is_land(e2e):
    # Every region holds land, so every regional mean of every month is a number.
    series = _work(e2e["run"], "soil_moisture", "regional_series")
    for path in sorted(series.glob("sm_*/*.nc")):
        cube = iris.load_cube(str(path))
        assert cube.coord("region").points.tolist()[:13] == list(REGION_IDS)
        data = np.ma.filled(cube.data.astype(float), np.nan)
        assert np.isfinite(data).all(), path.name
        assert (data > 0).all(), path.name  # soil water is positive


def test_maps_finite_on_land_and_masked_at_sea(e2e):
    maps = _work(e2e["run"], "maps", "climatology_fields")
    cubes = fields_by_dataset(maps / "climatology_sm_shallow.nc")
    assert {"CMIP6-MMEM", "ERA5", "ERA-Interim", "GLDAS-NOAH"} <= set(cubes)
    mmem = cubes["CMIP6-MMEM"]
    assert mmem.shape == (160, 320)  # the paper's common 1.125 degree grid
    data = np.ma.masked_invalid(mmem.data)
    lat = mmem.coord("latitude").points
    lon = mmem.coord("longitude").points
    # Central Sahara (land) has a value; the central Pacific (sea) has none.
    sahara = data[np.argmin(abs(lat - 22)), np.argmin(abs(lon - 12))]
    pacific = data[np.argmin(abs(lat - 0)), np.argmin(abs(lon - 200))]
    assert not np.ma.is_masked(sahara) and sahara > 0
    assert np.ma.is_masked(pacific)


def test_provenance_records_complete(e2e):
    run = e2e["run"]
    records = {}
    for path in run.glob("run/*/*/diagnostic_provenance.yml"):
        records.update(yaml.safe_load(path.read_text()))
    assert len(records) > 30
    for filename, record in records.items():
        assert Path(filename).is_file(), filename
        assert record["caption"].strip(), filename
        assert record["ancestors"], filename
        assert all(Path(a).exists() for a in record["ancestors"]), filename
        assert record["authors"] and record["references"], filename
        # ESMValCore turned the record into its own provenance file.
        assert (
            Path(filename)
            .with_name(Path(filename).stem + "_provenance.xml")
            .is_file()
        ), filename


def test_planted_model_has_its_known_statistics(e2e):
    # PLANTED-1 was built with exact R and sigma against ERA5's regional
    # series (sample.planted); the pipeline must recover them.
    table = pd.read_csv(_work(e2e["run"], "skill", "metrics") / "metrics.csv")
    rows = table[
        (table.dataset == "PLANTED-1")
        & (table.reference == "ERA5")
        & (table.variable == "sm_shallow")
    ]
    got = rows.pivot(index="region", columns="statistic", values="value")
    regions = e2e["planted"]["regions"]
    for region, expected in regions.items():
        for stat in ("R", "sigma", "E'", "TSS"):
            assert got.loc[region, stat] == pytest.approx(
                expected[stat], abs=0.02
            ), (region, stat)


def test_model_without_mrsol_is_excluded_from_deep_only(e2e):
    table = pd.read_csv(_work(e2e["run"], "skill", "metrics") / "metrics.csv")
    assert "CAMS-CSM1-0" in set(table[table.variable == "sm_shallow"].dataset)
    assert "CAMS-CSM1-0" not in set(table[table.variable == "sm_deep"].dataset)
    excluded = pd.read_csv(
        _work(e2e["run"], "skill", "metrics") / "excluded.csv"
    )
    reason = excluded[
        (excluded.dataset == "CAMS-CSM1-0") & (excluded.variable == "sm_deep")
    ].reason
    assert len(reason) == 1 and "mrsol" in reason.item()


def test_ensemble_means_in_table(e2e):
    table = pd.read_csv(_work(e2e["run"], "skill", "metrics") / "metrics.csv")
    names = set(table.dataset)
    assert {
        "CMIP6-MMEM",
        "CMIP6-MMEM-high",
        "CMIP6-MMEM-low",
        "family:MPI-ESM",
    } <= names
    tss = table[table.statistic == "TSS"].value.dropna()
    assert ((tss >= 0) & (tss <= 1)).all()


FIGURES = [
    "fig01_regions",
    "fig02_climatology_sm_shallow",
    "fig03_climatology_sm_deep",
    "fig04_water_budget",
    "fig05_annual_cycle_sm_shallow",
    "fig06_annual_cycle_sm_deep",
    "fig07_taylor_hemispheres_sm_shallow",
    "fig08_taylor_hemispheres_sm_deep",
    "fig09_taylor_regions_sm_shallow",
    "fig10_taylor_fluxes",
    "fig11_correlation_sm_pme",
    "fig12_tss_sm_shallow",
    "fig13_tss_sm_deep",
    "fig14_tss_counts",
]


def test_every_figure_and_the_data_behind_it(e2e):
    # Three instances of the figures script: the metrics figures, the maps, the correlation maps.
    records, found = {}, {}
    for diagnostic, script in (
        ("skill", "figures"),
        ("evaluation", "figures_maps"),
        ("evaluation", "figures_correlation"),
    ):
        provenance = (
            e2e["run"]
            / "run"
            / diagnostic
            / script
            / "diagnostic_provenance.yml"
        )
        records.update(yaml.safe_load(provenance.read_text()))
        for png in (e2e["run"] / "plots" / diagnostic / script).glob(
            "fig*.png"
        ):
            found[png.stem] = (png, _work(e2e["run"], diagnostic, script))
    assert sorted(found) == FIGURES
    for stem, (png, work) in found.items():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        record = records[str(png)]
        assert record["figure"].startswith("Fig. ") and record["caption"], stem
        # The data behind: the figure's own CSV, or the NetCDF fields it shows.
        own = work / f"{stem}.csv"
        assert own.is_file() or any(
            a.endswith(".nc") for a in record["ancestors"]
        ), stem
    for stem in (
        "fig07_taylor_hemispheres_sm_shallow",
        "fig12_tss_sm_shallow",
        "fig14_tss_counts",
    ):
        pdf = found[stem][0].parent / "pdf" / f"{stem}.pdf"
        assert pdf.read_bytes()[:4] == b"%PDF"
    # Writing the PDFs leaves the script's log to the script (fontTools logs
    # each embedded glyph subset at INFO).
    log = (e2e["run"] / "run" / "skill" / "figures" / "log.txt").read_text()
    assert "End of diagnostic script" in log and "fontTools" not in log


def test_heat_map_data_are_the_metrics_table(e2e):
    # Fig. 12's numbers are rows of the metrics table, not a second computation.
    table = pd.read_csv(_work(e2e["run"], "skill", "metrics") / "metrics.csv")
    fig12 = pd.read_csv(
        _work(e2e["run"], "skill", "figures") / "fig12_tss_sm_shallow.csv"
    )
    merged = fig12.merge(
        table,
        on=["dataset", "reference", "variable", "region", "statistic"],
        suffixes=("_fig", "_table"),
    )
    assert len(merged) == len(fig12) > 0
    assert np.allclose(merged.value_fig, merged.value_table, equal_nan=True)


def test_report_written_with_synthetic_banner(e2e):
    report = (
        e2e["run"] / "plots" / "evaluation" / "report" / "smeval_report.html"
    )
    html = report.read_text()
    assert "SYNTHETIC DATA" in html
    assert "PLANTED-1" in html and "CMIP6-MMEM" in html
    # Relative links to the run's own figures only; nothing from the network.
    assert "fig12_tss_sm_shallow.png" in html
    assert "http://" not in html and "https://" not in html


def _series_preproc_files(e2e) -> list:
    """The run's preprocessed files of the series variables, each variable present."""
    series = {"mrsol", "mrsos", "pr", "evspsbl", "mrros", "snm"}
    files = [
        path
        for path in (e2e["run"] / "preproc").rglob("*.nc")
        if path.parent.name in series
    ]
    assert {path.parent.name for path in files} == series
    return files


def test_preproc_is_written_with_the_recipes_codec(e2e):
    # The recipe's preprocessors save with `compression: zstd` (fixed fields
    # have none of them: ESMValCore's zlib); this run compresses preproc/,
    # and every script read it back.
    codec = "zstd" if codec_available("zstd") else "zlib"
    for path in _series_preproc_files(e2e):
        with netCDF4.Dataset(path) as dataset:
            assert dataset[path.parent.name].filters()[codec], path


def test_preproc_is_chunked_one_month_map_at_a_time(e2e):
    # `optimize_access: map`: each HDF5 chunk is one month of one layer,
    # so that iris' read-back chunks (and the series script's blocks) do
    # not grow with the period.
    for path in _series_preproc_files(e2e):
        with netCDF4.Dataset(path) as dataset:
            variable = dataset[path.parent.name]
            one_map = [1] * (variable.ndim - 2) + list(variable.shape[-2:])
            assert variable.chunking() == one_map, path
