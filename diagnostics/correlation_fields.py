"""Correlation maps of shallow soil moisture with P - E (Fig. 11 of Qiao et al. 2022).

Input: the monthly fields that ESMValCore preprocessed for the regional
series (ancestors ``soil_moisture/mrsos``, ``water_budget/pr`` and
``water_budget/evspsbl``, one file per member), so that they are read and
decoded once for both. The script applies the steps of its
``correlation_steps`` option to them, one data set at a time:
each model's ensemble mean (``ensemble_statistics``), then ``regrid`` to the
common grid; references are only regridded. Series are matched by (year,
month), so model calendars do not matter. CMIP6-MMEM is the mean over
families of the mean over each family's models, read one data set at a time.
Output: ``correlation_<dataset>.nc`` with ``r``, ``p_value``,
``significant`` (each cell's own test) and ``significant_fdr`` (the cells
that survive the false discovery rate control) per grid cell, and ``excluded.csv`` if the steps could not
combine a data set's members.

Script options (recipe)
-----------------------
correlation_steps : mapping, default {ensemble_statistics: {statistics: [mean]},
        regrid: {target_grid: 1.125x1.125, scheme: {reference: "smeval.regrid:AreaWeighted"}}}
    Steps of the correlation branch, in order: ensemble mean, regrid;
    preprocessor functions (of ESMValCore or ``smeval.preprocessor``) and
    their options, applied in order;
    ``ensemble_statistics`` (one statistic) is the only multi-data-set step.
    Checked against the functions' signatures before any data is read.
significance_level : float, default 0.95
    Confidence level of the two-sided t test.
significance_method : str, default "t-test"
    Significance test of each cell: ``t-test`` (n - 2 degrees of freedom) or
    ``effective-sample-size``
    (n from the lag-1 autocorrelations, Bretherton et al. 1999).
fdr_alpha : float or null, default 0.10
    Field significance: Benjamini-Hochberg control of the false discovery
    rate at this alpha_FDR, over the p-values of all land cells of a map
    (Wilks 2016), written as ``significant_fdr``; null leaves it out.
references, r0, tss_threshold, high_resolution_min_nlat, period
    The evaluation options of the metrics script (the recipe passes them to
    every evaluation script). Families are the models' ``family`` facets.

Options are checked before any data is read (unknown keys, ranges); an
error is one line in the terminal of ``esmvaltool``. Members whose units or
sampled values (first, middle and last time steps) fail the checks of the
regional series are left out, in ``excluded.csv``.
"""

from smeval.diag.correlation_fields import correlation_fields

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        correlation_fields(config)
