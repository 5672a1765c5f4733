"""Correlation maps of shallow soil moisture with P - E (Fig. 11 of Qiao et al. 2022).

Input: monthly fields on the common grid: each model's ensemble mean
(ESMValCore ``ensemble_statistics`` then ``regrid``) and each reference, of
``mrsos``, ``pr`` and ``evspsbl``. Series are matched by (year, month), so
model calendars do not matter. CMIP6-MMEM is the mean over families of the
mean over each family's models, read one data set at a time. Output:
``correlation_<dataset>.nc`` with ``r``, ``p_value`` and ``significant`` per
grid cell.

Script options (recipe)
-----------------------
significance_level : float, default 0.95
    Confidence level of the two-sided t test.
significance_method : str, default "t-test"
    ``t-test`` (n - 2 degrees of freedom) or ``effective-sample-size``
    (n from the lag-1 autocorrelations, Bretherton et al. 1999).
references, period
    As for the other diagnostics. Families are the models' ``family`` facets.
"""

from smeval.diag.fields import correlation_fields

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        correlation_fields(config)
