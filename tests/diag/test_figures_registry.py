"""The registry of the paper's figures (smeval.diag.figures.FIGURES)."""

from __future__ import annotations

import string

import pytest

from smeval.diag.figures import ALL_FIGURES, FIGURES, FiguresOptions, read_results


def test_one_entry_per_figure_of_the_paper_named_after_its_number():
    assert [f.number for f in FIGURES] == list(ALL_FIGURES)
    assert all(f.stem.startswith(f"fig{f.number:02d}_") for f in FIGURES)
    assert len({f.stem for f in FIGURES}) == len(FIGURES)


def test_caption_templates_name_only_known_fields():
    # Fields every caption may use, and those the queries add (see each query's FigureData).
    common = {"period", "threshold", "r0", "refs", "n_regions"}
    from_data = {"label", "units", "shown", "against", "grid", "sure", "methods"}
    for figure in FIGURES:
        for template in filter(None, (figure.caption, figure.data_caption)):
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert names <= common | from_data, (figure.label, names - common - from_data)


def test_figures_of_the_metrics_table_need_it(tmp_path):
    # Maps only: no metrics table needed.
    assert read_results(FiguresOptions(figures=(1, 2, 11)), [tmp_path]).metrics.empty
    with pytest.raises(FileNotFoundError, match=r"needed by Figs. \[5, 14\]"):
        read_results(FiguresOptions(figures=(1, 5, 14)), [tmp_path])
