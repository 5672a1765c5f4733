"""The registry of the paper's figures (smeval.diag.figures.FIGURES)."""

from __future__ import annotations

import string

import pytest

from smeval.diag.figures import (
    ALL_FIGURES,
    FIGURES,
    FiguresOptions,
    read_results,
)


def test_one_entry_per_figure_of_the_paper_named_after_its_number():
    assert [f.number for f in FIGURES] == list(ALL_FIGURES)
    assert all(f.stem.startswith(f"fig{f.number:02d}_") for f in FIGURES)
    assert len({f.stem for f in FIGURES}) == len(FIGURES)


def test_caption_templates_name_only_known_fields():
    # Fields every caption may use, and those the queries add (see each query's FigureData).
    common = {"period", "threshold", "r0", "refs", "n_regions"}
    from_data = {
        "label",
        "units",
        "shown",
        "against",
        "grid",
        "sure",
        "methods",
    }
    for figure in FIGURES:
        for template in filter(None, (figure.caption, figure.data_caption)):
            names = {
                name
                for _, name, _, _ in string.Formatter().parse(template)
                if name
            }
            assert names <= common | from_data, (
                figure.label,
                names - common - from_data,
            )


def test_figures_of_the_metrics_table_need_it(tmp_path):
    # Maps only: no metrics table needed.
    assert read_results(
        FiguresOptions(figures=(1, 2, 11)), [tmp_path]
    ).metrics.empty
    with pytest.raises(FileNotFoundError, match=r"needed by Figs. \[5, 14\]"):
        read_results(FiguresOptions(figures=(1, 5, 14)), [tmp_path])


def test_fields_of_a_file_come_in_panel_order_whatever_the_file_order(
    tmp_path,
):
    # The panels follow the figures' order, not the order of the data sets in the file.
    import iris
    import iris.coords
    import iris.cube
    import numpy as np

    from smeval.diag.map_fields import datasets_cube

    names = ["CMIP6-MMEM", "GLDAS-NOAH", "OTHER", "ERA-Interim", "ERA5"]
    template = iris.cube.Cube(
        np.zeros((2, 3), np.float32),
        dim_coords_and_dims=[
            (iris.coords.DimCoord([0.0, 1.0], "latitude", units="degrees"), 0),
            (
                iris.coords.DimCoord(
                    [0.0, 1.0, 2.0], "longitude", units="degrees"
                ),
                1,
            ),
        ],
    )
    iris.save(
        datasets_cube(
            dict.fromkeys(names, template.data),
            template,
            "sm_shallow",
            "kg m-2",
            "test",
            False,
        ),
        tmp_path / "climatology_sm_shallow.nc",
    )
    results = read_results(FiguresOptions(figures=(2,)), [tmp_path])
    assert results.panel_order == (
        "ERA5",
        "GLDAS-NOAH",
        "ERA-Interim",
        "CMIP6-MMEM",
    )
    assert list(results.fields("climatology_sm_shallow.nc")) == [
        "ERA5",
        "GLDAS-NOAH",
        "ERA-Interim",
        "CMIP6-MMEM",
        "OTHER",
    ]
    assert results.fields("climatology_sm_deep.nc") == {}
