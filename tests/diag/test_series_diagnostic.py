"""The regional-series diagnostic and what it hands on to the metrics.

It reports, never extrapolates: a data set whose soil layers stop above 2 m
gets no deep series and an exclusion row, while its shallow series (derived
from the layers) is written with the known value. Its series files carry the
recipe's `family` facet, the family map of the metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import iris

from smeval import cmorio
from smeval.diag.series import write_regional_series


def _mrsol(path, bounds, values):
    lat = np.arange(-88.0, 90.0, 4.0)
    lon = np.arange(0.0, 360.0, 5.0)
    tp, tb = cmorio.monthly_time_axis(1980, 1980, "standard")
    data = np.broadcast_to(np.asarray(values, float)[None, :, None, None],
                           (len(tp), len(values), len(lat), len(lon))).copy()
    attrs = cmorio.cmip6_global_attributes(source_id="SHALLOW-1", institution_id="TEST",
                                           variant_label="r1i1p1f1", grid_label="gn",
                                           table_id="Emon", variable_id="mrsol")
    return cmorio.write_variable(path, data, project="CMIP6", mip="Emon", short_name="mrsol", lat=lat,
                                 lon=lon, time_points=tp, time_bounds=tb, depth_bounds=np.asarray(bounds),
                                 attributes=attrs)


def test_shallow_layers_excluded_from_deep_but_give_shallow(tmp_path):
    # Layers 0-0.1, 0-0.5 and 0.5-1.5 m hold 10, 40, 100 kg m-2: 0-0.1 m is
    # 10 kg m-2 everywhere, and 2 m is never reached.
    path = _mrsol(tmp_path / "mrsol.nc", [[0, 0.1], [0.1, 0.5], [0.5, 1.5]], [10.0, 40.0, 100.0])
    meta = {"dataset": "SHALLOW-1", "project": "CMIP6", "ensemble": "r1i1p1f1", "short_name": "mrsol",
            "mip": "Emon", "timerange": "1980/1980", "long_name": "soil moisture", "units": "kg m-2"}
    cfg = {"input_data": {str(path): meta}, "work_dir": str(tmp_path / "work"),
           "run_dir": str(tmp_path / "run"), "shallow_from_mrsol": True}
    (tmp_path / "work").mkdir()
    (tmp_path / "run").mkdir()
    written = write_regional_series(cfg)

    assert [p.parent.name for p in written] == ["sm_shallow"]
    shallow = iris.load_cube(str(written[0]))
    assert np.allclose(shallow.data, 10.0)
    excluded = pd.read_csv(tmp_path / "work" / "excluded.csv")
    row = excluded[(excluded.dataset == "SHALLOW-1") & (excluded.variable == "sm_deep")]
    assert len(row) == 1
    assert "1.5 m" in row.reason.item() and "2 m" in row.reason.item()


def test_series_carry_the_recipe_family_to_the_metrics(tmp_path):
    # The `family` facet of the recipe travels with the series file; without a
    # facet the catalogue's family (or the data set's own name) is used.
    from smeval.diag.evaluate import read_series
    from smeval.diag.shared import family_of

    path = _mrsol(tmp_path / "mrsol.nc", [[0, 0.1], [0.1, 1.0], [1.0, 3.0]], [10.0, 40.0, 100.0])
    meta = {"dataset": "SHALLOW-1", "project": "CMIP6", "ensemble": "r1i1p1f1", "short_name": "mrsol",
            "mip": "Emon", "timerange": "1980/1980", "long_name": "soil moisture", "units": "kg m-2",
            "family": "TESTFAM"}
    cfg = {"input_data": {str(path): meta}, "work_dir": str(tmp_path / "work"),
           "run_dir": str(tmp_path / "run"), "shallow_from_mrsol": True}
    (tmp_path / "work").mkdir()
    (tmp_path / "run").mkdir()
    write_regional_series(cfg)
    series, _, _ = read_series([tmp_path / "work"])
    assert {s.variable for s in series} == {"sm_shallow", "sm_deep"}
    assert {s.family for s in series} == {"TESTFAM"}
    assert family_of({"dataset": "CNRM-CM6-1-HR"}) == "CNRM"
    assert family_of({"dataset": "NOT-IN-TABLE-1"}) == "NOT-IN-TABLE-1"


def test_correlation_refuses_a_multi_model_mean_without_family(tmp_path):
    # ESMValCore groups every model without a `family` facet into one mean: refuse it, naming the file.
    import pytest

    from smeval.diag.fields import correlation_fields

    meta = {"dataset": "MultiModelMean", "project": "CMIP6", "short_name": "mrsos",
            "multi_model_statistics": "MultiModelMean"}
    cfg = {"input_data": {str(tmp_path / "mm.nc"): meta}, "work_dir": str(tmp_path), "run_dir": str(tmp_path)}
    with pytest.raises(ValueError, match="mm.nc.*without a `family` facet"):
        correlation_fields(cfg)
