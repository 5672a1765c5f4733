"""Figures of Qiao, Zuo and Xiao (2022), Figs. 1-14 (SPEC section 6).

Plotting reads results only (the tidy tables of ``docs/results.md`` and
fields on the common grid); it computes no statistics. Every function saves
a PNG (plus a PDF for Fig. 1, Taylor diagrams, heat maps and counts) and
returns the paths.

| fig | function |
|---|---|
| 1 | :func:`plot_regions` |
| 2, 3 | :func:`plot_climatology_bias` (or :func:`plot_field_panels`) |
| 4 | :func:`plot_flux_maps` |
| 5, 6 | :func:`plot_annual_cycles` |
| 7, 8 | :func:`plot_taylor_hemispheres` |
| 9 | :func:`plot_taylor_regions` |
| 10 | :func:`plot_taylor_fluxes` |
| 11 | :func:`plot_correlation_maps` |
| 12, 13 | :func:`plot_tss_heatmap` |
| 14 | :func:`plot_tss_counts` |
"""

from .counts import plot_tss_counts
from .cycles import plot_annual_cycles
from .heatmap import draw_tss_matrix, plot_tss_heatmap, tss_pivot
from .maps import (
    coastlines,
    plot_climatology_bias,
    plot_correlation_maps,
    plot_field_panels,
    plot_flux_maps,
    plot_regions,
)
from .style import dataset_style, savefig
from .taylor import (
    plot_taylor,
    plot_taylor_fluxes,
    plot_taylor_hemispheres,
    plot_taylor_regions,
    taylor_points,
)

__all__ = [
    "coastlines",
    "dataset_style",
    "draw_tss_matrix",
    "plot_annual_cycles",
    "plot_climatology_bias",
    "plot_correlation_maps",
    "plot_field_panels",
    "plot_flux_maps",
    "plot_regions",
    "plot_taylor",
    "plot_taylor_fluxes",
    "plot_taylor_hemispheres",
    "plot_taylor_regions",
    "plot_tss_counts",
    "plot_tss_heatmap",
    "savefig",
    "taylor_points",
    "tss_pivot",
]
