"""The steps of smeval.preprocessor on cubes, against hand-worked columns and an independent loop."""

from __future__ import annotations

import dask.array as da
import iris.coords
import iris.cube
import numpy as np
import pytest
from test_core_regional import brute_force, grid

from smeval.core.depth import DepthNotReachedError
from smeval.core.regions import ALL_REGIONS
from smeval.preprocessor import box_means, soil_column

ERA5_BOUNDS = [[0.0, 0.07], [0.07, 0.28], [0.28, 1.0], [1.0, 2.89]]


def _time(n: int) -> iris.coords.DimCoord:
    points = np.arange(n) * 30.0 + 15.0
    return iris.coords.DimCoord(
        points,
        bounds=np.stack([points - 15, points + 15], 1),
        standard_name="time",
        units="days since 1980-01-01",
    )


def _grid_coords(lat_b, lon_b):
    lat = iris.coords.DimCoord(
        lat_b.mean(1), bounds=lat_b, standard_name="latitude", units="degrees"
    )
    lon = iris.coords.DimCoord(
        lon_b.mean(1), bounds=lon_b, standard_name="longitude", units="degrees"
    )
    return lat, lon


def _layered(data, bounds_cm, units="kg m-2") -> iris.cube.Cube:
    """(time, layer, lat, lon) mrsol with depth bounds given in cm (converted by the step)."""
    n_time, _n_layer, n_lat, n_lon = data.shape
    lat, lon = _grid_coords(*grid(n_lat, n_lon))
    bounds = np.asarray(bounds_cm, float)
    depth = iris.coords.DimCoord(
        bounds.mean(1),
        bounds=bounds,
        standard_name="depth",
        units="cm",
        attributes={"positive": "down"},
    )
    return iris.cube.Cube(
        data,
        var_name="mrsol",
        standard_name="mass_content_of_water_in_soil_layer",
        units=units,
        dim_coords_and_dims=[
            (_time(n_time), 0),
            (depth, 1),
            (lat, 2),
            (lon, 3),
        ],
    )


def test_soil_column_hand_worked_with_a_partial_bottom_layer():
    # ERA5's layers hold 7, 21, 72 and 189 kg m-2 (10 kg m-2 per 10 cm). 0-10 cm:
    # 7 + 21 x 3/21 = 10; 0-2 m: 7 + 21 + 72 + 189 x 100/189 = 200.
    layers = np.array([7.0, 21.0, 72.0, 189.0])
    data = da.from_array(
        np.broadcast_to(layers[None, :, None, None], (2, 4, 3, 4)).copy(),
        chunks=(1, -1, -1, -1),
    )
    cube = _layered(data, np.array(ERA5_BOUNDS) * 100)
    shallow, deep = soil_column(cube, 0.1), soil_column(cube, depth=2.0)
    assert shallow.has_lazy_data()
    assert deep.has_lazy_data()
    assert shallow.shape == (2, 3, 4)
    assert not shallow.coords("depth", dim_coords=True)
    np.testing.assert_allclose(shallow.data, 10.0)
    np.testing.assert_allclose(deep.data, 200.0)
    assert deep.coord("depth").bounds.tolist() == [[0.0, 2.0]]
    assert deep.coord("depth").units == "m"
    assert deep.units == "kg m-2"
    assert deep.standard_name == "mass_content_of_water_in_soil_layer"


def test_soil_column_masks_cells_where_a_contributing_layer_is_missing_and_converts_units():
    # Layers 0-0.5 and 0.5-3 m in g m-2; in cell (0, 0) the bottom layer is
    # missing (bedrock), so 0-2 m is masked there but 0-0.5 m is not.
    values = np.ma.masked_array(
        np.tile(np.array([5000.0, 25000.0])[None, :, None, None], (1, 1, 2, 2))
    )
    values[0, 1, 0, 0] = np.ma.masked
    cube = _layered(values, [[0, 50], [50, 300]], units="g m-2")
    deep = soil_column(cube, 2.0).data
    assert deep.mask.tolist() == [[[True, False], [False, False]]]
    np.testing.assert_allclose(deep[0, 1, 1], 5.0 + 25.0 * 1.5 / 2.5)  # kg m-2
    np.testing.assert_allclose(soil_column(cube, 0.5).data, 5.0)
    assert cube.units == "g m-2"  # the input is not changed


def test_soil_column_never_extrapolates():
    cube = _layered(np.ones((1, 2, 2, 2)), [[0, 10], [10, 150]])
    with pytest.raises(
        DepthNotReachedError,
        match=r"reach only 1.5 m, not the target depth 2 m",
    ):
        soil_column(cube, 2.0)


def _field(
    data, lat_b, lon_b, areas=None, land_percent=None
) -> iris.cube.Cube:
    lat, lon = _grid_coords(lat_b, lon_b)
    cube = iris.cube.Cube(
        data,
        var_name="pr",
        units="kg m-2 s-1",
        dim_coords_and_dims=[(_time(data.shape[0]), 0), (lat, 1), (lon, 2)],
    )
    if areas is not None:
        cube.add_cell_measure(
            iris.coords.CellMeasure(
                areas, standard_name="cell_area", units="km2", measure="area"
            ),
            (1, 2),
        )
    if land_percent is not None:
        cube.add_ancillary_variable(
            iris.coords.AncillaryVariable(
                land_percent, standard_name="land_area_fraction", units="%"
            ),
            (1, 2),
        )
    return cube


def test_box_means_equal_an_independent_loop_with_the_cubes_areas_and_land_fraction():
    # A time-varying mask, areacella (km2, converted) and sftlf (%, converted):
    # the same as the per-cell loop of the core tests.
    rng = np.random.default_rng(3)
    lat_b, lon_b = grid(18, 24, lon0=-180)
    values = np.ma.masked_array(
        rng.normal(20, 5, (4, 18, 24)), mask=rng.random((4, 18, 24)) < 0.3
    )
    areas, land = rng.uniform(1, 2, (18, 24)), rng.uniform(0, 1, (18, 24))
    cube = _field(
        da.ma.masked_array(
            da.from_array(values.data, chunks=(2, -1, -1)), mask=values.mask
        ),
        lat_b,
        lon_b,
        areas=areas,
        land_percent=100 * land,
    )
    means = box_means(cube)
    assert means.has_lazy_data()
    assert means.shape == (4, len(ALL_REGIONS))
    assert means.coord("region").points.tolist() == [r.id for r in ALL_REGIONS]
    np.testing.assert_allclose(
        means.data,
        brute_force(values, lat_b, lon_b, areas * 1e6, land),
        rtol=1e-10,
        equal_nan=True,
    )
    assert means.units == "kg m-2 s-1"
    assert means.coord("time") == cube.coord("time")


def test_box_means_of_chosen_regions_and_ice_sheets():
    # 1 everywhere but 3 in one 5 x 5 degree cell inside Greenland (70-75 N,
    # 45-40 W): the NH mean is 1 when the ice sheets are removed, and above 1
    # when they are kept.
    lat_b, lon_b = grid(36, 72, lon0=-180)
    values = np.ones((1, 36, 72))
    values[0, 32, 27] = 3.0
    assert lat_b[32].tolist() == [70.0, 75.0]
    assert lon_b[27].tolist() == [
        -45.0,
        -40.0,
    ]
    cube = _field(values, lat_b, lon_b)
    np.testing.assert_allclose(
        box_means(cube, regions=["NH"]).data, [[1.0]], rtol=1e-12
    )
    assert (
        box_means(cube, regions=["NH"], exclude_ice_sheets=False).data[0, 0]
        > 1.0 + 1e-6
    )
    assert box_means(cube, regions=["EUR", "SH"]).coord(
        "region"
    ).points.tolist() == ["EUR", "SH"]


def test_box_means_refuse_a_supplementary_field_of_another_grid():
    lat_b, lon_b = grid(4, 8)
    cube = _field(np.ones((1, 4, 8)), lat_b, lon_b)
    cube.add_cell_measure(
        iris.coords.CellMeasure(
            np.ones(8), standard_name="cell_area", units="m2", measure="area"
        ),
        (2,),
    )
    with pytest.raises(ValueError, match="cell_area has shape"):
        box_means(cube)
