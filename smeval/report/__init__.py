"""smeval's HTML report: one self-contained page per run.

The report answers "which models simulate soil moisture well, where, and
against which reanalysis" at a glance, and leads to every figure and number.

Where it comes from
-------------------
``diagnostics/report.py`` (the last script of the recipe's ``evaluation``
diagnostic, ancestors ``skill/metrics``, ``skill/figures``, ``evaluation/figures_maps``,
``evaluation/figures_correlation``, ``maps/climatology_fields`` and ``correlation/correlation_fields``) writes
``plot_dir/smeval_report.html`` (:data:`locate.REPORT_NAME`) with its
provenance record. It reads only what docs/results.md names
(:mod:`.inputs`; the page is assembled by :mod:`smeval.diag.report`, the
script's module): the metrics table and ``excluded.csv``, the provenance
records of its ancestors (figures, captions, data files), the ``synthetic``
global attribute of their NetCDF files and of the regional series, the
metrics settings and the filled recipe. Every number is a query of the
metrics table (:mod:`smeval.metrics.table`, via :mod:`.summary`). The page
is rendered by :mod:`.render` (jinja2, autoescaping on) from
``reports/report.html.j2`` with ``report.css`` and ``report.js`` inlined: no
network, and figures and data are linked by paths relative to the page, so it
works from the file system and after the run folder is copied elsewhere.

Sections: summary (data sets, period, best and weakest models, main
messages), one section per figure group (regions, maps, annual cycles, Taylor
diagrams, skill) with captions and links to the data behind each figure, the
sortable and filterable TSS table, the counts of Fig. 14 and the top five,
excluded data sets, the data files, recipe and software versions, references.
A red banner says so whenever an input was synthetic.

The link from ESMValCore's index.html
-------------------------------------
ESMValCore writes the run's ``index.html`` at the very end of a run, after
every diagnostic, from autoescaped templates that list only .png and .nc
outputs, so a diagnostic cannot add a link to it. :func:`locate.link_index`
inserts one afterwards, near the top of the page (right after ``<body>``),
between the markers :data:`locate.LINK_START` and :data:`locate.LINK_END`;
running it again replaces that block, so the link is never duplicated. It
runs in ``python -m smeval.report.locate OUTPUT_DIR [RECIPE]`` (which
``make demo`` calls after ``esmvaltool run``) and in
``smeval report link RUN_DIR`` (:mod:`.cli`).
"""
