"""Climatology and bias-ratio maps (Figs. 2-4 of Qiao et al. 2022).

Input: each member's 1979-2014 climatology on the common grid, written by
the ancestor ``regional_series`` scripts (their ``map_steps`` option:
``climate_mean``, ESMValCore's ``regrid`` and ``mask_landsea`` applied to
the data read for the series): ``mrsos``, ``pr``, ``evspsbl`` and ``mrros``,
and for ``mrsol`` its depth columns ``sm_deep`` (0-2 m) and, for models
without ``mrsos``, ``sm_shallow`` (0-10 cm), as the series use them.
Output (docs/results.md): ``climatology_<var>.nc`` with CMIP6-MMEM
(members -> model -> family -> MMEM) and each reference, and
``bias_ratio_<var>.nc`` = (MMEM - reference) / MMEM per reference, for soil
moisture (kg m-2) and for P, E, R, P - E and P - E - R (mm per Julian year
of 365.25 days, ``mm Julian_year-1``), each one variable with a ``dataset``
coordinate.

Script options (recipe)
-----------------------
bias_ratio_min : mapping, default {sm_shallow: 1, sm_deep: 10, pr: 10, evspsbl: 10,
        mrros: 5, pme: 10, pmer: 10}
    |MMEM| below which a bias ratio is masked, per variable, in kg m-2 (soil
    moisture), mm Julian_year-1 (fluxes); a variable left out keeps its default.
period : str, default "1979-2014"
    Period named in captions.
references, r0, tss_threshold, high_resolution_min_nlat
    The evaluation options of the metrics script (the recipe passes them to
    every evaluation script). Families are the models' ``family`` facets.

Options are checked before any data is read (unknown keys, ranges); an
error is one line in the terminal of ``esmvaltool``.
"""

from smeval.diag.climatology_fields import climatology_fields

if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        climatology_fields(config)
