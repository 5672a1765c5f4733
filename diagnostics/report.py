"""The HTML report of a run (smeval/report; docs/results.md).

ESMValCore runs this script last in the ``evaluation`` diagnostic. Its
ancestors are ``skill/metrics`` (required: the metrics table),
``skill/figures``, ``evaluation/figures_maps``, ``evaluation/figures_correlation``,
``maps/climatology_fields`` and ``correlation/correlation_fields``. It writes ``plot_dir/smeval_report.html``,
its provenance record and the run's CMEC output bundle
``work_dir/cmec_output.json`` (the report, every figure and data file of the
run with its caption; smeval/report/bundle.py). Link it from the run's ``index.html`` afterwards
with ``smeval report link RUN_DIR`` (``make demo`` does it).

Script options (recipe)
-----------------------
tss_threshold : float, default 0.6
    TSS above which a model reproduces a region (cells above it are marked
    in the TSS table); where the recipe omits it, the metrics script's.
ranking_references : list of str, default [ERA5, GLDAS-NOAH]
    References of rankings and counts, and of the main messages (those
    present in the metrics table; all of them if none is).
n_top : int, default 3
    Number of best and of weakest models named in the summary.
period : str, default "1979-2014"
    Period named in captions and in the report; where the recipe omits it,
    the metrics script's.
r0 : float, default 1
    R0 of the Taylor skill score, as named in the report; where the recipe
    omits it, the metrics script's.
references, high_resolution_min_nlat
    The evaluation options of the metrics script (``ranking_references``
    must be among ``references``).

Options are checked before the report is built; an error is one line in
the terminal of ``esmvaltool``.
"""

from __future__ import annotations

from smeval.diag.report import write_report

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        write_report(config)
