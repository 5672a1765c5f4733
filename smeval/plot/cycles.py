"""Regional annual cycles (Figs. 5-6).

Input is the tidy ``annual_cycle`` table of docs/results.md (columns
dataset, kind, variable, region, month 1-12, value, units). Every model is a
thin line in its own colour, CMIP6-MMEM a thick red line, the reanalyses
thick lines in their fixed colours; each line's label is its data set name.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.lines import Line2D

from smeval import defaults
from smeval.metrics.table import REGION_IDS
from smeval.variables import variable_label

from .style import (
    MMEMS,
    RC,
    REFERENCES,
    dataset_style,
    is_mmem,
    is_reference,
    new_figure,
    savefig,
    units_label,
)

MONTH_LETTERS = "JFMAMJJASOND"


def _is_model(dataset: str) -> bool:
    """Return a model (thin line), not an ensemble mean or a reference."""
    return not (is_mmem(dataset) or is_reference(dataset))


def _order(datasets):
    """Models first (drawn below), then the MMEMs, then the references on top."""
    models = sorted(filter(_is_model, datasets), key=str.lower)
    return (
        models
        + [d for d in MMEMS if d in datasets]
        + [d for d in REFERENCES if d in datasets]
    )


def plot_annual_cycles(
    cycles: pd.DataFrame,
    variable: str,
    out_stem,
    regions=REGION_IDS,
    period: str = defaults.PERIOD,
    mmems=("CMIP6-MMEM",),
) -> list[Path]:
    """Figs. 5-6: annual cycle of *variable* in each region, 4 x 4 panels.

    Parameters
    ----------
    cycles : DataFrame
        The annual_cycle table; rows of other variables are ignored.
    variable : str
        ``sm_shallow`` or ``sm_deep``.
    mmems : sequence of str
        Ensemble means to draw (default only CMIP6-MMEM, as in the paper).

    Returns
    -------
    list of Path: the PNG.
    """
    data = cycles[cycles["variable"] == variable]
    data = data[~data["dataset"].isin(set(MMEMS) - set(mmems))]
    units = data["units"].iloc[0] if "units" in data and len(data) else ""
    datasets = _order(list(dict.fromkeys(data["dataset"])))
    ncols = 4
    nrows = -(-(len(regions) + 1) // ncols)
    with mpl.rc_context(RC):
        fig = new_figure(9.5, 2.0 * nrows + 0.6)
        gs = fig.add_gridspec(nrows, ncols, hspace=0.45, wspace=0.3)
        for k, region in enumerate(regions):
            ax = fig.add_subplot(gs[k // ncols, k % ncols])
            _plot_region_cycles(ax, data[data["region"] == region], datasets)
            ax.set_xlim(0.6, 12.4)
            ax.set_xticks(range(1, 13), labels=list(MONTH_LETTERS))
            ax.set_title(f"({chr(ord('a') + k)}) {region}", loc="left")
            ax.tick_params(length=2)
            ax.grid(color="0.9", linewidth=0.5)
            if k % ncols == 0:
                ax.set_ylabel(f"{units_label(units)}")
            if k // ncols == nrows - 1 or k + ncols >= len(regions):
                ax.set_xlabel("month")
        # Legend in the free panels after the last region.
        first_free = len(regions)
        lax = fig.add_subplot(gs[first_free // ncols, first_free % ncols :])
        _legend(lax, datasets, ncols - first_free % ncols)
        fig.suptitle(
            f"Annual cycle of {variable_label(variable)} ({units_label(units)}), "
            f"regional means, {period}"
        )
        return savefig(fig, out_stem)


def _plot_region_cycles(ax, rows: pd.DataFrame, datasets):
    """Draw one line per data set of *datasets* that has rows in the region's *rows*."""
    for ds in datasets:
        cycle = rows[rows["dataset"] == ds].sort_values("month")
        if cycle.empty:
            continue
        st = dataset_style(ds)
        thin = _is_model(ds)
        ax.plot(
            cycle["month"],
            cycle["value"],
            color=st.color,
            linestyle=st.linestyle,
            linewidth=0.7 if thin else st.linewidth,
            alpha=0.75 if thin else 1.0,
            zorder=st.zorder,
            label=ds,
        )


def _legend(lax, datasets, free: int):
    """Show the legend of every data set on the axes *lax* spanning *free* panels."""
    lax.axis("off")
    handles = []
    for ds in datasets:
        st = dataset_style(ds)
        thin = _is_model(ds)
        handles.append(
            Line2D(
                [],
                [],
                color=st.color,
                linestyle=st.linestyle,
                linewidth=0.9 if thin else st.linewidth,
                label=st.label or ds,
            )
        )
    lax.legend(
        handles=handles,
        loc="center",
        ncols=max(1, min(free * 2, -(-len(handles) // 9))),
        frameon=False,
        fontsize=5.5 if len(handles) > 24 else 6.5,
    )
