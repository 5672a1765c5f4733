"""The ESMPy stand-in: installed only when needed, lets ESMValCore import.

It refuses ESMF regridding with a message that says what to do instead.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "scripts" / "install-esmpy-standin.sh"


def _fake_python(tmp_path: Path, esmpy_importable: bool) -> tuple[Path, Path]:
    """A stand-in interpreter that records pip calls and answers `import esmpy`."""
    log = tmp_path / "calls.log"
    exe = tmp_path / "python"
    exe.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = "-c" ]; then exit '
        + ("0" if esmpy_importable else "1")
        + "; fi\n"
        "exit 0\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe, log


@pytest.mark.parametrize("esmpy_importable", [True, False])
def test_installer_installs_only_when_esmpy_is_missing(
    tmp_path, esmpy_importable
):
    # A real ESMPy must never be shadowed; a missing one gets the stand-in.
    exe, log = _fake_python(tmp_path, esmpy_importable)
    subprocess.run(
        ["bash", str(INSTALLER), str(exe)], check=True, capture_output=True
    )
    calls = log.read_text().splitlines()
    pip_calls = [c for c in calls if c.startswith("-m pip install")]
    if esmpy_importable:
        assert pip_calls == []
    else:
        assert len(pip_calls) == 1
        assert pip_calls[0].endswith("tools/esmpy-standin")


def test_esmvalcore_preprocessor_imports():
    # In a fresh interpreter, as a user's `esmvaltool run` would.
    code = "import esmvalcore.preprocessor, esmpy; print(getattr(esmpy, 'SMEVAL_STANDIN', False))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert out.stdout.strip() in {"True", "False"}


def _cube():
    import iris.coords
    import iris.cube

    lat = iris.coords.DimCoord(
        np.linspace(-80, 80, 9), standard_name="latitude", units="degrees"
    )
    lon = iris.coords.DimCoord(
        np.arange(0, 360, 20.0),
        standard_name="longitude",
        units="degrees",
        circular=True,
    )
    lat.guess_bounds()
    lon.guess_bounds()
    return iris.cube.Cube(
        np.ones((9, 18), "f4"),
        var_name="mrsos",
        units="kg m-2",
        dim_coords_and_dims=[(lat, 0), (lon, 1)],
    )


def test_esmf_scheme_raises_clear_error():
    esmpy = pytest.importorskip("esmpy")
    if not getattr(esmpy, "SMEVAL_STANDIN", False):
        pytest.skip("a real ESMPy is installed; the stand-in is not in use")
    from esmvalcore.preprocessor import regrid

    with pytest.raises(esmpy.ESMPyNotAvailableError) as err:
        _ = regrid(  # the data realised
            _cube(),
            "10x10",
            {"reference": "esmf_regrid.schemes:ESMFAreaWeighted"},
        ).data
    message = str(err.value)
    assert "scheme: area_weighted" in message
    assert "conda install -c conda-forge esmpy" in message


def test_area_weighted_regridding_works_without_esmf():
    # The scheme our recipes use: iris's area-weighted regridder, no ESMF.
    from esmvalcore.preprocessor import regrid

    out = regrid(_cube(), "10x10", "area_weighted")
    assert out.shape == (18, 36)
    assert np.allclose(np.ma.compressed(out.data), 1.0)
