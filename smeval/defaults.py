"""The paper's choices that several scripts, figures and the report share.

One home for each: the options dataclasses (``smeval/diag/metrics.py``,
``figures.py``, ``report.py``) take their defaults from here,
and so do the default arguments of the metrics and plotting functions, so a
recipe option and a function called without it agree (SPEC sections 1-6).
"""

#: The reanalyses every model is evaluated against, in the report's order.
REFERENCES = ("ERA5", "ERA-Interim", "GLDAS-NOAH")
#: References of the paper's figures, rankings and counts (Figs. 7-10, 12-14).
FIGURE_REFERENCES = ("ERA5", "GLDAS-NOAH")
#: TSS above which a model is said to reproduce a region (dimensionless).
TSS_THRESHOLD = 0.6
#: Maximum attainable correlation R0 of the Taylor skill score (dimensionless).
R0 = 1.0
#: First and last year of the evaluation (the recipe's timerange).
FIRST_YEAR, LAST_YEAR = 1979, 2014
#: The period as captions name it.
PERIOD = f"{FIRST_YEAR}-{LAST_YEAR}"
#: Spacing of the common grid of the maps and correlations, degrees.
COMMON_GRID_DEGREES = 1.125
#: The common grid as ESMValCore's ``regrid`` names it.
COMMON_GRID = f"{COMMON_GRID_DEGREES}x{COMMON_GRID_DEGREES}"
