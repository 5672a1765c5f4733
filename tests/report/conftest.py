"""A small fake esmvaltool run folder, laid out as docs/results.md says.

No esmvaltool run: a hand-made metrics table with known answers, a few PNGs
drawn with matplotlib, NetCDF series and fields (with or without the
``synthetic`` attribute), the provenance records of each script, citation
files beside the outputs, the filled recipe and an ESMValCore-like index.html.

Known answers of the metrics table (TSS, threshold 0.6, 13 regions):

- sm_shallow vs ERA5: A 0.9 everywhere; B 0.7 in the first six regions
  (SIB, M-AS, TIB, L-AS, NA-WA, EUR), 0.3 elsewhere; C 0.65 in SIB, 0.2
  elsewhere. Models above per region: SIB 3, next five 2, the other seven 1.
- sm_shallow vs GLDAS-NOAH: A 0.8, B 0.5, C 0.1: one model in every region.
- sm_shallow ranking (ERA5 + GLDAS-NOAH): A 26, B 6, C 1.
- CMIP6-MMEM-high / -low: 0.8 / 0.6 vs ERA5 (0.6 is NOT above 0.6),
  0.5 / 0.7 vs GLDAS-NOAH.
- sm_deep (ERA5, GLDAS-NOAH): A 0.3, B 0.95, C 0.61 in SIB/TIB/EUR and 0.4
  elsewhere, except C in AUS against ERA5, which is missing (NaN).
- ERA-Interim rows (shallow, 0.99 for all models) and R rows (0.99) must not
  enter the counts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from smeval.metrics.table import COLUMNS, REGION_IDS

RUN_NAME = "recipe_soilmoisture_20250101_120000"
EVIL = "<script>alert(1)</script>"
EVIL_CAPTION = 'Caption with <img src=x onerror="alert(2)"> & "quotes"'
THRESHOLD = 0.6
MODELS = {"A": ("FA", "high"), "B": ("FB", "low"), "C": ("FB", "low")}
HEMISPHERES = ("NH", "SH")


def _tss(dataset: str, reference: str, variable: str, region: str) -> float:
    i = REGION_IDS.index(region) if region in REGION_IDS else 0
    if reference == "ERA-Interim":
        return 0.99
    if variable == "sm_shallow":
        if dataset == "A":
            return 0.9 if reference == "ERA5" else 0.8
        if dataset == "B":
            return (0.7 if i < 6 else 0.3) if reference == "ERA5" else 0.5
        if dataset == "C":
            return (
                (0.65 if region == "SIB" else 0.2)
                if reference == "ERA5"
                else 0.1
            )
        if dataset == "CMIP6-MMEM-high":
            return 0.8 if reference == "ERA5" else 0.5
        if dataset == "CMIP6-MMEM-low":
            return 0.6 if reference == "ERA5" else 0.7
        if dataset == "CMIP6-MMEM":
            return 0.7
        if dataset == EVIL:
            return 0.5
    if variable == "sm_deep":
        if dataset == "A":
            return 0.3
        if dataset == "B":
            return 0.95
        if dataset == "C":
            if region == "AUS" and reference == "ERA5":
                return float("nan")
            return 0.61 if region in ("SIB", "TIB", "EUR") else 0.4
        if dataset.startswith("CMIP6-MMEM"):
            return 0.5
        if dataset == EVIL:
            return 0.5
    return 0.5


def metrics_table(evil: bool = False) -> pd.DataFrame:
    """The hand-made metrics table (tidy, docs/results.md)."""
    models = dict(MODELS)
    if evil:
        models[EVIL] = ("FE", "low")
    datasets = [(m, "model", f, g) for m, (f, g) in models.items()]
    datasets += [("family:FB", "family", "FB", "low")]
    datasets += [
        ("CMIP6-MMEM", "mmem", "", "all"),
        ("CMIP6-MMEM-high", "mmem", "", "high"),
        ("CMIP6-MMEM-low", "mmem", "", "low"),
    ]
    rows = []
    for variable in ("sm_shallow", "sm_deep"):
        for reference in ("ERA5", "ERA-Interim", "GLDAS-NOAH"):
            if variable == "sm_deep" and reference == "ERA-Interim":
                continue
            for dataset, kind, family, group in datasets:
                for region in (*REGION_IDS, *HEMISPHERES):
                    tss = _tss(dataset, reference, variable, region)
                    for stat, value in (
                        ("R", 0.99),
                        ("sigma", 1.1),
                        ("E'", 0.4),
                        ("TSS", tss),
                        ("n_months", 432.0),
                    ):
                        rows.append(
                            (
                                dataset,
                                kind,
                                family,
                                group,
                                reference,
                                variable,
                                region,
                                stat,
                                value,
                                "1",
                            )
                        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _write_nc(path: Path, synthetic: bool, dataset: str = "X") -> Path:
    import netCDF4

    path.parent.mkdir(parents=True, exist_ok=True)
    with netCDF4.Dataset(str(path), "w") as ds:
        ds.createDimension("time", 3)
        var = ds.createVariable("mrsos", "f4", ("time",))
        var[:] = np.arange(3, dtype="f4")
        ds.setncattr("smeval_dataset", dataset)
        if synthetic:
            ds.setncattr(
                "synthetic",
                "yes: smeval sample archive, not real model output",
            )
    return path


def _png(path: Path, title: str) -> Path:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 2.6), dpi=60)
    ax.plot([0, 1, 2], [1, 0, 2])
    ax.set_title(title)
    fig.savefig(path)
    if path.suffix == ".png":
        # As the figures script does: the PDF in a pdf/ folder beside the PNGs.
        (path.parent / "pdf").mkdir(exist_ok=True)
        fig.savefig(path.parent / "pdf" / f"{path.stem}.pdf")
    plt.close(fig)
    return path


def _esmvalcore_files(path: Path) -> None:
    """The citation and provenance files ESMValCore writes beside each output."""
    path.with_name(f"{path.stem}_citation.bibtex").write_text(
        "@article{qiao22jcli, title={x}}\n"
    )
    path.with_name(f"{path.stem}_provenance.xml").write_text(
        "<prov:document/>\n"
    )


def _record(caption: str, ancestors, **extra) -> dict:
    return {
        "caption": caption,
        "ancestors": [str(a) for a in ancestors],
        "authors": ["smeval_team"],
        "references": ["qiao22jcli", "hersbach20qjrms", "rodell04bams"],
        **extra,
    }


def _dump(run_dir: Path, records: dict) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "diagnostic_provenance.yml").write_text(yaml.safe_dump(records))


FIGURES = [
    # stem, figure, group, data file or None
    ("fig01_regions", "Fig. 1", "regions", True),
    ("fig02_climatology_sm_shallow", "Fig. 2", "maps", False),
    ("fig05_annual_cycle_sm_shallow", "Fig. 5", "annual_cycles", True),
    ("fig07_taylor_sm_shallow", "Fig. 7", "taylor", True),
    ("fig12_tss_sm_shallow", "Fig. 12", "skill", True),
    ("fig14_tss_counts", "Fig. 14", "skill", True),
]


def make_run(
    root: Path,
    synthetic: bool = True,
    evil: bool = False,
    with_figures: bool = True,
    with_index: bool = True,
) -> dict:
    """Write a fake run folder under ``root``; returns its paths and the report's ancestor dirs."""
    session = root / RUN_NAME
    work, plots, run = session / "work", session / "plots", session / "run"
    # Regional series (ancestors of the metrics).
    series_dir = work / "soil_moisture" / "regional_series"
    for name in ("ERA5", "GLDAS-NOAH", "A_r1i1p1f1", "B_r1i1p1f1"):
        _write_nc(series_dir / "sm_shallow" / f"{name}.nc", synthetic, name)
    # Metrics.
    metrics_dir = work / "evaluation" / "metrics"
    metrics_dir.mkdir(parents=True)
    table = metrics_table(evil)
    table.to_csv(metrics_dir / "metrics.csv", index=False)
    (metrics_dir / "metrics_cmec.json").write_text("{}")
    pd.DataFrame(
        [
            {
                "dataset": "CAMS-CSM1-0",
                "member": "",
                "project": "CMIP6",
                "variable": "sm_deep",
                "reason": "no mrsol data in this run (not provided by the model, or not in the archive)",
            },
            {
                "dataset": EVIL if evil else "HadGEM3-GC31-LL",
                "member": "r1i1p1f3",
                "project": "CMIP6",
                "variable": "sm_deep",
                "reason": "layers reach only 1.5 m",
            },
        ]
    ).to_csv(metrics_dir / "excluded.csv", index=False)
    metric_files = [
        metrics_dir / n
        for n in ("metrics.csv", "metrics_cmec.json", "excluded.csv")
    ]
    for f in metric_files:
        _esmvalcore_files(f)
    series_files = sorted(series_dir.rglob("*.nc"))
    _dump(
        run / "evaluation" / "metrics",
        {
            str(f): _record(f"Metrics product {f.name}.", series_files)
            for f in metric_files
        },
    )
    (run / "evaluation" / "metrics" / "settings.yml").write_text(
        yaml.safe_dump(
            {
                "tss_threshold": THRESHOLD,
                "r0": 1.0,
                "period": "1979-2014",
                "recipe": "recipe_soilmoisture.yml",
                "references": ["ERA5", "ERA-Interim", "GLDAS-NOAH"],
                "input_files": [
                    str(series_dir),
                    str(work / "water_budget" / "regional_series"),
                ],
                "work_dir": str(metrics_dir),
                "run_dir": str(run / "evaluation" / "metrics"),
                "plot_dir": str(plots / "evaluation" / "metrics"),
            }
        )
    )
    # Fields.
    maps_dir = work / "maps" / "climatology_fields"
    clim = _write_nc(maps_dir / "climatology_sm_shallow.nc", synthetic)
    _esmvalcore_files(clim)
    _dump(
        run / "maps" / "climatology_fields",
        {
            str(clim): _record(
                "1979-2014 annual-mean climatology of shallow soil moisture.",
                [session / "preproc" / "x.nc"],
            )
        },
    )
    corr_dir = work / "correlation" / "correlation_fields"
    corr = _write_nc(corr_dir / "correlation_ERA5.nc", synthetic)
    pd.DataFrame(
        [
            {
                "dataset": "MIROC6",
                "member": "",
                "project": "CMIP6",
                "variable": "pr",
                "reason": "correlation maps: members on different grids",
            }
        ]
    ).to_csv(corr_dir / "excluded.csv", index=False)
    for f in (corr, corr_dir / "excluded.csv"):
        _esmvalcore_files(f)
    _dump(
        run / "correlation" / "correlation_fields",
        {
            str(corr): _record(
                "Correlation of shallow soil moisture with P - E of ERA5.",
                [session / "preproc" / "y.nc"],
            ),
            str(corr_dir / "excluded.csv"): _record(
                "Data sets left out of the correlation maps, and why.",
                [session / "preproc" / "y.nc"],
            ),
        },
    )
    ancestors = [metrics_dir, maps_dir, corr_dir]
    # Figures.
    figures_work = work / "evaluation" / "figures"
    figures_work.mkdir(parents=True)
    if with_figures:
        figures_plot = plots / "evaluation" / "figures"
        records = {}
        for stem, figure, group, own_data in FIGURES:
            png = _png(figures_plot / f"{stem}.png", figure)
            _esmvalcore_files(png)
            upstream = (
                [clim] if group == "maps" else [metrics_dir / "metrics.csv"]
            )
            caption = (
                EVIL_CAPTION
                if (evil and stem.startswith("fig05"))
                else f"{figure}: what was compared, 1979-2014."
            )
            records[str(png)] = _record(
                caption,
                upstream,
                figure=figure,
                figure_group=group,
                plot_types=["other"],
            )
            records[str(png.parent / "pdf" / f"{stem}.pdf")] = _record(
                caption, upstream, figure=figure, figure_group=group
            )
            if own_data:
                data = figures_work / f"{stem}.csv"
                data.write_text("a,b\n1,2\n")
                _esmvalcore_files(data)
                records[str(data)] = _record(
                    f"Data behind {figure}.", upstream
                )
        _dump(run / "evaluation" / "figures", records)
        ancestors.insert(1, figures_work)
    # Recipe, index.html, the report's own folders.
    (run / "recipe_soilmoisture_filled.yml").write_text(
        "documentation: {title: x}\n"
    )
    if with_index:
        (session / "index.html").write_text(
            '<!DOCTYPE html>\n<html lang="en">\n<head><title>Recipe soilmoisture</title></head>\n'
            "<body>\n<h1>Recipe soilmoisture</h1>\n<p>ESMValCore's list of outputs.</p>\n</body>\n</html>\n"
        )
    report_work = work / "evaluation" / "report"
    report_work.mkdir(parents=True)
    report_plot = plots / "evaluation" / "report"
    report_plot.mkdir(parents=True)
    report_run = run / "evaluation" / "report"
    report_run.mkdir(parents=True)
    cfg = {
        "ancestor_dirs": ancestors,
        "plot_dir": str(report_plot),
        "work_dir": str(report_work),
        "run_dir": str(report_run),
        "recipe": "recipe_soilmoisture.yml",
        "tss_threshold": THRESHOLD,
        "period": "1979-2014",
    }
    return {
        "session": session,
        "cfg": cfg,
        "table": table,
        "plot_dir": report_plot,
    }


@pytest.fixture
def fake_run(tmp_path):
    return make_run(tmp_path)


@pytest.fixture
def evil_run(tmp_path):
    return make_run(tmp_path, evil=True)


@pytest.fixture
def real_run(tmp_path):
    return make_run(tmp_path, synthetic=False)


def copy_run(info: dict, dest: Path) -> Path:
    """Copy a run folder elsewhere (the report must keep working)."""
    target = dest / RUN_NAME
    shutil.copytree(info["session"], target)
    return target
