"""The recipe's regridding scheme through ESMValCore's ``regrid`` on real CMIP6 files.

``smeval.regrid:AreaWeighted`` must give what ``scheme: area_weighted`` (iris)
gives: same values, same mask, same coordinates, data still lazy.
"""

from __future__ import annotations

import iris
import numpy as np
import pytest
import yaml

from smeval.runner import RECIPE


@pytest.fixture(scope="module")
def common_grid():
    """The recipe's common grid: the ``regrid`` options of the maps and the correlation maps."""
    recipe = yaml.safe_load(RECIPE.read_text())
    options = recipe["script_options"]["common_grid"]
    assert options["scheme"]["reference"] == "smeval.regrid:AreaWeighted"
    return options


@pytest.mark.parametrize(
    "name",
    [
        "cmip6-10deg/pr_Amon_ACCESS-ESM1-5_historical_r1i1p1f1_gn_200001-201412.nc",
        "cmip6-fx-native/sftlf_fx_CNRM-CM6-1_historical_r1i1p1f2_gr.nc",
    ],
)
def test_recipe_scheme_equals_iris_area_weighted(realdata, common_grid, name):
    from esmvalcore.preprocessor import regrid

    cube = iris.load_cube(realdata / name)
    for axis in ("latitude", "longitude"):
        if (
            not cube.coord(axis).has_bounds()
        ):  # the raw fx file has none; ESMValCore's fixes add them
            cube.coord(axis).guess_bounds()
    # A land-only field (masked sea) exercises the mask handling.
    cube.data = (
        np.ma.masked_less(cube.data, 1e-9)
        if cube.var_name == "sftlf"
        else cube.data
    )
    lazy = cube.copy(cube.lazy_data())
    ours = regrid(lazy, common_grid["target_grid"], common_grid["scheme"])
    iris_aw = regrid(cube, common_grid["target_grid"], "area_weighted")
    assert ours.has_lazy_data()
    assert ours.shape == iris_aw.shape == (*cube.shape[:-2], 160, 320)
    np.testing.assert_array_equal(
        np.ma.getmaskarray(ours.data), np.ma.getmaskarray(iris_aw.data)
    )
    np.testing.assert_allclose(
        np.ma.filled(ours.data, 0), np.ma.filled(iris_aw.data, 0), rtol=1e-5
    )
    for axis in ("latitude", "longitude"):
        assert ours.coord(axis) == iris_aw.coord(axis)
