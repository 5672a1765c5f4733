"""Converter faults (issue 19, point 6): one fault planted per case, the outcome asserted.

Cases (``docs/reliability.md``, section "Converters"): bad ``--out``,
all-missing output, another period beside the new file, SIGINT/SIGTERM/
SIGKILL sent to a real ``smeval cmorize`` process, stale staging folders.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from smeval import cli
from smeval.cmorize import _signals, _staging
from smeval.cmorize import rawformats as rf

LAT = np.array([-30.0, 30.0])
LON = np.array([0.0, 90.0, 180.0, 270.0])


def _era(raw: Path, years=(1990,), lsm=0.7) -> None:
    months = [dt.datetime(y, m, 1) for y in years for m in range(1, 13)]
    shape = (len(months), LAT.size, LON.size)
    rf.write_era5_monthly(
        raw / "era5.nc",
        {
            "swvl1": np.full(shape, 0.3),
            "swvl2": np.full(shape, 0.2),
            "lsm": np.full(shape, lsm),
        },
        LAT,
        LON,
        months,
    )


def _cmorize(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["cmorize", *map(str, args), "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("smeval cmorize: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def raw(tmp_path):
    folder = tmp_path / "raw"
    folder.mkdir()
    _era(folder)
    return folder


# ---------------------------------------------------------------------------
# bad --out
# ---------------------------------------------------------------------------


def _bad_outs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    tier_file = tmp_path / "tier_is_file"
    tier_file.mkdir()
    (tier_file / "Tier3").write_text("not a folder")
    return {
        "a file": (a_file, "not a folder"),
        "below a file": (a_file / "sub", "Not a directory"),
        "unwritable (/proc)": (
            Path("/proc/smeval-out"),
            "No such file or directory",
        ),
        "name too long": (tmp_path / ("x" * 300), "File name too long"),
        "Tier3 is a file": (tier_file, "Not a directory"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "a file",
        "below a file",
        "unwritable (/proc)",
        "name too long",
        "Tier3 is a file",
    ],
)
def test_bad_out_is_one_error_line(raw, tmp_path, capsys, case):
    out, reason = _bad_outs(tmp_path)[case]
    code, stdout, err = _cmorize(
        capsys, "ERA5", "--raw", raw, "--out", out, "--variables", "mrsos"
    )
    line = _one_error_line(err)
    assert code == 1
    assert stdout == ""
    assert "ERA5" in line
    assert reason in line
    assert out.name[:50] in line
    if case == "Tier3 is a file":  # nothing left behind in the output folder
        assert sorted(p.name for p in out.iterdir()) == ["Tier3"]


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root may write into a read-only folder"
)
def test_bad_out_read_only_folder(raw, tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        code, _, err = _cmorize(capsys, "ERA5", "--raw", raw, "--out", out)
    finally:
        out.chmod(0o755)
    assert code == 1
    assert "Permission denied" in _one_error_line(err)


def test_bad_input_creates_no_out_folder(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    _era(raw)
    code, _, err = _cmorize(
        capsys,
        "ERA5",
        "--raw",
        raw,
        "--out",
        tmp_path / "new" / "out",
        "--variables",
        "mrsol",
    )
    assert code == 1
    assert "'swvl3'" in _one_error_line(err)
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------------------
# all-missing output
# ---------------------------------------------------------------------------


def _esacci(raw: Path, n_days: int) -> None:
    days = [dt.datetime(2005, 6, d) for d in range(1, n_days + 1)]
    sm = np.full((n_days, LAT.size, LON.size), 0.25)
    rf.write_esacci_daily(raw, sm, LAT, LON, days)


def test_esacci_too_few_days_is_refused_and_keeps_the_good_file(
    tmp_path, capsys
):
    raw, out = tmp_path / "raw", tmp_path / "out"
    _esacci(raw, 5)
    code, stdout, _ = _cmorize(
        capsys,
        "ESACCI-SM",
        "--raw",
        raw,
        "--out",
        out,
        "--min-valid-days",
        "3",
    )
    good = Path(stdout.strip())
    assert code == 0
    assert good.is_file()
    before = _sha(good)
    # default --min-valid-days 10 > 5 days: every cell missing
    code, stdout, err = _cmorize(
        capsys, "ESACCI-SM", "--raw", raw, "--out", out
    )
    line = _one_error_line(err)
    assert code == 1
    assert stdout == ""
    assert "every value is missing" in line
    assert "--min-valid-days" in line
    assert "--allow-empty" in line
    assert "ESACCI-SM" in line
    assert "'mrsos'" in line
    assert (
        "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20050601000000" in line
    )  # the raw files
    assert _sha(good) == before
    # --allow-empty never replaces an existing file either
    code, _, err = _cmorize(
        capsys, "ESACCI-SM", "--raw", raw, "--out", out, "--allow-empty"
    )
    line = _one_error_line(err)
    assert code == 1
    assert f"would replace the existing file {good}" in line
    assert _sha(good) == before
    assert [p.name for p in out.rglob("*") if p.name.startswith(".")] == []


def test_allow_empty_writes_where_no_file_exists(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    _esacci(raw, 5)
    code, stdout, err = _cmorize(
        capsys, "ESACCI-SM", "--raw", raw, "--out", out, "--allow-empty"
    )
    assert code == 0
    assert (
        "smeval cmorize: warning: ESACCI-SM mrsos: every value is missing"
        in err
    )
    with netCDF4.Dataset(stdout.strip()) as ds:
        assert np.ma.getmaskarray(ds["mrsos"][:]).all()


def _gldas_top_layer_fill(raw: Path) -> None:
    months = [dt.datetime(1990, m, 1) for m in (1, 2)]
    shape = (2, LAT.size, LON.size)
    rf.write_gldas_monthly(
        raw,
        {
            "SoilMoi0_10cm_inst": np.full(shape, np.nan),
            "Rainf_f_tavg": np.full(shape, 3e-5),
        },
        LAT,
        LON,
        months,
    )


@pytest.mark.parametrize(
    ("variable", "what"),
    [("mrsos", "every value is missing"), ("sftlf", "no land at all")],
)
def test_gldas_all_fill_top_layer_is_refused(tmp_path, capsys, variable, what):
    raw, out = tmp_path / "raw", tmp_path / "out"
    _gldas_top_layer_fill(raw)
    code, stdout, err = _cmorize(
        capsys,
        "GLDAS",
        "--raw",
        raw,
        "--out",
        out,
        "--variables",
        f"pr,{variable}",
    )
    line = _one_error_line(err)
    assert code == 1
    assert what in line
    assert f"'{variable}'" in line
    assert "GLDAS" in line
    assert (
        not [p for p in out.rglob("*") if p.is_file()]
        if out.exists()
        else True
    )
    # the same input converts pr alone
    code, stdout, _ = _cmorize(
        capsys, "GLDAS", "--raw", raw, "--out", out, "--variables", "pr"
    )
    assert code == 0
    assert stdout.strip().endswith("Amon_pr_199001-199002.nc")


# ---------------------------------------------------------------------------
# another period of the same variable
# ---------------------------------------------------------------------------


def test_other_period_of_the_same_variable_is_reported(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    _era(raw, years=(1990, 1991))
    code, _stdout, err = _cmorize(
        capsys,
        "ERA5",
        "--raw",
        raw,
        "--out",
        out,
        "--variables",
        "mrsos,sftlf",
        "--end",
        "1990",
    )
    assert code == 0
    assert "warning" not in err
    code, _stdout, err = _cmorize(
        capsys,
        "ERA5",
        "--raw",
        raw,
        "--out",
        out,
        "--variables",
        "mrsos,sftlf",
    )
    assert code == 0
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1, err  # mrsos only; sftlf has no period
    assert (
        "OBS6_ERA5_reanaly_1_Lmon_mrsos_199001-199012.nc holds another period"
        in warnings[0]
    )
    assert "OBS6_ERA5_reanaly_1_Lmon_mrsos_199001-199112.nc" in warnings[0]
    assert "ESMValCore would read both" in warnings[0]
    # rerunning the same period replaces the file and reports only the old period
    code, _, err = _cmorize(
        capsys, "ERA5", "--raw", raw, "--out", out, "--variables", "mrsos"
    )
    assert code == 0
    assert err.count("warning") == 1


# ---------------------------------------------------------------------------
# staging folders
# ---------------------------------------------------------------------------


def test_stale_staging_removed_live_one_kept(tmp_path):
    parent = tmp_path / "out"
    parent.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = parent / ".smeval-cmorize-stale"
    stale.mkdir()
    (stale / ".lock").write_text(dead.stdout)
    (stale / "mrsos.nc").write_bytes(b"partial")
    live = parent / ".smeval-cmorize-live"
    live.mkdir()
    fd = os.open(live / ".lock", os.O_CREAT | os.O_RDWR)
    os.write(fd, f"{os.getpid()}\n".encode())
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        removed = _staging.clean_stale(parent, ".smeval-cmorize-")
        assert removed == [stale]
        assert live.is_dir()
        assert not stale.exists()
    finally:
        os.close(fd)
    young = parent / ".smeval-cmorize-young"  # being created: no lock file yet
    young.mkdir()
    assert (
        _staging.clean_stale(parent, ".smeval-cmorize-") == []
    )  # live pid; young
    old = time.time() - 2 * _staging.UNLOCKED_GRACE_S
    os.utime(young, (old, old))
    assert _staging.clean_stale(parent, ".smeval-cmorize-") == [young]


def test_stale_grib_staging_in_tmpdir_is_removed(
    tmp_path, realdata, capsys, monkeypatch
):
    tmpdir = tmp_path / "tmp"
    stale = tmpdir / "smeval-cmorize-grib-stale"
    stale.mkdir(parents=True)
    (stale / ".lock").write_text("999999999\n")  # no such process
    (stale / "grib0.npz").write_bytes(b"partial")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "e.grb").symlink_to(
        realdata / "era-interim" / "ERAI_example_downloaded_raw.grb"
    )
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    code, _stdout, err = _cmorize(
        capsys,
        "ERA-Interim",
        "--raw",
        raw,
        "--out",
        tmp_path / "out",
        "--variables",
        "sftlf",
    )
    assert code == 0, err
    assert list(tmpdir.iterdir()) == []  # stale one and this run's removed


# ---------------------------------------------------------------------------
# signals in this process: a swallowed raise, a signal during the move
# ---------------------------------------------------------------------------


class _SwallowsSignal:
    """Receives SIGINT inside ``__del__``, where Python ignores exceptions."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # the handler runs here; its raise is ignored
            pass


# the point of the test: Python reports the raise in __del__ as "ignored"
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sigint_raised_where_python_ignores_it_is_not_lost():
    with _signals.interrupts_guarded():
        _SwallowsSignal()  # deleted at once: "Exception ignored in ..."
        assert _signals.received() == signal.SIGINT
        with pytest.raises(_signals.Interrupted) as exc:
            _signals.check()  # the converter's checkpoints
    assert exc.value.exit_code == 130
    _signals.check()  # outside the guard: nothing left over
    assert (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )  # restored


def test_signal_during_the_move_is_held_until_every_file_is_moved():
    moved = []
    with (
        _signals.interrupts_guarded(),
        pytest.raises(_signals.Interrupted) as exc,
        _signals.deferred(),
    ):
        for k in range(3):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000):
                pass
            moved.append(k)
    assert moved == [0, 1, 2]
    assert exc.value.held
    assert exc.value.exit_code == 143


# ---------------------------------------------------------------------------
# signals sent to a real process
# ---------------------------------------------------------------------------

#: Upper bound of every wait on the child (s).
WAIT_S = 120


def _big_era(raw: Path) -> None:
    """Enough months that writing takes a while (~3 s): 20 years, 2 degrees."""
    lat = np.arange(-89.0, 90.0, 2.0)
    lon = np.arange(0.0, 360.0, 2.0)
    years = range(1990, 2010)
    months = [dt.datetime(y, m, 1) for y in years for m in range(1, 13)]
    rng = np.random.default_rng(1)
    shape = (len(months), lat.size, lon.size)
    fields = {
        f"swvl{k}": rng.uniform(0.1, 0.4, shape).astype(np.float32)
        for k in (1, 2)
    }
    fields["lsm"] = np.full(shape, 0.7, np.float32)
    rf.write_era5_monthly(raw / "era5.nc", fields, lat, lon, months)


@pytest.fixture(scope="module")
def big_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("bigraw")
    _big_era(raw)
    return raw


def _start(raw: Path, out: Path, tmpdir: Path, *extra) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(tmpdir), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smeval.cli",
            "cmorize",
            "ERA5",
            "--raw",
            str(raw),
            "--out",
            str(out),
            "--variables",
            "mrsos",
            "--no-progress",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_writing(proc: subprocess.Popen, out: Path) -> None:
    """Until the first month is in the staging folder (bounded)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if list(out.glob(".smeval-cmorize-*/mrsos.nc")):
            return
        if proc.poll() is not None:
            pytest.fail(
                f"the conversion ended ({proc.returncode}) before writing was "
                f"seen:\n{proc.stderr.read()}"
            )
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no staging file within the time limit")


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_signal_during_writing_is_clean(big_raw, tmp_path, sig, code):
    out, tmpdir = tmp_path / "out", tmp_path / "tmp"
    tmpdir.mkdir()
    proc = _start(big_raw, out, tmpdir)
    _wait_for_writing(proc, out)
    assert proc.poll() is None, "still running when signalled"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert lines == [
        f"smeval cmorize: interrupted by {sig.name}: nothing was written, "
        "partial files removed"
    ], stderr
    assert stdout == ""
    assert list(out.rglob("*")) == []  # no staging, no output
    assert list(tmpdir.iterdir()) == []


def test_repeated_sigint_is_never_lost(big_raw, tmp_path):
    """Ctrl-C at several moments of the writing, twice in a row each time."""
    for k, delay in enumerate((0.0, 0.05, 0.2)):
        out = tmp_path / f"out{k}"
        proc = _start(big_raw, out, tmp_path)
        _wait_for_writing(proc, out)
        time.sleep(delay)
        if proc.poll() is not None:
            pytest.fail(
                f"finished before the signal (delay {delay} s): make _big_era bigger"
            )
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=WAIT_S)
        assert proc.returncode == 130, (delay, stderr)
        assert "Traceback" not in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert list(out.rglob("*")) == []


def test_sigkill_leftovers_are_removed_by_the_next_run(big_raw, tmp_path):
    out = tmp_path / "out"
    proc = _start(big_raw, out, tmp_path)
    _wait_for_writing(proc, out)
    proc.kill()
    proc.communicate(timeout=WAIT_S)
    left = list(out.glob(".smeval-cmorize-*"))
    assert len(left) == 1  # what a crash leaves
    proc = _start(big_raw, out, tmp_path, "--end", "1990")
    _stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, stderr
    assert not left[0].exists()
    assert [p.name for p in out.rglob("*") if p.is_file()] == [
        "OBS6_ERA5_reanaly_1_Lmon_mrsos_199001-199012.nc"
    ]
