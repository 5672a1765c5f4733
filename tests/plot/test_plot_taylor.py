"""Taylor diagrams: geometry read back from the artists, and the figures."""

import numpy as np
import pandas as pd
import pytest

from smeval.plot import taylor
from smeval.plot.style import new_figure

from .conftest import assert_files, metrics_table


def _diagram(points, rmax=2.0, negative=False, e_levels=None):
    fig = new_figure(4, 4)
    ax = taylor.taylor_axes(
        fig, fig.add_gridspec(1, 1)[0, 0], rmax, negative, e_levels=e_levels
    )
    lines = taylor.plot_points(ax, points)
    return ax, {ln.get_label(): ln for ln in lines}


POINTS = pd.DataFrame(
    {
        "dataset": ["MIROC6", "CanESM5", "CMIP6-MMEM", "GFDL-CM4"],
        "R": [0.48, -0.6, 0.70, 1.0],
        "sigma": [0.33, 1.4, 0.76, 1.0],
    }
)


def test_point_at_angle_arccos_r_and_radius_sigma():
    ax, lines = _diagram(POINTS, negative=True)
    for row in POINTS.itertuples():
        x, y = (
            lines[row.dataset].get_xdata()[0],
            lines[row.dataset].get_ydata()[0],
        )
        assert np.arctan2(y, x) == pytest.approx(np.arccos(row.R), abs=1e-12)
        assert np.hypot(x, y) == pytest.approx(row.sigma, rel=1e-12)
    # Negative R: the half circle is drawn.
    assert ax.get_xlim()[0] == pytest.approx(-2.0)


def test_distance_from_reference_is_e_prime():
    ax, lines = _diagram(POINTS, negative=True)
    ref = next(ln for ln in ax.lines if ln.get_gid() == "reference")
    rx, ry = ref.get_xdata()[0], ref.get_ydata()[0]
    assert (rx, ry) == (1.0, 0.0)
    for row in POINTS.itertuples():
        x, y = (
            lines[row.dataset].get_xdata()[0],
            lines[row.dataset].get_ydata()[0],
        )
        expected = np.sqrt(row.sigma**2 + 1 - 2 * row.sigma * row.R)
        assert np.hypot(x - rx, y - ry) == pytest.approx(expected, rel=1e-12)
        assert taylor.e_prime(row.R, row.sigma) == pytest.approx(expected)
    # The paper's TIB value: R = 0.48, sigma = 0.33 gives E' = 0.89.
    assert taylor.e_prime(0.48, 0.33) == pytest.approx(0.89, abs=0.005)


def test_e_contour_through_a_point_has_the_points_e_prime():
    R, sigma = 0.7, 0.76  # NA-WA vs ERA5 in the paper: E' = 0.72
    e = float(np.sqrt(sigma**2 + 1 - 2 * sigma * R))
    pts = pd.DataFrame({"dataset": ["CMIP6-MMEM"], "R": [R], "sigma": [sigma]})
    ax, lines = _diagram(pts, rmax=1.5, e_levels=[0.25, e, 1.0])
    contours = [ln for ln in ax.lines if ln.get_gid() == "E'"]
    assert [float(c.get_label()) for c in contours] == pytest.approx(
        [0.25, e, 1.0]
    )
    for c in contours:
        x, y = c.get_xdata(), c.get_ydata()
        ok = np.isfinite(x)
        # Every vertex on the circle of radius E' around the reference ...
        assert np.hypot(x[ok] - 1, y[ok]) == pytest.approx(
            np.full(ok.sum(), float(c.get_label()))
        )
        # ... and inside the quarter diagram.
        assert np.all(x[ok] >= -1e-12)
        assert np.all(np.hypot(x[ok], y[ok]) <= 1.5 + 1e-12)
    through = contours[1]
    px, py = (
        lines["CMIP6-MMEM"].get_xdata()[0],
        lines["CMIP6-MMEM"].get_ydata()[0],
    )
    x, y = through.get_xdata(), through.get_ydata()
    assert (
        np.nanmin(np.hypot(x - px, y - py)) < 0.01
    )  # the contour passes the point
    assert e == pytest.approx(0.72, abs=0.005)
    # All R >= 0: the first quadrant only.
    assert ax.get_xlim() == (0.0, 1.5)


def test_correlation_labels_on_the_arc():
    fig = new_figure(4, 4)
    ax = taylor.taylor_axes(
        fig, fig.add_gridspec(1, 1)[0, 0], 1.5, negative=True
    )
    labels = {
        t.get_text(): t.get_position()
        for t in ax.texts
        if t.get_gid() == "R label"
    }
    for r in ("-0.6", "0", "0.6", "0.99", "-1", "1"):
        x, y = labels[r]
        assert np.arctan2(y, x) == pytest.approx(np.arccos(float(r)), abs=1e-9)


def test_taylor_points_from_tidy_table():
    m = metrics_table()
    pts = taylor.taylor_points(
        m, "sm_shallow", "TIB", "ERA5", datasets=["CMIP6-MMEM", "CESM2"]
    )
    assert list(pts["dataset"]) == ["CMIP6-MMEM", "CESM2"]
    for row in pts.itertuples():
        sel = m[
            (m.dataset == row.dataset)
            & (m.region == "TIB")
            & (m.reference == "ERA5")
            & (m.variable == "sm_shallow")
        ].set_index("statistic")["value"]
        assert (row.R, row.sigma) == (sel["R"], sel["sigma"])


def test_figures_7_to_10(tmp_path, captured):
    m = metrics_table()
    assert_files(
        taylor.plot_taylor_hemispheres(m, "sm_shallow", tmp_path / "fig07"),
        pdf=True,
    )
    fig = captured[-1]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 8  # 2 groups x 2 hemispheres x 2 references
    # A high-resolution panel holds the high-resolution models and the three MMEMs.
    first = {
        ln.get_label() for ln in panels[0].lines if ln.get_gid() == "point"
    }
    assert first == {
        "CESM2",
        "GFDL-CM4",
        "MPI-ESM1-2-HR",
        "CMIP6-MMEM",
        "CMIP6-MMEM-high",
        "CMIP6-MMEM-low",
    }
    assert "NH" in panels[0].get_title()
    assert "ERA5" in panels[0].get_title()

    assert_files(
        taylor.plot_taylor_regions(m, "sm_shallow", tmp_path / "fig09"),
        pdf=True,
    )
    assert len([ax for ax in captured[-1].axes if ax.get_title()]) == 16

    fluxes = metrics_table(
        variables=("pr", "evspsbl", "mrros", "snm"), negative=False
    )
    assert_files(
        taylor.plot_taylor_fluxes(fluxes, tmp_path / "fig10"), pdf=True
    )
    ax = next(a for a in captured[-1].axes if a.get_title())
    pts = {ln.get_label(): ln for ln in ax.lines if ln.get_gid() == "point"}
    assert set(pts) == {"pr", "evspsbl", "mrros", "snm"}
    sel = fluxes[
        (fluxes.dataset == "CMIP6-MMEM")
        & (fluxes.region == "TIB")
        & (fluxes.reference == "ERA5")
        & (fluxes.variable == "pr")
    ].set_index("statistic")["value"]
    x, y = pts["pr"].get_xdata()[0], pts["pr"].get_ydata()[0]
    assert (np.arctan2(y, x), np.hypot(x, y)) == pytest.approx(
        (np.arccos(sel["R"]), sel["sigma"])
    )


def test_single_diagram(tmp_path):
    pts = taylor.taylor_points(
        metrics_table(negative=False), "sm_shallow", "SH", "GLDAS-NOAH"
    )
    assert_files(
        taylor.plot_taylor(
            pts, tmp_path / "one", "SH vs GLDAS-Noah", "GLDAS-NOAH"
        ),
        pdf=True,
    )
