"""Synthetic results for the figure tests.

A tidy metrics table, annual cycles and fields in the formats of
docs/results.md.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
import pytest

from smeval.core.regions import ALL_REGIONS, REGIONS

#: A few models with families and resolution groups as in the catalogue.
MODELS = {
    "ACCESS-ESM1-5": ("ACCESS", "low"),
    "CESM2": ("CESM2", "high"),
    "CanESM5": ("CanESM5", "low"),
    "GFDL-CM4": ("GFDL", "high"),
    "MIROC6": ("MIROC", "low"),
    "MPI-ESM1-2-HR": ("MPI-ESM", "high"),
}
MMEM_GROUP = {
    "CMIP6-MMEM": "all",
    "CMIP6-MMEM-high": "high",
    "CMIP6-MMEM-low": "low",
}
REFERENCES = ("ERA5", "GLDAS-NOAH")


def metrics_table(
    seed: int = 0, variables=("sm_shallow", "sm_deep"), negative: bool = True
) -> pd.DataFrame:
    """Return a tidy metrics table as the metrics stage would write it.

    R in [-0.6, 0.95] (or [0.1, 0.95]), sigma in [0.3, 1.8], E' and TSS from
    them.
    """
    rng = np.random.default_rng(seed)
    rows = []
    datasets = [(m, "model", fam, grp) for m, (fam, grp) in MODELS.items()]
    datasets += [(m, "mmem", "", g) for m, g in MMEM_GROUP.items()]
    for var in variables:
        for ref in REFERENCES:
            for region in ALL_REGIONS:
                for ds, kind, fam, grp in datasets:
                    r = rng.uniform(-0.6 if negative else 0.1, 0.95)
                    s = rng.uniform(0.3, 1.8)
                    e = np.sqrt(s * s + 1 - 2 * s * r)
                    tss = 4 * (1 + r) / ((s + 1 / s) ** 2 * 2)
                    for stat, val in (
                        ("R", r),
                        ("sigma", s),
                        ("E'", e),
                        ("TSS", tss),
                        ("n_months", 432),
                    ):
                        rows.append(
                            (
                                ds,
                                kind,
                                fam,
                                grp,
                                ref,
                                var,
                                region.id,
                                stat,
                                val,
                                "1",
                            )
                        )
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "kind",
            "family",
            "resolution_group",
            "reference",
            "variable",
            "region",
            "statistic",
            "value",
            "units",
        ],
    )


@pytest.fixture
def metrics():
    return metrics_table()


@pytest.fixture
def annual_cycles():
    rows = []
    months = np.arange(1, 13)
    for k, ds in enumerate(
        [*list(MODELS), "CMIP6-MMEM", "ERA5", "ERA-Interim", "GLDAS-NOAH"]
    ):
        kind = (
            "model"
            if ds in MODELS
            else "mmem"
            if ds.startswith("CMIP6")
            else "reference"
        )
        for region in REGIONS:
            vals = 20 + 3 * k + 5 * np.sin(2 * np.pi * (months - 1 + k) / 12)
            rows += [
                (ds, kind, "sm_shallow", region.id, m, v, "kg m-2")
                for m, v in zip(months, vals, strict=True)
            ]
    return pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "kind",
            "variable",
            "region",
            "month",
            "value",
            "units",
        ],
    )


def grid(nlat: int = 80, nlon: int = 160):
    """Cell centres of a regular global grid (degrees; longitudes 0..360)."""
    lat = -90 + (np.arange(nlat) + 0.5) * 180 / nlat
    lon = (np.arange(nlon) + 0.5) * 360 / nlon
    return lat, lon


def field(seed: int = 0, nlat: int = 80, nlon: int = 160, scale: float = 30.0):
    lat, lon = grid(nlat, nlon)
    la, lo = np.meshgrid(np.deg2rad(lat), np.deg2rad(lon), indexing="ij")
    data = scale * (1 + 0.5 * np.cos(la) * np.sin(2 * lo + seed))
    data[lat < -60] = np.nan
    return lat, lon, data


@pytest.fixture(autouse=True)
def offline_cartopy(monkeypatch):
    """Point cartopy's data folder at an empty temporary directory.

    Anything that tried to fetch Natural Earth would have to write there.
    """
    import cartopy

    with tempfile.TemporaryDirectory() as empty:
        monkeypatch.setitem(cartopy.config, "data_dir", empty)
        monkeypatch.setitem(cartopy.config, "pre_existing_data_dir", "")
        yield empty


@pytest.fixture
def captured(monkeypatch):
    """Keep each figure a plotting function saves (it is normally cleared).

    A test can then read its artists. Returns the list of saved figures.
    """
    import importlib

    from smeval.plot import style

    figures = []
    real = style.savefig

    def keep(fig, stem, pdf=False, clear=True):  # noqa: ARG001 - savefig's signature
        figures.append(fig)
        return real(fig, stem, pdf=pdf, clear=False)

    for name in ("maps", "taylor", "heatmap", "counts", "cycles"):
        monkeypatch.setattr(
            importlib.import_module(f"smeval.plot.{name}"), "savefig", keep
        )
    return figures


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_files(paths, pdf: bool):
    """Every path exists and is a non-empty PNG (and a PDF when asked)."""
    suffixes = sorted(p.suffix for p in paths)
    assert suffixes == ([".pdf", ".png"] if pdf else [".png"])
    for p in paths:
        data = p.read_bytes()
        assert len(data) > 1000, p
        assert data.startswith(PNG_MAGIC if p.suffix == ".png" else b"%PDF"), p
