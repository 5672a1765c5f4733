"""Figures of Qiao, Zuo and Xiao (2022), Figs. 1-14 (SPEC section 6).

Plotting reads results only (the tidy tables of ``docs/results.md`` and
fields on the common grid); it computes no statistics.
"""
