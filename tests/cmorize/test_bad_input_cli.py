"""Bad input (missing variable, wrong unit, truncated file, gap), atomicity, the command."""

from __future__ import annotations

import datetime as dt

import netCDF4
import numpy as np
import pytest
from cmorize_helpers import checksums

from smeval import cli
from smeval.cmorize import rawformats as rf
from smeval.cmorize.convert import Options, cmorize
from smeval.cmorize.errors import (
    CMORizeError,
    MissingVariableError,
    TimeGapError,
    UnitError,
    UnreadableFileError,
)

LAT = np.array([-30.0, 30.0])
LON = np.array([0.0, 90.0, 180.0, 270.0])
MONTHS = [dt.datetime(1990, m, 1) for m in range(1, 7)]


def _era(raw, names=("swvl1", "swvl2", "lsm"), months=MONTHS):
    shape = (len(months), LAT.size, LON.size)
    # lsm 0.7: land (an all-ocean grid would leave mrsos all missing, refused)
    rf.write_era5_monthly(
        raw / "era5.nc",
        {n: np.full(shape, 0.7 if n == "lsm" else 0.3) for n in names},
        LAT,
        LON,
        months,
    )


@pytest.fixture
def raw(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


def _assert_nothing_written(out):
    assert (
        not [p for p in out.rglob("*") if p.is_file()]
        if out.exists()
        else True
    )


def test_missing_variable(raw, tmp_path):
    _era(raw, names=("swvl1", "lsm"))
    with pytest.raises(MissingVariableError) as exc:
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    msg = str(exc.value)
    assert "ERA5" in msg
    assert "'swvl2'" in msg
    assert "era5.nc" in msg
    assert "mrsos" in msg
    _assert_nothing_written(tmp_path / "out")


def test_wrong_unit(raw, tmp_path):
    _era(raw)
    with netCDF4.Dataset(raw / "era5.nc", "a") as ds:
        ds["swvl2"].units = "kg m-2"
    with pytest.raises(
        UnitError, match=r"'swvl2'.*era5\.nc.*units are 'kg m-2', expected"
    ):
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    _assert_nothing_written(tmp_path / "out")


def test_gldas_wrong_unit(tmp_path):
    rf.write_gldas_monthly(
        tmp_path / "raw", {"Qs_acc": np.ones((2, 2, 4))}, LAT, LON, MONTHS[:2]
    )
    for path in (tmp_path / "raw").iterdir():
        with netCDF4.Dataset(path, "a") as ds:
            ds["Qs_acc"].units = "kg m-2 s-1"
    with pytest.raises(
        UnitError, match=r"GLDAS.*'Qs_acc'.*GLDAS_NOAH025_M.A199001.020.nc4"
    ):
        cmorize(
            "GLDAS",
            tmp_path / "raw",
            tmp_path / "out",
            Options(variables=["mrros"], progress=False),
        )


def test_truncated_file(raw, tmp_path):
    _era(raw)
    data = (raw / "era5.nc").read_bytes()
    (raw / "era5.nc").write_bytes(data[: len(data) // 3])
    with pytest.raises(UnreadableFileError, match=r"ERA5.*era5\.nc.*cannot"):
        cmorize(
            "ERA5",
            raw,
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )
    _assert_nothing_written(tmp_path / "out")


def test_truncated_grib(raw, tmp_path, realdata):
    data = (
        realdata / "era-interim" / "ERAI_example_downloaded_raw.grb"
    ).read_bytes()
    (raw / "cut.grb").write_bytes(data[: len(data) // 2 + 17])
    with pytest.raises(UnreadableFileError, match=r"ERA-Interim.*cut\.grb"):
        cmorize(
            "ERA-Interim",
            raw,
            tmp_path / "out",
            Options(variables=["sftlf"], progress=False),
        )


def test_gap_in_gldas_months(tmp_path):
    months = [dt.datetime(1990, m, 1) for m in (1, 2, 4)]
    rf.write_gldas_monthly(
        tmp_path / "raw",
        {"SoilMoi0_10cm_inst": np.ones((3, 2, 4))},
        LAT,
        LON,
        months,
    )
    with pytest.raises(
        TimeGapError, match=r"GLDAS, variable 'mrsos'.*1990-03"
    ):
        cmorize(
            "GLDAS",
            tmp_path / "raw",
            tmp_path / "out",
            Options(variables=["mrsos"], progress=False),
        )


def test_failure_late_in_the_run_leaves_no_file_and_inputs_unchanged(
    raw, tmp_path, monkeypatch
):
    _era(raw, names=("swvl1", "swvl2", "swvl3", "swvl4", "lsm"))
    before = checksums(raw)
    out = tmp_path / "out"
    out.mkdir()
    (out / "unrelated.txt").write_text("kept")
    # mrsos and mrsol convert; reading sftlf's lsm then fails
    from smeval.cmorize import convert

    real = convert._convert_one

    def failing(info, dataset, recipe, *args, **kwargs):
        if recipe.short_name == "sftlf":
            msg = "simulated read failure"
            raise UnreadableFileError(
                msg,
                dataset=dataset,
                variable="lsm",
                files=[raw / "era5.nc"],
            )
        return real(info, dataset, recipe, *args, **kwargs)

    monkeypatch.setattr(convert, "_convert_one", failing)
    with pytest.raises(CMORizeError, match="simulated"):
        cmorize(
            "ERA5",
            raw,
            out,
            Options(variables=["mrsos", "mrsol", "sftlf"], progress=False),
        )
    assert sorted(p.name for p in out.rglob("*")) == ["unrelated.txt"]
    assert checksums(raw) == before


def test_success_leaves_inputs_unchanged(raw, tmp_path):
    _era(raw)
    before = checksums(raw)
    cmorize(
        "ERA5",
        raw,
        tmp_path / "out",
        Options(variables=["mrsos", "sftlf"], progress=False),
    )
    assert checksums(raw) == before
    leftovers = [
        p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")
    ]
    assert leftovers == []


def test_command_success_and_failure(raw, tmp_path, capsys):
    _era(raw)
    out = tmp_path / "out"
    code = cli.main(
        [
            "cmorize",
            "ERA5",
            "--raw",
            str(raw),
            "--out",
            str(out),
            "--variables",
            "mrsos,sftlf",
            "--start",
            "1990",
            "--end",
            "1990",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "OBS6_ERA5_reanaly_1_Lmon_mrsos_199001-199006.nc" in captured.out
    assert (
        out / "Tier3" / "ERA5" / "OBS6_ERA5_reanaly_1_fx_sftlf.nc"
    ).is_file()
    assert "cmorize ERA5" in captured.err  # the tqdm progress bar
    code = cli.main(
        [
            "cmorize",
            "ERA5",
            "--raw",
            str(raw),
            "--out",
            str(tmp_path / "o2"),
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "error: ERA5, variable 'swvl3'" in captured.err
    assert "era5.nc" in captured.err


def test_help_lists_options(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["cmorize", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in (
        "ERA5",
        "ERA-Interim",
        "GLDAS",
        "ESACCI-SM",
        "--raw",
        "--out",
        "--start",
        "--end",
        "--variables",
        "--allow-partial-months",
        "--min-valid-days",
        "--mrros-from-total-runoff",
        "OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-201412.nc",
    ):
        assert word in text
