"""The metrics table of the evaluation (SPEC sections 4-5; docs/results.md).

Reads the regional series written by the ``regional_series`` scripts it
descends from, forms the member -> model -> family -> CMIP6-MMEM means (and
MMEM-high, MMEM-low), computes R, sigma, E' and TSS of every model, family
and ensemble mean against every reference, in every region, and writes
``metrics.csv`` (tidy), ``metrics_cmec.json`` (its CMEC metric bundle),
``annual_cycle.csv``, ``ranking.csv``, ``robust_ranking.csv``, ``excluded.csv`` and ``members.csv``.

Script options (recipe)
-----------------------
references : list of str, default [ERA5, ERA-Interim, GLDAS-NOAH]
    Reference data sets, in the report's order; each model is evaluated
    against each.
r0 : float, default 1
    R0 of the Taylor skill score.
tss_threshold : float, default 0.6
    TSS above which a model reproduces a region.
high_resolution_min_nlat : int, default 160
    Native latitude rows from which a model is high resolution (in
    CMIP6-MMEM-high).
period : str, default "1979-2014"
    Period named in captions.
bootstrap : dict, default {level: 0.90, block_years: 2, resamples: 1000, seed: 20220201, top: 5}
    Moving-block bootstrap over whole years (SPEC section 8;
    ``smeval.core.bootstrap.BootstrapOptions``): level of the percentile
    intervals, block length in years, number of resamples, seed, and the
    size of the top of the robust ranking.
ranking_references : list of str, default [ERA5, GLDAS-NOAH]
    References of the robust ranking (summed over).

Options are checked before any data is read: unknown keys (with the closest
name), ranges (0 < tss_threshold < 1, -1 < r0 <= 1); every reference must
be an observation data set of the run. An observation data set that is not
a reference is never evaluated as a model (listed in ``excluded.csv``);
series in units not convertible to their variable's are excluded too
(convertible ones are converted with cf_units). Inputs that
ESMValCore skipped (``skip_nonexistent``) are listed with its reason, and
``members.csv`` counts the members of each model and variable.

Besides the point statistics, the table has each reference against every
other (kind ``reference``), the intervals ``<statistic>_ci_low`` /
``_ci_high`` and TSS(CMIP6-MMEM-high) - TSS(CMIP6-MMEM-low) (kind
``difference``); ``robust_ranking.csv`` has each model's P(top five) and rank
interval (docs/results.md).

Families are the ``family`` facets of the models in the recipe, carried by
the series files (a model without one: the catalogue's family).
"""

from __future__ import annotations

from smeval.diag.metrics import write_metrics

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        write_metrics(config)
