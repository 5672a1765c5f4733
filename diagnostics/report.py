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
tss_threshold : float, default: that of the metrics script (0.6)
    A model reproduces a region when its TSS exceeds it (cells above it are
    marked in the TSS table).
ranking_references : list of str, default [ERA5, GLDAS-NOAH]
    References of the rankings, counts and main messages (those present in
    the metrics table; all of them if none is).
n_top : int, default 3
    Number of best and of weakest models named in the summary.
period : str, default: that of the metrics script
    Period named in the report, e.g. "1979-2014".
r0 : float, default: that of the metrics script (1)
    R0 of the TSS, as named in the report.
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
