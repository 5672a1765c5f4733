"""A wild sigma neither costs an arc per unit nor squeezes the diagram (issue 19, point 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smeval.plot import taylor
from smeval.plot.style import new_figure


def test_the_radius_is_capped():
    assert taylor.nice_rmax([0.8, 1.2, 341.0]) == taylor.SIGMA_CAP
    assert taylor.nice_rmax([0.8, 1.2]) == 1.5  # unchanged below the cap


def test_an_outlier_sits_on_the_edge_with_its_value():
    # MMEM sigma 341: one MIROC6 member multiplied by 1000 (the case).
    points = pd.DataFrame(
        {
            "dataset": ["MIROC6", "CMIP6-MMEM"],
            "R": [0.5, 0.7],
            "sigma": [0.9, 341.0],
        }
    )
    rmax = taylor.nice_rmax(points["sigma"])
    fig = new_figure(4, 4)
    ax = taylor.taylor_axes(fig, fig.add_gridspec(1, 1)[0, 0], rmax)
    lines = {ln.get_label(): ln for ln in taylor.plot_points(ax, points)}
    x, y = (
        lines["CMIP6-MMEM"].get_xdata()[0],
        lines["CMIP6-MMEM"].get_ydata()[0],
    )
    assert np.hypot(x, y) == pytest.approx(rmax)
    assert np.arctan2(y, x) == pytest.approx(np.arccos(0.7))
    [label] = [t for t in ax.texts if t.get_gid() == "outlier"]
    assert label.get_text() == "\u03c3=341"
    # A handful of arcs, not one per unit of sigma.
    assert len([ln for ln in ax.lines if ln.get_gid() == "sigma arc"]) <= 8
    assert len([ln for ln in ax.lines if ln.get_gid() == "E'"]) <= 10
    # The point inside keeps its place.
    mx, my = lines["MIROC6"].get_xdata()[0], lines["MIROC6"].get_ydata()[0]
    assert np.hypot(mx, my) == pytest.approx(0.9)
