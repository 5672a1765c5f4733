"""Time-blocked generation (bounded memory at the paper scale) gives the same archive."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from smeval import cmorio
from smeval.sample import generate as gen
from smeval.sample.generate import SCALES, Period, generate, iter_archive_files


def _arrays(path):
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        return {name: var[...].copy() for name, var in ds.variables.items()}


def test_chunked_and_unchunked_models_are_identical(tmp_path):
    # MPI-ESM1-2-HR: 5-year files aligned on 1850 (1979, 1980-1981), 5 soil layers;
    # CNRM-CM6-1: one file, 14 layers. Blocks of 1 and 5 months cross file and year edges.
    kw = {
        "scale": "tiny",
        "models": ["MPI-ESM1-2-HR", "CNRM-CM6-1"],
        "members": 1,
        "years": (1979, 1981),
        "reanalyses": "none",
        "seed": 5,
        "progress": False,
    }
    generate(
        tmp_path / "whole", months_per_block=10**6, **kw
    )  # every file in one block
    for months in (1, 5):
        generate(tmp_path / f"b{months}", months_per_block=months, **kw)
    files = sorted(
        p.relative_to(tmp_path / "whole")
        for p in iter_archive_files(tmp_path / "whole")
    )
    assert len(files) >= 20
    assert any("_198001-198112.nc" in f.name for f in files)
    for months in (1, 5):
        other = sorted(
            p.relative_to(tmp_path / f"b{months}")
            for p in iter_archive_files(tmp_path / f"b{months}")
        )
        assert other == files
        for rel in files:
            a, b = (
                _arrays(tmp_path / "whole" / rel),
                _arrays(tmp_path / f"b{months}" / rel),
            )
            assert a.keys() == b.keys()
            for name in a:
                assert np.array_equal(a[name], b[name]), (months, rel, name)
            # HDF5 chunks are one time step: the files are byte-identical too
            assert (tmp_path / "whole" / rel).read_bytes() == (
                tmp_path / f"b{months}" / rel
            ).read_bytes()


def test_reanalysis_blocks_equal_the_whole_period():
    sc = SCALES["tiny"]
    period = Period(1979, 1980)
    fields_of, grid = gen.reanalysis_fields(
        "ERA5", period, 0, gen._world(sc.world_resolution), sc
    )
    whole = fields_of(0, period.n)
    years = [fields_of(12 * k, 12 * k + 12) for k in range(2)]
    for var, arr in whole.items():
        assert np.array_equal(
            arr, np.concatenate([y[var] for y in years]), equal_nan=True
        ), var
    assert whole["mrsol"].shape[:2] == (24, 4)
    assert grid["has_land"].any()


def test_block_months_bounded_by_budget():
    # CNRM-CM6-1-HR native: 360 x 720 cells, 14 layers, float64
    months = gen.block_months(360 * 720, 14)
    assert months >= 1
    assert months * 360 * 720 * 14 * 8 <= gen.BLOCK_BYTES
    assert gen.block_months(10**9, 100) == 1
    assert gen.time_blocks(12, 36, 10) == [(12, 22), (22, 32), (32, 36)]


def _write_kwargs():
    tp, tb = cmorio.monthly_time_axis(1979, 1979, "standard")
    lat = np.array([-45.0, 45.0])
    lon = np.array([90.0, 270.0])
    return {
        "project": "CMIP6",
        "mip": "Lmon",
        "short_name": "mrsos",
        "lat": lat,
        "lon": lon,
        "time_points": tp,
        "time_bounds": tb,
        "significant_bits": 12,
    }


def test_variable_writer_blocks_match_write_variable(tmp_path):
    data = np.random.default_rng(0).random((12, 2, 2)) * 30.0
    data[3, 0, 1] = np.nan
    cmorio.write_variable(tmp_path / "whole.nc", data, **_write_kwargs())
    with cmorio.variable_writer(
        tmp_path / "blocks.nc", **_write_kwargs()
    ) as writer:
        for a, b in ((0, 3), (3, 7), (7, 12)):
            writer.write(data[a:b], start=a)
    assert (tmp_path / "whole.nc").read_bytes() == (
        tmp_path / "blocks.nc"
    ).read_bytes()
    with cmorio.variable_writer(
        tmp_path / "any.nc", **_write_kwargs()
    ) as writer:
        for a, b in ((7, 12), (0, 3), (3, 7)):  # any order: same data
            writer.write(data[a:b], start=a)
    assert np.array_equal(
        _arrays(tmp_path / "any.nc")["mrsos"],
        _arrays(tmp_path / "whole.nc")["mrsos"],
    )


def test_variable_writer_is_atomic(tmp_path):
    data = np.ones((12, 2, 2))
    target = tmp_path / "x.nc"
    with (
        pytest.raises(ValueError, match="never written"),
        cmorio.variable_writer(target, **_write_kwargs()) as writer,
    ):
        writer.write(data[:6], start=0)
    with (
        pytest.raises(ValueError, match="data shape"),
        cmorio.variable_writer(target, **_write_kwargs()) as writer,
    ):
        writer.write(data[:6], start=8)
    assert not target.exists()
    assert not list(tmp_path.iterdir())
