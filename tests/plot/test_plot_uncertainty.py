"""How sure are we, in the figures: heat-map marks, reference rows, Taylor intervals."""

import numpy as np
import pandas as pd
import pytest

from smeval.core.regions import REGIONS
from smeval.plot import heatmap, taylor

from .conftest import MODELS, REFERENCES, assert_files, metrics_table

REGION_IDS = [r.id for r in REGIONS]


def with_uncertainty(
    table: pd.DataFrame, half_width: float = 0.05, ref_tss: float = 0.5
) -> pd.DataFrame:
    """The table plus intervals value +- half_width and reference rows of TSS ref_tss (R 0.9, sigma 1.1)."""
    rows = []
    refs = ("ERA5", "ERA-Interim", "GLDAS-NOAH")
    for var in table.variable.unique():
        for ref in refs:
            for other in refs:
                if other == ref:
                    continue
                for region in table.region.unique():
                    for stat, val in (
                        ("R", 0.9),
                        ("sigma", 1.1),
                        ("TSS", ref_tss),
                    ):
                        rows.append(
                            (
                                other,
                                "reference",
                                "",
                                "",
                                ref,
                                var,
                                region,
                                stat,
                                val,
                                "1",
                            )
                        )
    table = pd.concat(
        [table, pd.DataFrame(rows, columns=table.columns)], ignore_index=True
    )
    point = table[table.statistic.isin(["R", "sigma", "E'", "TSS"])]
    extra = [
        point.assign(
            statistic=point.statistic + "_ci_low",
            value=point.value - half_width,
        ),
        point.assign(
            statistic=point.statistic + "_ci_high",
            value=point.value + half_width,
        ),
    ]
    return pd.concat([table, *extra], ignore_index=True)


def test_heatmap_marks_straddling_cells_within_obs_spread_and_reference_rows(
    tmp_path, captured
):
    base = metrics_table()
    m = with_uncertainty(base)
    paths = heatmap.plot_tss_heatmap(
        m, "sm_shallow", tmp_path / "fig12", threshold=0.6
    )
    assert_files(paths, pdf=True)
    panels = [ax for ax in captured[-1].axes if ax.get_title()]
    for ax, ref in zip(panels, REFERENCES, strict=True):
        tss = heatmap.tss_pivot(base, "sm_shallow", ref)
        labels = [
            t.get_text() for t in panels[0].get_yticklabels()
        ]  # (b) hides its labels
        assert labels == [
            *list(MODELS),
            "ref: ERA5",
            "ref: ERA-Interim",
            "ref: GLDAS-NOAH",
        ]
        assert len(ax.get_yticks()) == len(labels)
        # Triangles: |TSS - 0.6| < 0.05 (interval TSS +- 0.05 contains 0.6).
        straddle = (tss.to_numpy() - 0.05 <= 0.6) & (
            tss.to_numpy() + 0.05 > 0.6
        )
        marks = [ln for ln in ax.lines if ln.get_gid() == "straddles"]
        got = {
            (round(x - 0.33), round(y + 0.3))
            for ln in marks
            for x, y in zip(*ln.get_data(), strict=True)
        }
        assert got == {
            (j, i) for i, j in zip(*np.nonzero(straddle), strict=True)
        }
        assert got  # the random table has such cells
        # Dots: model TSS above the other references' TSS (0.5).
        dots = [ln for ln in ax.lines if ln.get_gid() == "within_obs"]
        got = {
            (round(x + 0.33), round(y - 0.3))
            for ln in dots
            for x, y in zip(*ln.get_data(), strict=True)
        }
        assert got == {
            (j, i)
            for i, j in zip(*np.nonzero(tss.to_numpy() > 0.5), strict=True)
        }
        assert [ln.get_gid() for ln in ax.lines].count("reference_rows") == 1


def test_heatmap_without_uncertainty_rows_is_unchanged(tmp_path, captured):
    heatmap.plot_tss_heatmap(metrics_table(), "sm_shallow", tmp_path / "fig12")
    for ax in (ax for ax in captured[-1].axes if ax.get_title()):
        assert not [
            ln
            for ln in ax.lines
            if ln.get_gid() in ("straddles", "within_obs", "reference_rows")
        ]
        assert len(ax.get_yticks()) == len(MODELS)


def test_taylor_diagrams_show_other_references_and_intervals(
    tmp_path, captured
):
    m = with_uncertainty(metrics_table(negative=False), half_width=0.04)
    taylor.plot_taylor_regions(
        m, "sm_shallow", tmp_path / "fig09", regions=("SIB", "TIB")
    )
    axes = [ax for ax in captured[-1].axes if ax.get_title()]
    assert len(axes) == 4
    for ax in axes:
        stars = [ln for ln in ax.lines if ln.get_gid() == "reference_point"]
        # Two other references, each at R = 0.9, sigma = 1.1.
        assert sorted(ln.get_label() for ln in stars) == sorted(
            {"ERA5", "ERA-Interim", "GLDAS-NOAH"}
            - {"ERA5" if "ERA5" in ax.get_title() else "GLDAS-NOAH"}
        )
        for ln in stars:
            x, y = ln.get_data()
            np.testing.assert_allclose(
                [np.hypot(x[0], y[0]), x[0] / np.hypot(x[0], y[0])], [1.1, 0.9]
            )
        # Intervals: 3 MMEMs + 2 stars, a radial segment and an arc each.
        intervals = [ln for ln in ax.lines if ln.get_gid() == "interval"]
        assert len(intervals) == 2 * (3 + 2)
        radial = [ln for ln in intervals if len(ln.get_xdata()) == 2]
        for ln in radial:
            x, y = ln.get_data()
            radii = np.hypot(x, y)
            assert radii[1] - radii[0] == pytest.approx(0.08)
    legend = captured[-1].legends[0]
    assert "other reference (vs this one)" in [
        t.get_text() for t in legend.get_texts()
    ]


def test_taylor_hemispheres_with_reference_points(tmp_path, captured):
    m = with_uncertainty(metrics_table(negative=False))
    taylor.plot_taylor_hemispheres(m, "sm_deep", tmp_path / "fig08")
    axes = [ax for ax in captured[-1].axes if ax.get_title()]
    for ax in axes:
        assert (
            len([ln for ln in ax.lines if ln.get_gid() == "reference_point"])
            == 2
        )
        assert len(
            [ln for ln in ax.lines if ln.get_gid() == "interval"]
        ) == 2 * (3 + 2)
