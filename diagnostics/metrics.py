"""The metrics table of the evaluation (SPEC sections 4-5; docs/results.md).

Reads the regional series written by the ``regional_series`` scripts it
descends from, forms the member -> model -> family -> CMIP6-MMEM means (and
MMEM-high, MMEM-low), computes R, sigma, E' and TSS of every model, family
and ensemble mean against every reference, in every region, and writes
``metrics.csv`` (tidy), ``metrics_cmec.json`` (its CMEC metric bundle),
``annual_cycle.csv``, ``ranking.csv`` and ``excluded.csv``.

Script options (recipe)
-----------------------
references : list of str, default [ERA5, ERA-Interim, GLDAS-NOAH]
r0 : float, default 1
    R0 of the Taylor skill score.
tss_threshold : float, default 0.6
    A model "reproduces" a region when TSS exceeds it.
high_resolution_min_nlat : int, default 160
    Native latitude rows from which a model is in the high-resolution group.

Families are the ``family`` facets of the models in the recipe, carried by
the series files (a model without one: the catalogue's family).
"""

from __future__ import annotations

from smeval.diag.evaluate import write_metrics

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        write_metrics(config)
