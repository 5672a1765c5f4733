"""A real CMIP6 ``mrsos`` file through ESMValCore's loading path (fixes and CMOR checks).

The file is EC-Earth3-Veg land-hist r1i1p1f1, ``day`` table, a 64 x 64 box,
January 1970 (``cmip6-daily/`` of the real-data folder). It is read in place
through a symbolic link: ESMValCore's ``Dataset.load`` runs the file fixes,
``fix_metadata``, ``cmor_check_metadata``, ``fix_data`` and
``cmor_check_data`` against the CMIP6 ``day`` table; the values must come out
as netCDF4 reads them from the file.
"""

from __future__ import annotations

import netCDF4
import numpy as np
from cmorize_helpers import load_dataset

NAME = "mrsos_day_EC-Earth3-Veg_land-hist_r1i1p1f1_gr_19700101-19700131.nc"


def test_real_cmip6_daily_mrsos_loads_and_passes_the_cmor_checks(
    realdata, tmp_path
):
    path = realdata / "cmip6-daily" / NAME
    (tmp_path / NAME).symlink_to(path)
    cube, messages = load_dataset(
        tmp_path,
        {
            "project": "CMIP6",
            "dataset": "EC-Earth3-Veg",
            "exp": "land-hist",
            "ensemble": "r1i1p1f1",
            "grid": "gr",
            "mip": "day",
            "short_name": "mrsos",
            "timerange": "1970/1970",
        },
        dirname_template="",
        filename_template="{short_name}_{mip}_{dataset}_{exp}_{ensemble}_{grid}*.nc",
    )
    assert messages == []
    assert cube.var_name == "mrsos"
    assert str(cube.units) == "kg m-2"
    assert cube.shape == (31, 64, 64)
    depth = cube.coord("depth")
    assert depth.points.tolist() == [0.05]
    assert depth.bounds.tolist() == [[0.0, 0.1]]
    assert cube.coord("time").units.calendar in (
        "proleptic_gregorian",
        "standard",
    )
    with netCDF4.Dataset(path) as ds:
        raw = ds["mrsos"][:]  # masked where _FillValue 1e20 (ocean)
        lat = ds["lat"][:]
        days = netCDF4.num2date(
            ds["time"][:], ds["time"].units, ds["time"].calendar
        )
    order = np.argsort(lat)  # ESMValCore sorts latitude ascending
    expected = raw[:, order]
    np.testing.assert_array_equal(
        np.ma.getmaskarray(cube.data), np.ma.getmaskarray(expected)
    )
    np.testing.assert_allclose(
        cube.data.compressed(), expected.compressed(), rtol=1e-6
    )
    assert [
        c.day
        for c in cube.coord("time").units.num2date(cube.coord("time").points)
    ] == [d.day for d in days]
    # plausible shallow water content: 0..100 kg m-2 for 0-10 cm (porosity below 1);
    # the file holds round-off negatives (about -4e-20) where the soil is dry
    assert float(cube.data.min()) > -1e-6
    assert float(cube.data.max()) < 100.0
    assert 0 < np.ma.count_masked(cube.data) < cube.data.size
