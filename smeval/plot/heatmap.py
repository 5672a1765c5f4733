"""TSS heat maps, model x region (Figs. 12-13).

Rows are models in the order the caller gives, columns the regions in SPEC
order; each cell prints its TSS with two decimals, and the cells above the
threshold (a model "reproduces" the region, SPEC section 5) are printed in
bold and outlined. The values come from the metrics table; the only
operation here is a pandas pivot.

Cell (row i, column j) is centred at (x=j, y=i); its text artist has ``gid``
``"tss"`` and its outline (a Rectangle) ``gid`` ``"above"``.

How sure (SPEC section 8), where the table has the rows: a small triangle
(``gid`` ``"straddles"``) marks a cell whose bootstrap interval
(``TSS_ci_low`` .. ``TSS_ci_high``) contains the threshold, so that whether
the model reproduces the region is uncertain; a small dot (``gid``
``"within_obs"``) a cell where the model agrees with the reference better
than another reference does (its skill cannot be told apart from the
observational spread); rows ``ref: <name>`` below a line show the TSS of
the other references against the panel's reference.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from smeval import defaults
from smeval.metrics.table import (
    CI_HIGH,
    CI_LOW,
    REGION_IDS,
    reference_agreement,
)
from smeval.variables import variable_label

from .style import RC, new_figure, reference_label, savefig

#: Row label prefix of the reference-vs-reference rows.
REFERENCE_ROW = "ref: "
#: Order of the reference rows (others after these, by name).
REFERENCE_ORDER = defaults.REFERENCES


def tss_pivot(
    metrics: pd.DataFrame,
    variable: str,
    reference: str,
    models=None,
    regions=REGION_IDS,
    statistic: str = "TSS",
) -> pd.DataFrame:
    """TSS as a (model x region) frame from the tidy metrics table.

    Parameters
    ----------
    metrics : DataFrame
        Columns dataset, reference, variable, region, statistic, value
        (and kind: only ``model`` rows are used when present).
    models : sequence of str, optional
        Row order (default: the models in the order they appear).
    """
    sel = metrics[
        (metrics["variable"] == variable)
        & (metrics["reference"] == reference)
        & (metrics["statistic"] == statistic)
    ]
    if "kind" in sel and models is None:
        sel = sel[sel["kind"] == "model"]
    wide = sel.pivot_table(
        index="dataset", columns="region", values="value", aggfunc="first"
    )
    if models is None:
        models = list(dict.fromkeys(sel["dataset"]))
    return wide.reindex(index=list(models), columns=list(regions))


def draw_tss_matrix(
    ax,
    matrix: pd.DataFrame,
    threshold: float = defaults.TSS_THRESHOLD,
    cmap="YlGnBu",
    norm=None,
    value_fontsize: float = 6.5,
    straddles: pd.DataFrame | None = None,
    within_obs: pd.DataFrame | None = None,
):
    """Draw a (model x region) TSS frame on *ax*; return the image for a colour bar.

    Cell (i, j) is centred at x = j, y = i; its value is printed with two
    decimals (``gid`` ``"tss"``; ``"-"`` with ``gid`` ``"missing"`` where NaN),
    and cells with TSS > *threshold* are bold and outlined (``gid`` ``"above"``).
    Optional boolean frames of the same shape mark cells whose interval
    straddles the threshold (a triangle in the upper right corner, ``gid``
    ``"straddles"``) and cells within the observational spread (a dot in the
    lower left corner, ``gid`` ``"within_obs"``).
    """
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    norm = norm or mpl.colors.Normalize(0.0, 1.0)
    values = matrix.to_numpy(dtype=float)
    mesh = ax.imshow(
        np.ma.masked_invalid(values),
        cmap=cmap,
        norm=norm,
        aspect="auto",
        interpolation="nearest",
    )
    nrows, ncols = values.shape
    for i in range(nrows):
        for j in range(ncols):
            v = values[i, j]
            if np.isfinite(v):
                _value_cell(
                    ax, i, j, v, v > threshold, cmap(norm(v)), value_fontsize
                )
            else:
                ax.text(
                    j,
                    i,
                    "-",
                    ha="center",
                    va="center",
                    fontsize=value_fontsize,
                    color="0.4",
                    gid="missing",
                )
    _cell_marks(ax, matrix, straddles, within_obs)
    _matrix_ticks(ax, matrix)
    return mesh


def _value_cell(ax, i, j, v, above, rgba, fontsize):
    """Print TSS *v* in cell (i, j), readable on its colour *rgba*; bold and outlined if *above*."""
    dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
    ax.text(
        j,
        i,
        f"{v:.2f}",
        ha="center",
        va="center",
        fontsize=fontsize,
        fontweight="bold" if above else "normal",
        color="white" if dark else "black",
        gid="tss",
    )
    if above:
        ax.add_patch(
            Rectangle(
                (j - 0.5, i - 0.5),
                1,
                1,
                fill=False,
                edgecolor="#e31a1c",
                linewidth=1.2,
                gid="above",
                zorder=3,
            )
        )


def _cell_marks(ax, matrix, straddles, within_obs):
    """Mark the cells of the boolean frames: triangles upper right (straddles), dots lower left (within_obs)."""
    for mask, (dx, dy), marker, gid in (
        (straddles, (0.33, -0.3), "v", "straddles"),
        (within_obs, (-0.33, 0.3), "o", "within_obs"),
    ):
        if mask is None:
            continue
        rows, cols = np.nonzero(
            mask.reindex_like(matrix).fillna(False).to_numpy(dtype=bool)
        )
        if len(rows):
            ax.plot(
                cols + dx,
                rows + dy,
                linestyle="none",
                marker=marker,
                markersize=2.8,
                color="#d95f02",
                markeredgecolor="black",
                markeredgewidth=0.3,
                gid=gid,
                zorder=4,
            )


def _matrix_ticks(ax, matrix):
    """Label the regions and models; white lines between the cells, no frame."""
    nrows, ncols = matrix.shape
    ax.set_xticks(
        range(ncols),
        labels=list(matrix.columns),
        rotation=45,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(nrows), labels=list(matrix.index))
    ax.set_xticks(np.arange(-0.5, ncols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, nrows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=2)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xlabel("region")


def plot_tss_heatmap(
    metrics: pd.DataFrame,
    variable: str,
    out_stem,
    references=defaults.FIGURE_REFERENCES,
    models=None,
    regions=REGION_IDS,
    threshold: float = defaults.TSS_THRESHOLD,
    period: str = defaults.PERIOD,
    cmap: str = "YlGnBu",
) -> list[Path]:
    """Figs. 12-13: TSS of each model in each region, one panel per reference.

    Parameters
    ----------
    metrics : DataFrame
        Tidy metrics table (docs/results.md): dataset, kind, reference,
        variable, region, statistic, value.
    variable : str
        ``sm_shallow`` or ``sm_deep``.
    models : sequence of str, optional
        Rows, top to bottom, as the caller sorts them (default: the order of
        the table's model rows).
    threshold : float
        Cells with TSS strictly above it are bold and outlined.

    Returns
    -------
    list of Path: PNG and PDF.
    """
    cmap = mpl.colormaps[cmap]
    norm = mpl.colors.Normalize(0.0, 1.0)
    panels = [
        uncertainty_panel(
            metrics, variable, ref, references, models, regions, threshold
        )
        for ref in references
    ]
    matrices = [p[0] for p in panels]
    n_models = _n_model_rows(matrices)
    nrows = max(len(m) for m in matrices) if matrices else 0
    fs = 5.5 if nrows > 20 else 6.5
    with mpl.rc_context(RC):
        fig = new_figure(
            0.42 * len(regions) * len(references) + 2.6, 0.2 * nrows + 1.8
        )
        gs = fig.add_gridspec(
            1,
            len(references) + 1,
            width_ratios=[1] * len(references) + [0.04],
            wspace=0.08,
        )
        mesh = None
        for k, (ref, matrix) in enumerate(
            zip(references, matrices, strict=True)
        ):
            ax = fig.add_subplot(gs[0, k])
            mesh = draw_tss_matrix(
                ax, matrix, threshold, cmap, norm, fs, *panels[k][1:]
            )
            _label_panel(ax, k, ref, n_models, len(matrix))
        cb = fig.colorbar(mesh, cax=fig.add_subplot(gs[0, -1]))
        cb.set_label("Taylor skill score TSS (1)")
        cb.ax.axhline(threshold, color="black", linewidth=1.0)
        if any(p[1] is not None or p[2] is not None for p in panels):
            _marks_legend(fig)
        fig.suptitle(
            f"TSS of monthly regional-mean {variable_label(variable)}, {period}; "
            f"bold, outlined: TSS > {threshold:g}"
        )
        return savefig(fig, out_stem, pdf=True)


def _n_model_rows(matrices) -> int:
    """Return the number of model rows of the first panel, before its reference rows (as drawn by uncertainty_panel)."""
    if not matrices:
        return 0
    return sum(
        not str(row).startswith(REFERENCE_ROW) for row in matrices[0].index
    )


def _label_panel(ax, k: int, reference: str, n_models: int, n_rows: int):
    """Title panel *k*; a line above its reference rows; the model names on the first panel only."""
    if n_rows > n_models:
        ax.axhline(
            n_models - 0.5,
            color="black",
            linewidth=1.0,
            gid="reference_rows",
        )
    ax.set_title(f"({chr(ord('a') + k)}) vs {reference_label(reference)}")
    if k:
        ax.tick_params(labelleft=False)
    else:
        ax.set_ylabel("model")


def _marks_legend(fig):
    """Explain the triangles, dots and reference rows below the panels."""
    # Below the region labels (the PNG is cut to its tight bounding box).
    fig.text(
        0.5,
        -0.15,
        "triangle: the bootstrap interval of TSS contains the threshold; dot: the model "
        "agrees with the reference better than another reference does; rows 'ref:': the other "
        "references against the reference",
        ha="center",
        va="top",
        fontsize=7,
        gid="marks_legend",
    )


def uncertainty_panel(
    metrics: pd.DataFrame,
    variable: str,
    reference: str,
    references,
    models=None,
    regions=REGION_IDS,
    threshold: float = defaults.TSS_THRESHOLD,
):
    """One panel's TSS rows with the reference rows, and its two masks (SPEC section 8).

    Returns ``(matrix, straddles, within_obs)``: the (model x region) TSS
    frame followed, if the table has reference rows, by rows ``ref: <name>``
    (the TSS of every reference of the table, and of ``references``, against
    ``reference``; NaN for itself); ``straddles`` is True where ``TSS_ci_low <= threshold <
    TSS_ci_high``; ``within_obs`` where a model's TSS exceeds the lowest TSS
    of another reference against ``reference``. The masks are None when the
    table has no such rows.
    """
    matrix = tss_pivot(metrics, variable, reference, models, regions)
    models = list(matrix.index)
    has_refs = "kind" in metrics and (metrics["kind"] == "reference").any()
    if has_refs:
        refs = metrics[
            (metrics["kind"] == "reference")
            & (metrics["variable"] == variable)
            & (metrics["reference"] == reference)
            & (metrics["statistic"] == "TSS")
        ]
        wide = refs.pivot_table(
            index="dataset", columns="region", values="value", aggfunc="first"
        )
        every = set(
            metrics.loc[
                (metrics["kind"] == "reference")
                & (metrics["variable"] == variable),
                "dataset",
            ]
        )
        order = list(references) + sorted(every - set(references))
        order.sort(
            key=lambda r: (
                REFERENCE_ORDER.index(r)
                if r in REFERENCE_ORDER
                else len(REFERENCE_ORDER)
            )
        )
        wide = wide.reindex(index=order, columns=list(regions))
        wide.index = [REFERENCE_ROW + r for r in wide.index]
        matrix = pd.concat([matrix, wide])
    straddles = within_obs = None
    if (metrics["statistic"] == "TSS" + CI_LOW).any():
        low = tss_pivot(
            metrics, variable, reference, models, regions, "TSS" + CI_LOW
        )
        high = tss_pivot(
            metrics, variable, reference, models, regions, "TSS" + CI_HIGH
        )
        straddles = (
            ((low <= threshold) & (high > threshold))
            .reindex(matrix.index)
            .fillna(False)
        )
    if has_refs:
        agree = reference_agreement(metrics, variable, reference, regions)
        within = matrix.loc[models].gt(agree, axis=1)
        within_obs = within.reindex(matrix.index).fillna(False)
    return matrix, straddles, within_obs
