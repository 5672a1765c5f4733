"""Standardised Taylor diagrams (Taylor 2001): Figs. 7-10.

A point with correlation ``R`` and standardised standard deviation ``sigma``
sits at polar angle ``arccos(R)`` and radius ``sigma``; the reference sits
at (angle 0, radius 1), and the distance of a point from it is the
standardised centred RMS difference ``E' = sqrt(sigma^2 + 1 - 2 sigma R)``
(law of cosines), drawn as dashed circles around the reference. The diagram
is the first quadrant, or the half circle when any R < 0 (the paper's NH
values reach R = -0.6).

Every number comes from the metrics table (columns of docs/results.md);
nothing here computes a statistic. Points are Line2D artists labelled with
the data set name (``gid`` ``"point"``), E' contours have ``gid`` ``"E'"``
and their value in ``line.get_label()``, so tests and callers can read the
geometry back.

How sure (SPEC section 8), where the table has the rows: each other
reference against the diagram's reference is a white star (``gid``
``"reference_point"``, labelled with its name), and the bootstrap intervals
of the ensemble means and of those stars are drawn as a radial segment
(sigma interval at the point's R) and an arc (R interval at the point's
sigma), ``gid`` ``"interval"``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from smeval import defaults
from smeval.core.regions import HEMISPHERE_IDS, NH_REGIONS
from smeval.variables import variable_label

from .style import (
    GROUP_COLOURS,
    MMEMS,
    RC,
    dataset_style,
    new_figure,
    reference_label,
    savefig,
)

#: Correlations labelled on the arc (non-negative half).
R_TICKS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
#: Interval statistics of the table a diagram can show (SPEC section 8).
INTERVAL_COLUMNS = ("R_ci_low", "R_ci_high", "sigma_ci_low", "sigma_ci_high")


def taylor_points(
    metrics: pd.DataFrame,
    variable: str,
    region: str,
    reference: str,
    datasets=None,
) -> pd.DataFrame:
    """Rows of the tidy metrics table as one row per data set: R and sigma.

    Parameters
    ----------
    metrics : DataFrame
        Tidy table with columns dataset, reference, variable, region,
        statistic, value (and optionally kind, resolution_group, family).
    datasets : sequence of str, optional
        Keep only these, in this order.

    Returns
    -------
    DataFrame with columns dataset, R, sigma (dimensionless), plus kind,
    resolution_group and family, and the interval columns
    :data:`INTERVAL_COLUMNS`, where the table has them.
    """
    sel = metrics[
        (metrics["variable"] == variable)
        & (metrics["region"] == region)
        & (metrics["reference"] == reference)
        & (metrics["statistic"].isin(["R", "sigma", *INTERVAL_COLUMNS]))
    ]
    wide = sel.pivot_table(
        index="dataset", columns="statistic", values="value", aggfunc="first"
    )
    for col in ("R", "sigma"):
        if col not in wide:
            wide[col] = np.nan
    wide = wide[
        ["R", "sigma", *(c for c in INTERVAL_COLUMNS if c in wide)]
    ].dropna(subset=["R", "sigma"])
    meta = [c for c in ("kind", "resolution_group", "family") if c in sel]
    if meta:
        wide = wide.join(sel.groupby("dataset")[meta].first())
    wide = wide.reset_index()
    return wide if datasets is None else _keep(wide, datasets)


def _keep(points: pd.DataFrame, datasets) -> pd.DataFrame:
    """Return the rows of *points* whose data set is one of *datasets*, in that order."""
    order = {d: i for i, d in enumerate(datasets)}
    points = points[points["dataset"].isin(order)]
    points = points.iloc[
        np.argsort([order[d] for d in points["dataset"]], kind="stable")
    ]
    return points.reset_index(drop=True)


#: Largest radius (standardised sigma) of a diagram: points beyond it are
#: drawn on its edge with their value, so that one wild data set neither
#: squeezes the others into a corner nor costs an arc and a tick per unit.
SIGMA_CAP = 4.0


def nice_rmax(sigmas, minimum: float = 1.5) -> float:
    """Radius of the diagram: a round number above every sigma (and >= *minimum*), at most :data:`SIGMA_CAP`."""
    top = min(
        SIGMA_CAP,
        max(
            [minimum] + [1.08 * s for s in np.ravel(sigmas) if np.isfinite(s)]
        ),
    )
    step = 0.25 if top <= 2 else 0.5 if top <= 4 else 1.0
    return float(np.ceil(top / step) * step)


def e_prime(R, sigma):
    """E' of a point on the diagram (the distance from the reference)."""
    return np.sqrt(
        np.asarray(sigma) ** 2 + 1.0 - 2.0 * np.asarray(sigma) * np.asarray(R)
    )


def to_xy(R, sigma):
    """Cartesian position of a point: polar angle arccos(R), radius sigma."""
    theta = np.arccos(np.clip(np.asarray(R, dtype=float), -1.0, 1.0))
    sigma = np.asarray(sigma, dtype=float)
    return sigma * np.cos(theta), sigma * np.sin(theta)


def taylor_axes(
    fig,
    spec,
    rmax: float = 1.5,
    negative: bool = False,
    e_levels=None,
    reference: str = "reference",
    sigma_label: bool = True,
):
    """Return a Taylor-diagram axes at gridspec slot *spec*.

    Drawn on Cartesian axes of equal aspect (x = sigma R, y = sigma
    sqrt(1 - R^2)): matplotlib's truncated polar axes keep the box of the
    full circle, which leaves a half-circle diagram a quarter of its slot.

    Parameters
    ----------
    rmax : float
        Largest standardised standard deviation shown.
    negative : bool
        Draw the half circle (R from -1 to 1) instead of the first quadrant.
    e_levels : sequence of float, optional
        E' contours (default every 0.25 when rmax <= 2, else every 0.5).
    reference : str
        Name shown at the reference point (R = 1, sigma = 1).
    """
    ax = fig.add_subplot(spec)
    tmax = np.pi if negative else np.pi / 2
    sticks = _sigma_frame(ax, rmax, negative)
    _sigma_arcs(ax, sticks, rmax, tmax)
    _correlation_spokes(ax, rmax, negative, tmax)
    if e_levels is None:
        estep = 0.25 if rmax <= 2 else 0.5
        e_levels = np.arange(estep, rmax + 1 + 1e-9, estep)
    for e in e_levels:
        _e_contour(ax, float(e), rmax, tmax)
    _reference_point(ax, reference)
    if sigma_label:
        ax.set_xlabel(
            "standardised standard deviation $\\sigma$ (1)",
            fontsize=7,
            labelpad=2,
        )
    if not negative:
        ax.set_ylabel("$\\sigma$ (1)", fontsize=7, labelpad=2)
    return ax


def _sigma_frame(ax, rmax, negative):
    """Set the limits, spines and sigma ticks of a diagram; return the sigma ticks (>= 0)."""
    ax.set_aspect("equal")
    ax.set_xlim(-rmax if negative else 0.0, rmax)
    ax.set_ylim(0.0, rmax)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if negative:
        ax.spines["left"].set_visible(False)
        ax.tick_params(left=False, labelleft=False)
    step = 0.25 if rmax <= 1.5 else 0.5 if rmax <= 4 else 1.0
    sticks = np.arange(0, rmax + 1e-9, step)
    ax.set_xticks(np.r_[-sticks[:0:-1], sticks] if negative else sticks)
    ax.set_xticklabels([f"{abs(t):g}" for t in ax.get_xticks()])
    ax.set_yticks(sticks)
    ax.tick_params(length=2.5, pad=1.5, labelsize=6)
    return sticks


def _sigma_arcs(ax, sticks, rmax, tmax):
    """Draw the arcs of constant sigma: grey at the ticks, black at 1 and at the edge."""
    th = np.linspace(0, tmax, 200)
    # sigma arcs: grey solid; the reference's spread (sigma = 1) black.
    for sv in sticks[1:]:
        ax.plot(
            sv * np.cos(th),
            sv * np.sin(th),
            color="0.75",
            linewidth=0.5,
            zorder=0.5,
            gid="sigma arc",
        )
    ax.plot(
        np.cos(th),
        np.sin(th),
        color="black",
        linewidth=0.7,
        zorder=1,
        gid="sigma=1",
    )
    ax.plot(
        rmax * np.cos(th),
        rmax * np.sin(th),
        color="black",
        linewidth=0.8,
        zorder=1,
        clip_on=False,
    )


def _correlation_spokes(ax, rmax, negative, tmax):
    """Draw the correlation spokes (grey dotted, as in the paper), their labels on the arc and its title."""
    rticks = np.array(R_TICKS)
    if negative:
        # Fewer labels: the half circle spreads twice the range on one arc.
        half = rticks[
            np.isin(rticks, (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0))
        ]
        rticks = np.r_[-half[::-1], half[1:]]
    for r in rticks:
        _correlation_spoke(ax, r, rmax, tmax)
    ang = np.pi / 4 if not negative else np.pi / 2
    ax.text(
        1.17 * rmax * np.cos(ang),
        1.17 * rmax * np.sin(ang),
        "correlation R (1)",
        rotation=np.degrees(ang) - 90,
        rotation_mode="anchor",
        ha="center",
        va="bottom",
        fontsize=7,
        clip_on=False,
    )


def _correlation_spoke(ax, r, rmax, tmax):
    """Draw the spoke of correlation *r* (none on the diagram's edges), its tick and label."""
    t = np.arccos(r)
    c, s_ = np.cos(t), np.sin(t)
    if 0 < t < tmax:
        ax.plot(
            [0, rmax * c],
            [0, rmax * s_],
            color="0.6",
            linestyle=":",
            linewidth=0.6,
            zorder=0.5,
            gid="R spoke",
        )
    ax.plot(
        [rmax * c, 1.025 * rmax * c],
        [rmax * s_, 1.025 * rmax * s_],
        color="black",
        linewidth=0.6,
        clip_on=False,
    )
    ax.text(
        1.06 * rmax * c,
        1.06 * rmax * s_,
        f"{r + 0.0:g}",
        fontsize=5.5,
        rotation=np.degrees(t) - 90,
        rotation_mode="anchor",
        ha="center",
        va="bottom",
        clip_on=False,
        gid="R label",
    )


def _reference_point(ax, reference):
    """Mark the reference at (R = 1, sigma = 1): a white circle with its name."""
    ax.plot(
        [1],
        [0],
        marker="o",
        markersize=6,
        color="black",
        markerfacecolor="white",
        markeredgewidth=1.2,
        linestyle="none",
        zorder=7,
        clip_on=False,
        gid="reference",
    )
    ax.annotate(
        reference,
        (1, 0),
        xytext=(2, 4),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize=6,
        annotation_clip=False,
    )


def set_title(ax, title: str, **kwargs):
    """Title above the correlation labels of a diagram made by :func:`taylor_axes`."""
    negative = ax.get_xlim()[0] < 0
    return ax.set_title(title, y=1.3 if negative else 1.13, **kwargs)


def _e_contour(ax, e, rmax, tmax):
    """Dashed circle of radius *e* around the reference, clipped to the diagram."""
    phi = np.linspace(0, np.pi, 361)
    x = 1 + e * np.cos(phi)
    y = e * np.sin(phi)
    r = np.hypot(x, y)
    th = np.arctan2(y, x)
    inside = (r <= rmax) & (th <= tmax + 1e-12)
    if not inside.any():
        return None
    (line,) = ax.plot(
        np.where(inside, x, np.nan),
        np.where(inside, y, np.nan),
        color="0.3",
        linestyle="--",
        linewidth=0.6,
        zorder=1,
        gid="E'",
        label=f"{e:g}",
    )
    ok = np.nonzero(inside & (r < 0.92 * rmax) & (th < 0.95 * tmax))[0]
    if ok.size:
        # Above the reference (phi near 120 degrees) where possible.
        k = ok[np.argmin(np.abs(phi[ok] - np.radians(120)))]
        ax.text(
            x[k],
            y[k],
            f"{e:g}",
            fontsize=5.5,
            color="0.25",
            ha="center",
            va="center",
            bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none"},
            zorder=1.5,
            gid="E' label",
        )
    return line


def plot_points(
    ax,
    points: pd.DataFrame,
    color_by: str = "dataset",
    numbers: dict | None = None,
):
    """Add one marker per row of *points* (columns dataset, R, sigma).

    Parameters
    ----------
    color_by : {"dataset", "group"}
        ``"group"`` colours models by ``resolution_group`` (Figs. 7-8); the
        MMEMs keep their own colours either way.
    numbers : dict[str, int], optional
        Number printed beside each model's marker (Figs. 7-8).

    Returns
    -------
    list of Line2D, labelled with the data set names.
    """
    lines = []
    for row in points.itertuples(index=False):
        rmax = ax.get_ylim()[1]
        outside = np.isfinite(row.sigma) and row.sigma > rmax
        # Beyond the edge: on the edge at its correlation's angle, with its sigma written.
        x, y = to_xy(
            row.R,
            min(row.sigma, rmax) if np.isfinite(row.sigma) else row.sigma,
        )
        lines.append(_point_marker(ax, row, x, y, color_by))
        if outside:
            ax.annotate(
                f"\u03c3={row.sigma:.3g}",
                (x, y),
                xytext=(4, -7),
                textcoords="offset points",
                fontsize=5,
                color="firebrick",
                zorder=8,
                gid="outlier",
                annotation_clip=False,
            )
        if numbers and row.dataset in numbers:
            ax.annotate(
                str(numbers[row.dataset]),
                (x, y),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize=5,
                zorder=8,
            )
    return lines


def _point_marker(ax, row, x, y, color_by):
    """Draw the marker of one row of :func:`plot_points` at (x, y): MMEMs large, models by data set or group."""
    st = dataset_style(row.dataset, getattr(row, "family", None))
    color = st.color
    if color_by == "group" and row.dataset not in MMEMS:
        color = GROUP_COLOURS.get(
            getattr(row, "resolution_group", None), "0.5"
        )
    big = row.dataset in MMEMS
    (line,) = ax.plot(
        [x],
        [y],
        linestyle="none",
        marker=st.marker,
        markersize=st.markersize if big else 5,
        markerfacecolor=color,
        markeredgecolor="black"
        if big
        else mpl.colors.to_hex(np.array(mpl.colors.to_rgb(color)) * 0.6),
        markeredgewidth=0.6,
        zorder=st.zorder + 1,
        label=row.dataset,
        gid="point",
        clip_on=False,
    )
    return line


def plot_intervals(
    ax, points: pd.DataFrame, color: str | None = None
) -> list[Line2D]:
    """Draw the bootstrap intervals of *points* that have them (columns :data:`INTERVAL_COLUMNS`).

    The sigma interval is a radial segment at the point's R, the R interval
    an arc at the point's sigma (``gid`` ``"interval"``); returns the lines.
    """
    lines = []
    if not set(INTERVAL_COLUMNS) <= set(points.columns):
        return lines
    for row in points.itertuples(index=False):
        lo_r, hi_r, lo_s, hi_s = (getattr(row, c) for c in INTERVAL_COLUMNS)
        if not np.all(np.isfinite([lo_r, hi_r, lo_s, hi_s])):
            continue
        c = (
            color
            or dataset_style(row.dataset, getattr(row, "family", None)).color
        )
        radial = to_xy([row.R, row.R], [lo_s, hi_s])
        arc = to_xy(np.linspace(lo_r, hi_r, 25), np.full(25, row.sigma))
        for x, y in (radial, arc):
            (line,) = ax.plot(
                x,
                y,
                color=c,
                linewidth=0.9,
                alpha=0.85,
                zorder=5,
                gid="interval",
                solid_capstyle="butt",
                clip_on=False,
            )
            lines.append(line)
    return lines


def plot_reference_points(ax, points: pd.DataFrame) -> list[Line2D]:
    """Other references against the diagram's reference: white stars with their names and intervals."""
    lines = []
    for row in points.itertuples(index=False):
        x, y = to_xy(row.R, row.sigma)
        (line,) = ax.plot(
            [x],
            [y],
            linestyle="none",
            marker="*",
            markersize=8,
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=0.7,
            zorder=7,
            label=row.dataset,
            gid="reference_point",
            clip_on=False,
        )
        ax.annotate(
            reference_label(row.dataset),
            (x, y),
            xytext=(3, -6),
            textcoords="offset points",
            fontsize=5,
            zorder=8,
        )
        lines.append(line)
    plot_intervals(ax, points, color="black")
    return lines


def _split_references(
    points: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows that are not references, rows of kind ``reference``)."""
    if "kind" not in points:
        return points, points.iloc[:0]
    is_ref = (points["kind"] == "reference").to_numpy()
    return points[~is_ref].reset_index(drop=True), points[is_ref].reset_index(
        drop=True
    )


#: Legend entry of the reference-vs-reference stars.
REFERENCE_HANDLE = {
    "linestyle": "none",
    "marker": "*",
    "markersize": 7,
    "markerfacecolor": "white",
    "markeredgecolor": "black",
    "label": "other reference (vs this one)",
}


def _legend_handles(datasets, color_by="dataset", groups=None, numbers=None):
    handles = []
    for d in datasets:
        st = dataset_style(d)
        color = st.color
        if color_by == "group" and d not in MMEMS and groups is not None:
            color = GROUP_COLOURS.get(groups.get(d), "0.5")
        label = f"{numbers[d]} {d}" if numbers and d in numbers else d
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker=st.marker,
                markersize=5,
                markerfacecolor=color,
                markeredgecolor="black",
                markeredgewidth=0.4,
                label=label,
            )
        )
    return handles


def _figure_scale(tables):
    sig = np.concatenate(
        [t["sigma"].to_numpy(float) for t in tables if len(t)]
        or [np.array([1.0])]
    )
    r = np.concatenate(
        [t["R"].to_numpy(float) for t in tables if len(t)] or [np.array([1.0])]
    )
    return nice_rmax(sig), bool(np.any(r < 0))


def plot_taylor(
    points: pd.DataFrame,
    out_stem,
    title: str,
    reference: str = "reference",
    color_by: str = "dataset",
    numbered: bool = False,
) -> list[Path]:
    """Draw one Taylor diagram of *points*; save it as PNG and PDF.

    *points* has the columns dataset, R, sigma and optionally
    resolution_group and family.
    """
    rmax, negative = _figure_scale([points])
    numbers = _numbers(points) if numbered else None
    with mpl.rc_context(RC):
        fig = new_figure(6.5 if negative else 4.8, 4.2 if negative else 4.6)
        gs = fig.add_gridspec(1, 1)
        ax = taylor_axes(
            fig, gs[0, 0], rmax, negative, reference=reference_label(reference)
        )
        plot_points(ax, points, color_by, numbers)
        set_title(ax, title)
        groups = dict(
            zip(
                points["dataset"],
                points.get("resolution_group", [None] * len(points)),
                strict=True,
            )
        )
        fig.legend(
            handles=_legend_handles(
                points["dataset"], color_by, groups, numbers
            ),
            loc="center left",
            bbox_to_anchor=(0.98, 0.5),
            frameon=False,
            ncols=1 if len(points) <= 20 else 2,
        )
        return savefig(fig, out_stem, pdf=True)


def _numbers(points):
    models = [d for d in points["dataset"] if d not in MMEMS]
    return {
        d: i
        for i, d in enumerate(
            sorted(dict.fromkeys(models), key=str.lower), start=1
        )
    }


def plot_taylor_hemispheres(
    metrics: pd.DataFrame,
    variable: str,
    out_stem,
    references=defaults.FIGURE_REFERENCES,
    hemispheres=HEMISPHERE_IDS,
    groups=("high", "low"),
    period: str = defaults.PERIOD,
) -> list[Path]:
    """Figs. 7-8: one diagram per (resolution group, hemisphere, reference).

    Rows: group x hemisphere; columns: references. Each diagram shows the
    models of the group (coloured by group, numbered; the legend maps the
    numbers to names) and CMIP6-MMEM, -high and -low.

    *metrics* is the tidy table of docs/results.md; models are the rows with
    kind ``model`` and their ``resolution_group``.
    """
    models = metrics[metrics["kind"] == "model"]
    group_of = models.groupby("dataset")["resolution_group"].first().to_dict()
    panels, ref_panels = _hemisphere_panels(
        metrics, variable, group_of, groups, hemispheres, references
    )
    rmax, negative = _figure_scale([*panels.values(), *ref_panels.values()])
    all_models = sorted(group_of, key=str.lower)
    numbers = {d: i for i, d in enumerate(all_models, start=1)}
    nrows, ncols = len(groups) * len(hemispheres), len(references)
    w = 3.6 if negative else 2.9
    with mpl.rc_context(RC):
        fig = new_figure(
            w * ncols + 2.6, (2.9 if negative else 3.0) * nrows + 0.6
        )
        gs = fig.add_gridspec(
            nrows, ncols, hspace=0.85 if negative else 0.45, wspace=0.3
        )
        for i, (g, h) in enumerate(
            (g, h) for g in groups for h in hemispheres
        ):
            for j, ref in enumerate(references):
                ax = taylor_axes(
                    fig,
                    gs[i, j],
                    rmax,
                    negative,
                    reference=reference_label(ref),
                    sigma_label=i == nrows - 1,
                )
                key = (g, h, ref)
                _draw_panel(ax, panels[key], ref_panels[key], "group", numbers)
                # Panels lettered row by row.
                set_title(
                    ax,
                    f"({chr(ord('a') + i * ncols + j)}) {g}-resolution models, {h}, "
                    f"vs {reference_label(ref)}",
                    fontsize=8,
                )
        _hemisphere_legend(
            fig, all_models, group_of, numbers, groups, ref_panels
        )
        fig.suptitle(
            f"Taylor diagrams of monthly {variable_label(variable)}, {period}, "
            f"hemispheric land means, standardised by each reanalysis"
        )
        return savefig(fig, out_stem, pdf=True)


def _hemisphere_panels(
    metrics, variable, group_of, groups, hemispheres, references
):
    """Return the points of each (group, hemisphere, reference) panel and the other references there.

    A panel holds the group's models (from *group_of*: model -> resolution
    group), then the MMEMs in :data:`MMEMS` order.
    """
    keep = {
        g: [d for d, gg in group_of.items() if gg == g] + list(MMEMS)
        for g in groups
    }
    panels, ref_panels = {}, {}
    for h in hemispheres:
        for ref in references:
            # One table per (hemisphere, reference), shared by the groups.
            pts, others = _split_references(
                taylor_points(metrics, variable, h, ref)
            )
            for g in groups:
                panels[(g, h, ref)] = _keep(pts, keep[g])
                ref_panels[(g, h, ref)] = others
    return panels, ref_panels


def _hemisphere_legend(fig, all_models, group_of, numbers, groups, ref_panels):
    """Add the legend of Figs. 7-8: the MMEMs, the numbered models, the groups' colours and the reference star."""
    handles = _legend_handles(list(MMEMS), "group") + _legend_handles(
        all_models, "group", group_of, numbers
    )
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker="s",
            markersize=6,
            markerfacecolor=GROUP_COLOURS[g],
            markeredgecolor="none",
            label=f"{g}-resolution model",
        )
        for g in groups
    ]
    _side_legend(fig, handles, ref_panels, 0.92)


def _side_legend(fig, handles, ref_panels, x: float):
    """Add *handles*, and the reference star if a panel of *ref_panels* has one, as a legend at *x* (figure fraction) right of the panels."""
    if any(len(p) for p in ref_panels.values()):
        handles = [*handles, Line2D([], [], **REFERENCE_HANDLE)]
    fig.legend(
        handles=handles,
        loc="center left",
        bbox_to_anchor=(x, 0.5),
        frameon=False,
        fontsize=6,
    )


def _draw_panel(
    ax, points, reference_points, color_by="dataset", numbers=None
):
    """Draw one diagram's points, the intervals of its MMEMs and the other references."""
    plot_points(ax, points, color_by, numbers)
    plot_intervals(ax, points[points["dataset"].isin(MMEMS)])
    plot_reference_points(ax, reference_points)


def plot_taylor_regions(
    metrics: pd.DataFrame,
    variable: str,
    out_stem,
    regions=NH_REGIONS,
    references=defaults.FIGURE_REFERENCES,
    datasets=None,
    period: str = defaults.PERIOD,
) -> list[Path]:
    """Fig. 9: one diagram per (reference, region); every model and the MMEMs.

    Parameters
    ----------
    datasets : sequence of str, optional
        Data sets to show (default: every model, then the MMEMs in the table).
    """
    if datasets is None:
        models = sorted(
            metrics.loc[metrics["kind"] == "model", "dataset"].unique(),
            key=str.lower,
        )
        datasets = models + [m for m in MMEMS if m in set(metrics["dataset"])]
    every = {
        (ref, reg): taylor_points(metrics, variable, reg, ref)
        for ref in references
        for reg in regions
    }
    panels = {key: _keep(points, datasets) for key, points in every.items()}
    ref_panels = {
        key: _split_references(points)[1] for key, points in every.items()
    }
    rmax, negative = _figure_scale([*panels.values(), *ref_panels.values()])
    ncols = 4
    rows_per_ref = -(-len(regions) // ncols)
    nrows = rows_per_ref * len(references)
    with mpl.rc_context(RC):
        fig = new_figure(
            (3.0 if negative else 2.5) * ncols + 2.2,
            (2.4 if negative else 2.6) * nrows + 0.6,
        )
        gs = fig.add_gridspec(
            nrows, ncols, hspace=0.85 if negative else 0.5, wspace=0.3
        )
        for a, ref in enumerate(references):
            for k, reg in enumerate(regions):
                i, j = a * rows_per_ref + k // ncols, k % ncols
                ax = taylor_axes(
                    fig,
                    gs[i, j],
                    rmax,
                    negative,
                    reference=reference_label(ref),
                    sigma_label=i == nrows - 1,
                )
                _draw_panel(ax, panels[(ref, reg)], ref_panels[(ref, reg)])
                set_title(
                    ax,
                    f"({chr(ord('a') + a)}{k + 1}) {reg} vs {reference_label(ref)}",
                    fontsize=8,
                )
        _regions_legend_and_title(
            fig, variable, period, references, datasets, ref_panels
        )
        return savefig(fig, out_stem, pdf=True)


def _regions_legend_and_title(
    fig, variable, period, references, datasets, ref_panels
):
    """Add the legend (data sets, and the reference star if drawn) and the title of Fig. 9."""
    _side_legend(fig, _legend_handles(datasets), ref_panels, 0.91)
    fig.suptitle(
        f"Taylor diagrams of monthly {variable_label(variable)}, {period}, "
        f"Northern Hemisphere regions: (a) vs {reference_label(references[0])}"
        + (
            f", (b) vs {reference_label(references[1])}"
            if len(references) > 1
            else ""
        )
    )


#: Colours and markers of the flux variables in Fig. 10.
FLUX_STYLES = {
    "pr": ("#2166ac", "o"),
    "evspsbl": ("#b2182b", "s"),
    "mrros": ("#1b7837", "^"),
    "snm": ("#762a83", "D"),
}


#: The fluxes of Fig. 10 and its regions (the Tibetan Plateau and Siberia).
FLUX_VARIABLES, FLUX_REGIONS = (
    ("pr", "evspsbl", "mrros", "snm"),
    ("TIB", "SIB"),
)


def plot_taylor_fluxes(
    metrics: pd.DataFrame,
    out_stem,
    variables=FLUX_VARIABLES,
    regions=FLUX_REGIONS,
    references=defaults.FIGURE_REFERENCES,
    dataset: str = "CMIP6-MMEM",
    period: str = defaults.PERIOD,
) -> list[Path]:
    """Fig. 10: *dataset* for each flux over each region against each reference.

    Rows: references; columns: regions; one point per variable (colour and
    marker of :data:`FLUX_STYLES`), labelled with the variable.
    """
    panels = {
        (ref, reg): _flux_points(metrics, variables, reg, ref, dataset)
        for ref in references
        for reg in regions
    }
    rmax, negative = _figure_scale(panels.values())
    with mpl.rc_context(RC):
        fig = new_figure(
            (3.6 if negative else 3.0) * len(regions) + 1.6,
            (2.9 if negative else 3.0) * len(references) + 0.5,
        )
        gs = fig.add_gridspec(
            len(references),
            len(regions),
            hspace=0.85 if negative else 0.45,
            wspace=0.3,
        )
        for i, ref in enumerate(references):
            for j, reg in enumerate(regions):
                ax = taylor_axes(
                    fig,
                    gs[i, j],
                    rmax,
                    negative,
                    reference=reference_label(ref),
                    sigma_label=i == len(references) - 1,
                )
                _plot_flux_points(ax, panels[(ref, reg)])
                set_title(
                    ax,
                    f"({chr(ord('a') + j)}) {reg}: {dataset} vs {reference_label(ref)}",
                    fontsize=8,
                )
        fig.legend(
            handles=_flux_handles(variables),
            loc="center left",
            bbox_to_anchor=(0.93, 0.5),
            frameon=False,
        )
        fig.suptitle(
            f"Taylor diagrams of monthly water fluxes, {period}, regional means: "
            f"{dataset} against each reanalysis"
        )
        return savefig(fig, out_stem, pdf=True)


def _flux_points(metrics, variables, region, reference, dataset):
    """Return R and sigma of *dataset* for each of *variables* the table has (columns variable, dataset, R, sigma)."""
    rows = []
    for var in variables:
        p = taylor_points(metrics, var, region, reference, [dataset])
        if len(p):
            rows.append(
                {
                    "variable": var,
                    "dataset": dataset,
                    "R": p["R"].iloc[0],
                    "sigma": p["sigma"].iloc[0],
                }
            )
    return pd.DataFrame(rows, columns=["variable", "dataset", "R", "sigma"])


def _plot_flux_points(ax, points):
    """Draw one marker per variable of *points*, in the colour and marker of :data:`FLUX_STYLES`."""
    for row in points.itertuples(index=False):
        color, marker = FLUX_STYLES.get(row.variable, ("0.3", "o"))
        x, y = to_xy(row.R, row.sigma)
        ax.plot(
            [x],
            [y],
            linestyle="none",
            marker=marker,
            markersize=7,
            markerfacecolor=color,
            markeredgecolor="black",
            markeredgewidth=0.5,
            zorder=6,
            label=row.variable,
            gid="point",
            clip_on=False,
        )


def _flux_handles(variables):
    """Return the legend handles of Fig. 10: one per variable."""
    return [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=FLUX_STYLES.get(v, ("0.3", "o"))[1],
            markerfacecolor=FLUX_STYLES.get(v, ("0.3", "o"))[0],
            markeredgecolor="black",
            markersize=6,
            label=variable_label(v),
        )
        for v in variables
    ]
