"""Layout, determinism, resume and the synthetic banner of the generated archive."""

from __future__ import annotations

import json
import os

import netCDF4
import numpy as np
import pytest

from smeval.sample.generate import SYNTHETIC, generate, iter_archive_files


def _data(path):
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        return {name: var[...].copy() for name, var in ds.variables.items()}


def test_every_file_says_synthetic(tiny_archive):
    files = list(iter_archive_files(tiny_archive))
    assert len(files) > 100
    for path in files:
        with netCDF4.Dataset(path) as ds:
            assert ds.getncattr("synthetic") == SYNTHETIC, path


def test_esgf_layout(tiny_archive):
    files = {
        p.relative_to(tiny_archive).as_posix()
        for p in iter_archive_files(tiny_archive)
    }
    assert (
        "CMIP6/CMIP/MPI-M/MPI-ESM1-2-LR/historical/r2i1p1f1/Lmon/mrsos/gn/v20190710/"
        "mrsos_Lmon_MPI-ESM1-2-LR_historical_r2i1p1f1_gn_197901-198112.nc"
    ) in files
    assert (
        "CMIP6/CMIP/CNRM-CERFACS/CNRM-CM6-1/historical/r1i1p1f2/fx/sftlf/gr/v20180917/"
        "sftlf_fx_CNRM-CM6-1_historical_r1i1p1f2_gr.nc"
    ) in files
    # MPI-ESM1-2-HR files are 5-year chunks aligned on 1850, as on ESGF
    assert any(
        f.endswith(
            "pr_Amon_MPI-ESM1-2-HR_historical_r1i1p1f1_gn_197901-197912.nc"
        )
        for f in files
    )
    assert any(
        f.endswith(
            "pr_Amon_MPI-ESM1-2-HR_historical_r1i1p1f1_gn_198001-198112.nc"
        )
        for f in files
    )
    # CNRM-CM6-1 has no mrros/snm in Table 1
    assert not any("/CNRM-CM6-1/" in f and "/mrros/" in f for f in files)
    assert (
        "OBS6/Tier3/ERA5/OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-198112.nc"
        in files
    )
    assert (
        "OBS6/Tier3/GLDAS-NOAH/OBS6_GLDAS-NOAH_reanaly_1_Emon_mrsol_197901-198112.nc"
        in files
    )
    assert "raw/GLDAS/GLDAS_NOAH025_M.A198106.020.nc4" in files
    assert "raw/ERA5/ERA5_monthly_1980.nc" in files
    summary = json.loads((tiny_archive / "sample_archive.json").read_text())
    assert summary["scale"] == "tiny"
    assert summary["seed"] == 0


def test_mrsol_depths_are_the_land_models(tiny_archive):
    path = next(
        tiny_archive.glob(
            "CMIP6/CMIP/MPI-M/MPI-ESM1-2-LR/historical/r1i1p1f1/Emon/mrsol/gn/*/*.nc"
        )
    )
    with netCDF4.Dataset(path) as ds:
        bounds = ds["depth_bnds"][:]
        assert ds["time"].calendar == "proleptic_gregorian"
    assert np.allclose(bounds[:, 1], [0.065, 0.319, 1.232, 4.134, 9.834])


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    kw = {
        "scale": "tiny",
        "models": ["MPI-ESM1-2-LR"],
        "members": 1,
        "years": (1979, 1979),
        "reanalyses": "obs6",
        "progress": False,
    }
    generate(tmp_path / "a", seed=3, **kw)
    generate(tmp_path / "b", seed=3, **kw)
    generate(tmp_path / "c", seed=4, **kw)
    files_a = sorted(
        p.relative_to(tmp_path / "a")
        for p in iter_archive_files(tmp_path / "a")
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b")
        for p in iter_archive_files(tmp_path / "b")
    )
    assert files_a == files_b
    assert len(files_a) > 10
    for rel in files_a:
        da, db = _data(tmp_path / "a" / rel), _data(tmp_path / "b" / rel)
        assert da.keys() == db.keys()
        for name in da:
            assert np.array_equal(da[name], db[name]), (rel, name)
        if rel.parts[0] == "CMIP6":
            # The generator's own files are byte-identical; the OBS6 files come
            # from the converter, whose metadata records when it ran.
            assert (tmp_path / "a" / rel).read_bytes() == (
                tmp_path / "b" / rel
            ).read_bytes()
    rel = next(r for r in files_a if r.name.startswith("mrsos_Lmon"))
    assert not np.array_equal(
        _data(tmp_path / "a" / rel)["mrsos"],
        _data(tmp_path / "c" / rel)["mrsos"],
    )


def test_resume_completes_partial_and_leaves_complete_untouched(tmp_path):
    kw = {
        "scale": "tiny",
        "models": ["CNRM-CM6-1"],
        "members": 2,
        "years": (1979, 1980),
        "reanalyses": "obs6",
        "seed": 1,
        "progress": False,
    }
    root = tmp_path / "arch"
    first = generate(root, **kw)
    files = list(iter_archive_files(root))
    assert first["files_written"] == len(files)
    # a complete archive is left alone: nothing written, mtimes unchanged
    past = 1_000_000_000
    for p in files:
        os.utime(p, (past, past))
    again = generate(root, **kw)
    assert again["files_written"] == 0
    assert all(p.stat().st_mtime == past for p in files)
    # a partial one is completed with identical content
    victims = [
        p
        for p in files
        if "r2i1p1f2" in p.as_posix()
        or p.name.endswith("Emon_mrsol_197901-198012.nc")
    ]
    assert len(victims) >= 4
    saved = {p: _data(p) for p in victims}
    for p in victims:
        p.unlink()
    resumed = generate(root, **kw)
    assert resumed["files_written"] == len(victims)
    for p in victims:
        new = _data(p)
        for name, arr in saved[p].items():
            assert np.array_equal(arr, new[name]), (p, name)
    untouched = [p for p in files if p not in victims]
    assert all(p.stat().st_mtime == past for p in untouched)
    assert not list(root.rglob(".*.tmp"))


def test_bad_arguments_are_reported(tmp_path):
    with pytest.raises(ValueError, match="not in the catalogue"):
        generate(tmp_path, scale="tiny", models=["NOPE-1"], progress=False)
    with pytest.raises(ValueError, match="unknown scale"):
        generate(tmp_path, scale="huge", progress=False)


def test_cli_runs(tmp_path, capsys):
    from smeval.cli import main

    code = main(
        [
            "sample-data",
            "--out",
            str(tmp_path),
            "--scale",
            "tiny",
            "--models",
            "MPI-ESM1-2-LR",
            "--members",
            "1",
            "--years",
            "1979-1979",
            "--reanalyses",
            "none",
            "--quiet",
        ]
    )
    assert code == 0
    assert "files written" in capsys.readouterr().out
    assert list(
        tmp_path.glob(
            "CMIP6/CMIP/MPI-M/MPI-ESM1-2-LR/historical/r1i1p1f1/Lmon/mrsos/gn/*/*.nc"
        )
    )
    assert (
        main(["sample-data", "--out", str(tmp_path), "--years", "2014-1979"])
        == 2
    )
