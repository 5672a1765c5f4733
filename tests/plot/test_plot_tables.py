"""Heat maps (Figs. 12-13), counts (Fig. 14) and annual cycles (Figs. 5-6)."""

from pathlib import Path

import numpy as np
import pandas as pd

from smeval.core.regions import REGIONS
from smeval.plot import counts, cycles, heatmap
from smeval.plot.style import new_figure

from .conftest import MODELS, assert_files, metrics_table

REGION_IDS = [r.id for r in REGIONS]


def test_heatmap_prints_values_in_their_cells_and_marks_those_above_threshold():
    matrix = pd.DataFrame(
        [[0.61, 0.6, 0.12], [np.nan, 0.95, 0.599]],
        index=["MIROC6", "CanESM5"],
        columns=["SIB", "TIB", "AUS"],
    )
    fig = new_figure(3, 2)
    ax = fig.add_subplot()
    heatmap.draw_tss_matrix(ax, matrix, threshold=0.6)
    cells = {
        tuple(np.round(t.get_position()).astype(int)): t
        for t in ax.texts
        if t.get_gid() == "tss"
    }
    # Position (x = column, y = row) -> printed value.
    assert {k: t.get_text() for k, t in cells.items()} == {
        (0, 0): "0.61",
        (1, 0): "0.60",
        (2, 0): "0.12",
        (1, 1): "0.95",
        (2, 1): "0.60",
    }
    assert [
        t.get_position() for t in ax.texts if t.get_gid() == "missing"
    ] == [(0, 1)]
    bold = {k for k, t in cells.items() if t.get_fontweight() == "bold"}
    assert bold == {
        (0, 0),
        (1, 1),
    }  # strictly above 0.6; 0.599 prints 0.60 but is not
    boxes = {
        (round(p.get_x() + 0.5), round(p.get_y() + 0.5))
        for p in ax.patches
        if p.get_gid() == "above"
    }
    assert boxes == bold
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "SIB",
        "TIB",
        "AUS",
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "MIROC6",
        "CanESM5",
    ]


def test_heatmap_figure_rows_in_callers_order(tmp_path, captured):
    m = metrics_table()
    order = ["MIROC6", "CESM2", "CanESM5"]
    paths = heatmap.plot_tss_heatmap(
        m, "sm_deep", tmp_path / "fig13", models=order, threshold=0.5
    )
    assert_files(paths, pdf=True)
    fig = captured[-1]
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [
        "(a) vs ERA5",
        "(b) vs GLDAS-Noah",
    ]
    for ax, ref in zip(panels, ("ERA5", "GLDAS-NOAH"), strict=True):
        assert [t.get_text() for t in ax.get_xticklabels()] == REGION_IDS
        expected = heatmap.tss_pivot(m, "sm_deep", ref, order)
        assert list(expected.index) == order
        for t in ax.texts:
            j, i = np.round(t.get_position()).astype(int)
            assert t.get_text() == f"{expected.iloc[i, j]:.2f}"
        n_above = sum(p.get_gid() == "above" for p in ax.patches)
        assert n_above == int((expected.to_numpy() > 0.5).sum())
    colorbar = fig.axes[-1]
    assert "TSS" in colorbar.get_ylabel()
    assert "(1)" in colorbar.get_ylabel()
    assert colorbar.get_ylim() == (0.0, 1.0)


def test_tss_pivot_reads_the_table():
    m = metrics_table()
    piv = heatmap.tss_pivot(m, "sm_shallow", "ERA5")
    assert list(piv.index) == list(MODELS)  # model rows only, table order
    row = m[
        (m.dataset == "CESM2")
        & (m.region == "AUS")
        & (m.reference == "ERA5")
        & (m.variable == "sm_shallow")
        & (m.statistic == "TSS")
    ]
    assert piv.loc["CESM2", "AUS"] == row["value"].item()


def _counts():
    refs = ("ERA5", "GLDAS-NOAH")
    rng = np.random.default_rng(3)
    per_region = {
        v: pd.DataFrame(
            rng.integers(0, 6, (13, 2)), index=REGION_IDS, columns=refs
        )
        for v in ("sm_shallow", "sm_deep")
    }
    per_model = {
        v: pd.DataFrame(
            rng.integers(0, 13, (6, 2)), index=list(MODELS), columns=refs
        )
        for v in ("sm_shallow", "sm_deep")
    }
    ranking = {
        v: pd.DataFrame({"rank": [3, 1, 6, 2, 5, 4]}, index=list(MODELS))
        for v in ("sm_shallow", "sm_deep")
    }
    return per_region, per_model, ranking


def test_counts_bars_equal_the_given_counts(tmp_path, captured):
    per_region, per_model, ranking = _counts()
    assert_files(
        counts.plot_tss_counts(
            per_region, per_model, tmp_path / "fig14", ranking
        ),
        pdf=True,
    )
    fig = captured[-1]
    axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert len(axes) == 4
    frames = [
        per_region["sm_shallow"],
        per_model["sm_shallow"],
        per_region["sm_deep"],
        per_model["sm_deep"],
    ]
    for ax, frame in zip(axes, frames, strict=True):
        for ref in frame.columns:
            heights = [
                p.get_height() for p in ax.patches if p.get_gid() == ref
            ]
            assert heights == list(frame[ref].astype(float))
    # Top five: bold tick labels with the rank, on the per-model panels only.
    bold = [
        t.get_text()
        for t in axes[1].get_xticklabels()
        if t.get_fontweight() == "bold"
    ]
    assert bold == [
        "ACCESS-ESM1-5 (3)",
        "CESM2 (1)",
        "GFDL-CM4 (2)",
        "MIROC6 (5)",
        "MPI-ESM1-2-HR (4)",
    ]
    box = next(t for t in axes[1].texts if t.get_gid() == "ranking").get_text()
    assert box.splitlines()[1:] == [
        "1. CESM2",
        "2. GFDL-CM4",
        "3. ACCESS-ESM1-5",
        "4. MPI-ESM1-2-HR",
        "5. MIROC6",
    ]
    assert axes[0].get_ylabel() == "number of models (1)"
    assert axes[1].get_ylabel() == "number of regions (1)"


def test_annual_cycles(tmp_path, captured, annual_cycles):
    assert_files(
        cycles.plot_annual_cycles(
            annual_cycles, "sm_shallow", tmp_path / "fig05"
        ),
        pdf=False,
    )
    fig = captured[-1]
    panels = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [
        ax.get_title(loc="left").split()[-1] for ax in panels
    ] == REGION_IDS
    ax = panels[2]  # TIB
    lines = {ln.get_label(): ln for ln in ax.lines}
    assert set(lines) == set(MODELS) | {
        "CMIP6-MMEM",
        "ERA5",
        "ERA-Interim",
        "GLDAS-NOAH",
    }
    thin = max(lines[m].get_linewidth() for m in MODELS)
    for thick in ("CMIP6-MMEM", "ERA5", "GLDAS-NOAH"):
        assert lines[thick].get_linewidth() > 2 * thin
    rows = annual_cycles[
        (annual_cycles.dataset == "ERA5") & (annual_cycles.region == "TIB")
    ]
    assert list(lines["ERA5"].get_ydata()) == list(
        rows.sort_values("month")["value"]
    )
    assert list(lines["ERA5"].get_xdata()) == list(range(1, 13))
    assert panels[0].get_ylabel() == "kg m$^{-2}$"
    assert "1979-2014" in fig.get_suptitle()
    assert "shallow soil moisture" in fig.get_suptitle()


def _rss_bytes() -> int:
    import os

    with Path("/proc/self/statm").open() as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_figures_do_not_accumulate_memory(tmp_path):
    """200 figures in a loop: every figure is freed, and memory stays flat.

    The loop uses the life cycle every plotting function uses
    (``new_figure`` -> draw -> ``savefig``) with a cheap drawing, so 200
    figures take seconds; one full heat-map figure is checked the same way.
    """
    import gc
    import weakref

    import matplotlib.pyplot as plt

    from smeval.plot.style import savefig

    matrix = pd.DataFrame(
        [[0.7, 0.2]], index=["MIROC6"], columns=["SIB", "TIB"]
    )
    refs = []
    for k in range(200):
        if k == 50:
            gc.collect()
            base = _rss_bytes()
        fig = new_figure(2, 2)
        heatmap.draw_tss_matrix(fig.add_subplot(), matrix)
        savefig(fig, tmp_path / "loop")
        refs.append(weakref.ref(fig))
        del fig
    gc.collect()
    grown = _rss_bytes() - base
    assert sum(r() is not None for r in refs) == 0  # no figure survives
    assert plt.get_fignums() == []  # none registered with pyplot
    assert grown < 30e6, f"RSS grew by {grown / 1e6:.1f} MB over 150 figures"

    table = (
        matrix.stack()
        .rename("value")
        .reset_index()
        .rename(columns={"level_0": "dataset", "level_1": "region"})
    )
    table = table.assign(
        kind="model", reference="ERA5", variable="sm_shallow", statistic="TSS"
    )
    before = {id(o) for o in gc.get_objects() if type(o).__name__ == "Figure"}
    heatmap.plot_tss_heatmap(
        table,
        "sm_shallow",
        tmp_path / "one",
        references=("ERA5",),
        regions=("SIB", "TIB"),
    )
    gc.collect()
    after = {id(o) for o in gc.get_objects() if type(o).__name__ == "Figure"}
    assert after <= before
