"""Counts of TSS above the threshold and the top-five ranking (Fig. 14).

The counts and the ranking are queries on the metrics table made by the
caller (``smeval.metrics.table.count_models_above``, ``count_regions_above``,
``ranking``); this module only draws them.

Inputs, per variable (``sm_shallow``, ``sm_deep``):

* ``per_region[variable]``: DataFrame indexed by region id, one column per
  reference, values = number of models with TSS > threshold;
* ``per_model[variable]``: DataFrame indexed by model, one column per
  reference, values = number of regions with TSS > threshold;
* ``ranking[variable]`` (optional): DataFrame indexed by model with a
  ``rank`` column (1 = best), as ``smeval.metrics.table.ranking`` returns.

Bars are Rectangle patches with ``gid`` ``"<reference>"`` and the count as
height; the top-five models' tick labels are bold and carry their rank.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from smeval import defaults
from smeval.variables import variable_label

from .style import RC, dataset_style, new_figure, reference_label, savefig

#: Bar colours: ERA5 black, GLDAS red, as in the paper's Fig. 14.
BAR_COLOURS = {
    "ERA5": "#000000",
    "GLDAS-NOAH": "#d7301f",
    "ERA-Interim": "#7f7f7f",
}


def _bars(ax, frame: pd.DataFrame, references, width_total: float = 0.8):
    n = len(references)
    width = width_total / max(n, 1)
    x = np.arange(len(frame))
    for k, ref in enumerate(references):
        if ref not in frame:
            continue
        heights = frame[ref].to_numpy(dtype=float)
        color = BAR_COLOURS.get(ref, dataset_style(ref).color)
        bars = ax.bar(
            x + (k - (n - 1) / 2) * width,
            heights,
            width,
            color=color,
            label=reference_label(ref),
            zorder=2,
        )
        for bar in bars:
            bar.set_gid(ref)
    ax.set_xlim(-0.6, len(frame) - 0.4)
    top = np.nanmax(
        frame[[r for r in references if r in frame]].to_numpy(dtype=float),
        initial=1.0,
    )
    ax.set_ylim(0, top * 1.08 + 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color="0.85", linewidth=0.5, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return x


def plot_tss_counts(
    per_region: dict,
    per_model: dict,
    out_stem,
    ranking: dict | None = None,
    references=defaults.FIGURE_REFERENCES,
    variables=("sm_shallow", "sm_deep"),
    threshold: float = defaults.TSS_THRESHOLD,
    top: int = 5,
    period: str = defaults.PERIOD,
) -> list[Path]:
    """Plot Fig. 14: counts of models and regions with TSS > threshold.

    (a) models with TSS > threshold per region, (b) regions with TSS >
    threshold per model; rows shallow and deep; bars per reference.

    Parameters
    ----------
    per_region, per_model, ranking : dict[str, DataFrame]
        See the module docstring; keys are the variables.
    top : int
        How many of the ranking to highlight (bold tick labels with the rank,
        and a list in the panel).

    Returns
    -------
    list of Path: PNG and PDF.
    """
    variables = [v for v in variables if v in per_region or v in per_model]
    nmodels = max(
        (len(per_model[v]) for v in variables if v in per_model), default=1
    )
    with mpl.rc_context(RC):
        fig = new_figure(3.8 + 0.22 * nmodels, 2.9 * len(variables) + 0.6)
        gs = fig.add_gridspec(
            len(variables),
            2,
            width_ratios=[13, max(nmodels, 4)],
            hspace=1.0,
            wspace=0.12,
        )
        for i, var in enumerate(variables):
            label = variable_label(var)
            if var in per_region:
                _region_panel(
                    fig.add_subplot(gs[i, 0]),
                    per_region[var],
                    references,
                    f"({chr(ord('a') + 2 * i)}) {label}:\nmodels with TSS > {threshold:g}",
                )
            if var in per_model:
                _model_panel(
                    fig.add_subplot(gs[i, 1]),
                    per_model[var],
                    references,
                    _top_ranks(ranking, var, top),
                    f"({chr(ord('a') + 2 * i + 1)}) {label}:\nregions with "
                    f"TSS > {threshold:g}",
                    top,
                )
        _reference_legend(fig, references)
        fig.suptitle(
            f"Counts of TSS > {threshold:g} for monthly regional soil moisture, "
            f"{period}, against "
            + " and ".join(reference_label(r) for r in references)
        )
        return savefig(fig, out_stem, pdf=True)


def _region_panel(ax, frame: pd.DataFrame, references, title: str):
    """Draw the bars of models above the threshold in each region (Fig. 14a, c)."""
    _bars(ax, frame, references)
    ax.set_xticks(
        range(len(frame)),
        labels=list(frame.index),
        rotation=45,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_ylabel("number of models (1)")
    ax.set_xlabel("region")
    ax.set_title(title, loc="left")


def _top_ranks(ranking: dict | None, variable: str, top: int) -> dict:
    """Return model -> rank of the *top* best models of *variable* (empty without a ranking)."""
    if (
        ranking is not None
        and variable in ranking
        and "rank" in ranking[variable]
    ):
        r = ranking[variable]["rank"]
        return {m: int(k) for m, k in r.items() if k <= top}
    return {}


def _model_panel(
    ax, frame: pd.DataFrame, references, ranks: dict, title: str, top: int
):
    """Draw the bars of regions above the threshold for each model (Fig. 14b, d).

    The models of *ranks* get bold red tick labels with their rank, and a
    list of them beside the panel.
    """
    _bars(ax, frame, references)
    labels = [f"{m} ({ranks[m]})" if m in ranks else m for m in frame.index]
    ax.set_xticks(
        range(len(frame)),
        labels=labels,
        rotation=60,
        ha="right",
        rotation_mode="anchor",
    )
    for tick, m in zip(ax.get_xticklabels(), frame.index, strict=True):
        if m in ranks:
            tick.set_fontweight("bold")
            tick.set_color("#b2182b")
    ax.set_ylabel("number of regions (1)")
    ax.set_xlabel("model (top-five rank in brackets)" if ranks else "model")
    ax.set_title(title, loc="left")
    if ranks:
        best = sorted(ranks, key=ranks.get)
        ax.text(
            1.01,
            1.0,
            f"top {top}:\n" + "\n".join(f"{ranks[m]}. {m}" for m in best),
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=6,
            bbox={
                "boxstyle": "round,pad=0.3",
                "fc": "white",
                "ec": "0.6",
            },
            gid="ranking",
            zorder=5,
        )


def _reference_legend(fig, references):
    """Add the legend of the bar colours, one per reference."""
    handles = [
        mpl.patches.Patch(
            color=BAR_COLOURS.get(r, dataset_style(r).color),
            label=reference_label(r),
        )
        for r in references
    ]
    # Between the rows, right of the panels: clear of titles and bars.
    fig.legend(
        handles=handles,
        loc="center left",
        frameon=False,
        bbox_to_anchor=(0.905, 0.5),
        title="reference",
    )
