"""The metrics table: Taylor statistics of every data set, and the queries on it.

:mod:`smeval.metrics.series` aligns regional-mean monthly series on one
month axis; :mod:`smeval.metrics.table` turns them into the tidy table of
``docs/results.md`` and answers every summary (TSS matrices, counts above the
threshold, rankings) as a query on that table, never by a second computation.
"""
