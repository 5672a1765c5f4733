"""How sure are we, in the figures: heat-map marks, reference rows, Taylor intervals."""

import numpy as np
import pandas as pd

from .conftest import MODELS, REFERENCES, assert_files, metrics_table
from smeval.core.regions import REGIONS
from smeval.plot import heatmap, taylor

REGION_IDS = [r.id for r in REGIONS]


def with_uncertainty(table: pd.DataFrame, half_width: float = 0.05, ref_tss: float = 0.5) -> pd.DataFrame:
    """The table plus intervals value +- half_width and reference rows of TSS ref_tss (R 0.9, sigma 1.1)."""
    point = table[table.statistic.isin(["R", "sigma", "E'", "TSS"])]
    extra = [point.assign(statistic=point.statistic + "_ci_low", value=point.value - half_width),
             point.assign(statistic=point.statistic + "_ci_high", value=point.value + half_width)]
    rows = []
    refs = ("ERA5", "ERA-Interim", "GLDAS-NOAH")
    for var in table.variable.unique():
        for ref in refs:
            for other in refs:
                if other == ref:
                    continue
                for region in table.region.unique():
                    for stat, val in (("R", 0.9), ("sigma", 1.1), ("TSS", ref_tss)):
                        rows.append((other, "reference", "", "", ref, var, region, stat, val, "1"))
    extra.append(pd.DataFrame(rows, columns=table.columns))
    return pd.concat([table, *extra], ignore_index=True)


def test_heatmap_marks_straddling_cells_within_obs_spread_and_reference_rows(tmp_path, captured):
    base = metrics_table()
    m = with_uncertainty(base)
    paths = heatmap.plot_tss_heatmap(m, "sm_shallow", tmp_path / "fig12", threshold=0.6)
    assert_files(paths, pdf=True)
    panels = [ax for ax in captured[-1].axes if ax.get_title()]
    for ax, ref in zip(panels, REFERENCES):
        tss = heatmap.tss_pivot(base, "sm_shallow", ref)
        labels = [t.get_text() for t in panels[0].get_yticklabels()]  # (b) hides its labels
        assert labels == list(MODELS) + ["ref: ERA5", "ref: ERA-Interim", "ref: GLDAS-NOAH"]
        assert len(ax.get_yticks()) == len(labels)
        # Triangles: |TSS - 0.6| < 0.05 (interval TSS +- 0.05 contains 0.6).
        straddle = (tss.to_numpy() - 0.05 <= 0.6) & (tss.to_numpy() + 0.05 > 0.6)
        marks = [ln for ln in ax.lines if ln.get_gid() == "straddles"]
        got = {(round(x - 0.33), round(y + 0.3)) for ln in marks for x, y in zip(*ln.get_data())}
        assert got == {(j, i) for i, j in zip(*np.nonzero(straddle))}
        assert got  # the random table has such cells
        # Dots: model TSS above the other references' TSS (0.5).
        dots = [ln for ln in ax.lines if ln.get_gid() == "within_obs"]
        got = {(round(x + 0.33), round(y - 0.3)) for ln in dots for x, y in zip(*ln.get_data())}
        assert got == {(j, i) for i, j in zip(*np.nonzero(tss.to_numpy() > 0.5))}
        assert [ln.get_gid() for ln in ax.lines].count("reference_rows") == 1


def test_heatmap_without_uncertainty_rows_is_unchanged(tmp_path, captured):
    heatmap.plot_tss_heatmap(metrics_table(), "sm_shallow", tmp_path / "fig12")
    for ax in (ax for ax in captured[-1].axes if ax.get_title()):
        assert not [ln for ln in ax.lines if ln.get_gid() in ("straddles", "within_obs", "reference_rows")]
        assert len(ax.get_yticks()) == len(MODELS)
