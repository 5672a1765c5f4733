"""Correlation maps of shallow soil moisture with P - E (Fig. 11 of Qiao et al. 2022).

Input: each data set's monthly fields of ``mrsos``, ``pr`` and ``evspsbl``
on the common grid, a model's ensemble mean or a reference's own field,
which the regional-series scripts (ancestors ``soil_moisture/regional_series``
and ``water_budget/regional_series``) computed with their
``correlation_steps`` from the same read as the series
(``ensemble_fields/<short_name>/<dataset>.nc`` in their work folders). Series are matched by (year,
month), so model calendars do not matter. CMIP6-MMEM is the mean over
families of the mean over each family's models. A map is computed a band
of grid rows at a time, each band's fields read for the whole period (at
most ``smeval.core.correlation.BLOCK_BYTES`` of float64 each), so memory
grows neither with the years nor with the models.
Output: ``correlation_<dataset>.nc`` with ``r``, ``p_value``,
``significant`` (each cell's own test) and ``significant_fdr`` (the cells
that survive the false discovery rate control) per grid cell. A data set
is in the maps only if it has all three fields.

Script options (recipe)
-----------------------
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
error is one line in the terminal of ``esmvaltool``. Members that fail the
checks of the regional series are not in the means; the series scripts
list them, and data sets whose members could not be combined, in their
``excluded.csv``.
"""

from smeval.diag.correlation_fields import correlation_fields

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        correlation_fields(config)
