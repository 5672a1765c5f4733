"""File names of the scripts' outputs: one home for their writers and readers.

The metrics script (``diagnostics/metrics.py``) writes the tables in its work
folder; the figures, the report and Climate-REF read them from there.
"""

#: The tidy metrics table (R, sigma, E', TSS per data set, reference, variable, region).
METRICS = "metrics.csv"
#: The CMEC metric bundle of the metrics table.
METRIC_BUNDLE = "metrics_cmec.json"
#: Regional mean annual cycles.
ANNUAL_CYCLE = "annual_cycle.csv"
#: Ranking of the models by TSS.
RANKING = "ranking.csv"
#: P(top five) and rank interval of each model.
ROBUST_RANKING = "robust_ranking.csv"
#: Inputs left out of the run, with the reason (written by every script that excludes).
EXCLUDED = "excluded.csv"
#: Members of each model and variable in its mean.
MEMBERS = "members.csv"
#: The CMEC output bundle (in the report script's work folder).
OUTPUT_BUNDLE = "cmec_output.json"
#: The metrics script's tables, in the order the report links them.
METRICS_FILES = (
    METRICS,
    METRIC_BUNDLE,
    RANKING,
    ROBUST_RANKING,
    ANNUAL_CYCLE,
    EXCLUDED,
)
