"""Maps (Figs. 1-4, 11): drawn offline, colour bars with units, regions labelled."""

from pathlib import Path

import numpy as np
import pytest

from smeval.core.regions import REGIONS
from smeval.plot import maps

from .conftest import assert_files, field, grid


def _colorbar_axes(fig):
    every = list(fig.axes) + [
        c for ax in fig.axes for c in ax.child_axes
    ]  # + insets
    return [ax for ax in every if getattr(ax, "_colorbar", None) is not None]


def _assert_offline(data_dir):
    # Cartopy would write anything it downloads into its (empty) data_dir.
    assert list(Path(data_dir).rglob("*")) == []


def test_regions_map_labels_all_13_ids(tmp_path, captured, offline_cartopy):
    paths = maps.plot_regions(tmp_path / "fig01")
    assert_files(paths, pdf=True)
    ax = captured[-1].axes[0]
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == sorted(r.id for r in REGIONS)
    # One outline per region, closed, along the box edges.
    outlines = [ln for ln in ax.lines if len(ln.get_xdata()) == 120]
    assert len(outlines) == 13
    for ln, region in zip(outlines, REGIONS, strict=True):
        b = region.box
        assert (min(ln.get_xdata()), max(ln.get_xdata())) == (
            b.lon_min,
            b.lon_max,
        )
        assert (min(ln.get_ydata()), max(ln.get_ydata())) == (
            b.lat_min,
            b.lat_max,
        )
    _assert_offline(offline_cartopy)


def test_coastlines_come_from_esmvalcore_shapefiles():
    assert (maps.natural_earth_dir() / "ne_10m_land.shp").is_file()
    geoms = maps.land_geometries()
    polygons = [p for g in geoms for p in getattr(g, "geoms", [g])]
    assert len(polygons) > 100
    assert maps.land_geometries() is geoms  # read once, cached
    # Simplified: far fewer vertices than the 10 m original.
    n = sum(len(p.exterior.coords) for p in polygons)
    assert n < 150_000


def test_field_panels_have_a_colour_bar_with_units(
    tmp_path, captured, offline_cartopy
):
    fields = {"ERA5": field(0), "GLDAS-NOAH": field(1), "CMIP6-MMEM": field(2)}
    paths = maps.plot_field_panels(
        fields,
        "Shallow soil moisture, 1979-2014",
        "kg m-2",
        "YlGnBu",
        np.arange(0, 50, 5),
        tmp_path / "clim",
        ncols=2,
    )
    assert_files(paths, pdf=False)
    fig = captured[-1]
    (cbar,) = _colorbar_axes(fig)
    assert cbar.get_xlabel() == "kg m$^{-2}$"
    assert list(cbar.get_xticks()) == list(np.arange(0, 50, 5))
    titles = [
        ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")
    ]
    assert titles == ["(a) ERA5", "(b) GLDAS-NOAH", "(c) CMIP6-MMEM"]
    _assert_offline(offline_cartopy)


def test_field_panel_values_land_on_their_cells(tmp_path, captured):
    lat, lon, data = field(0, nlat=20, nlon=40)
    maps.plot_field_panels(
        {"x": (lat, lon, data)},
        "t",
        "1",
        "viridis",
        np.linspace(0, 60, 7),
        tmp_path / "x",
        region_outlines=False,
    )
    ax = captured[-1].axes[0]
    mesh = next(
        c
        for c in ax.collections
        if hasattr(c, "get_array") and c.get_array() is not None
    )
    shown = np.ma.filled(mesh.get_array().reshape(20, 40), np.nan)
    # Longitudes were rolled to -180..180: column k of the plot is lon_sorted[k].
    order = np.argsort(np.mod(lon + 180, 360) - 180)
    np.testing.assert_array_equal(shown, data[:, order])


def test_iris_cube_is_accepted():
    import iris.coords
    import iris.cube

    lat, lon, data = field(0, nlat=20, nlon=40)
    cube = iris.cube.Cube(
        np.ma.masked_invalid(data),
        units="kg m-2",
        dim_coords_and_dims=[
            (iris.coords.DimCoord(lat, "latitude", units="degrees"), 0),
            (iris.coords.DimCoord(lon, "longitude", units="degrees"), 1),
        ],
    )
    _la, lo, d = maps.as_field(cube)
    assert d.shape == (20, 40)
    assert np.isnan(d).sum() == np.isnan(data).sum()
    assert np.all(np.diff(lo) > 0)
    assert lo.min() >= -180
    assert lo.max() < 180


def test_climatology_and_bias_figure(tmp_path, captured, offline_cartopy):
    clim = {
        d: field(k)
        for k, d in enumerate(
            ["ERA5", "ERA-Interim", "GLDAS-NOAH", "CMIP6-MMEM"]
        )
    }
    lat, lon, _ = field(0)
    bias = {
        r: (lat, lon, np.tanh(field(k)[2] / 30 - 1.2))
        for k, r in enumerate(["ERA5", "ERA-Interim", "GLDAS-NOAH"])
    }
    paths = maps.plot_climatology_bias(
        clim,
        bias,
        "shallow soil moisture (0-10 cm)",
        "kg m-2",
        tmp_path / "fig02",
    )
    assert_files(paths, pdf=False)
    fig = captured[-1]
    bars = _colorbar_axes(fig)
    assert [b.get_xlabel() for b in bars] == [
        "shallow soil moisture (0-10 cm) (kg m$^{-2}$)",
        "bias ratio (1)",
    ]
    # Bias ratios on the symmetric scale -1..1.
    assert bars[1].get_xlim() == pytest.approx((-1.0, 1.0))
    assert "1979-2014" in fig.get_suptitle()
    _assert_offline(offline_cartopy)


def test_flux_maps(tmp_path, captured):
    names = ["P", "E", "runoff", "P - E", "P - E - R"]
    lat, lon, _ = field(0, 40, 80)
    clim = {v: field(k, 40, 80, scale=500.0) for k, v in enumerate(names)}
    bias = {
        v: {
            r: (lat, lon, np.tanh(field(k, 40, 80)[2] / 30 - 1))
            for r in ("ERA5", "ERA-Interim", "GLDAS-NOAH")
        }
        for k, v in enumerate(names)
    }
    assert_files(
        maps.plot_flux_maps(clim, bias, "mm yr-1", tmp_path / "fig04"),
        pdf=False,
    )
    fig = captured[-1]
    labels = [b.get_ylabel() or b.get_xlabel() for b in _colorbar_axes(fig)]
    assert labels.count("mm yr$^{-1}$") == 5
    assert any(
        label.startswith("bias ratio") and label.endswith("(1)")
        for label in labels
    )


def test_correlation_maps_stipple_exactly_the_significant_cells(
    tmp_path, captured, offline_cartopy
):
    lat, lon = grid(20, 40)
    r = np.tanh(
        np.sin(np.deg2rad(lon))[None, :] * np.cos(np.deg2rad(lat))[:, None] * 2
    )
    sig = np.abs(r) > 0.5
    paths = maps.plot_correlation_maps(
        {"ERA5": (lat, lon, r)},
        {"ERA5": (lat, lon, sig)},
        tmp_path / "fig11",
        stipple_every=1,
    )
    assert_files(paths, pdf=False)
    fig = captured[-1]
    ax = fig.axes[0]
    (dots,) = [c for c in ax.collections if c.get_gid() == "significance"]
    got = {tuple(np.round(p, 6)) for p in dots.get_offsets()}
    wrapped = np.mod(lon + 180, 360) - 180
    ii, jj = np.nonzero(sig)
    assert got == {
        (round(wrapped[j], 6), round(lat[i], 6))
        for i, j in zip(ii, jj, strict=True)
    }
    (cbar,) = _colorbar_axes(fig)
    assert cbar.get_xlabel() == "correlation coefficient R (1)"
    assert "95 %" in fig.get_suptitle()
    assert "1979-2014" in fig.get_suptitle()
    _assert_offline(offline_cartopy)
