"""The figures of Qiao et al. (2022), Figs. 1-14, from the results of the run.

Reads the metrics table, annual cycles and fields written by the ``metrics``,
``climatology_fields`` and ``correlation_fields`` scripts it descends from,
and writes each figure (PNG; PDF too for Taylor diagrams and heat maps) with
the data behind it (CSV in the work folder, or the NetCDF fields) and a
provenance record (docs/results.md). Counts and rankings are queries on the
metrics table.

Script options (recipe)
-----------------------
figures : list of int, default [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    The paper's figure numbers to draw (the recipe runs three
    instances, each as soon as its inputs exist: the figures of the metrics
    table, the maps, and the correlation maps).
figure_references : list of str, default [ERA5, GLDAS-NOAH]
    References of Figs. 7-10, 12-14: those shown in the Taylor diagrams,
    heat maps and counts (the paper's choice; the metrics table holds all
    references).
significance_level : float, default 0.95
    Confidence level named in the correlation maps' captions.
references, r0, tss_threshold, high_resolution_min_nlat, period
    The evaluation options of the metrics script (used in captions and
    counts; ``figure_references`` must be among ``references``).

Options are checked before any data is read (unknown keys, ranges); an
error is one line in the terminal of ``esmvaltool``.
"""

from smeval.diag.figures import write_figures

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        write_figures(config)
