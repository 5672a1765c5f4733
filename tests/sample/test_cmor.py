"""The tiny archive loads through ESMValCore (fixes + CMOR checks) without a warning."""

from __future__ import annotations

import logging
import warnings

import pytest

from smeval.catalogue import FX_VARIABLES, VARIABLE_TABLES, load_catalogue
from smeval.sample.generate import (
    OBS6_NAMES,
    OBS6_VARIABLES,
    SCALES,
    esmvalcore_data_config,
)

TINY_MODELS = SCALES["tiny"].models


@pytest.fixture(scope="module")
def session(tiny_archive):
    from esmvalcore.config import CFG

    sess = CFG.start_session("smeval-sample-test")
    for project, cfg in esmvalcore_data_config(tiny_archive).items():
        sess["projects"][project]["data"] = cfg["data"]
    assert sess["check_level"].name == "DEFAULT"
    return sess


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _load_quietly(dataset):
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cube = dataset.load()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    messages = [r.getMessage() for r in handler.records] + [
        str(w.message) for w in caught
    ]
    return cube, messages


def _cases():
    cat = load_catalogue()
    for name in TINY_MODELS:
        model = cat.models[name]
        for var in (*model.variables, *FX_VARIABLES):
            yield name, var


@pytest.mark.parametrize(("model", "short_name"), list(_cases()))
def test_model_variable_loads_without_warnings(session, model, short_name):
    from esmvalcore.dataset import Dataset

    cat = load_catalogue()
    entry = cat.models[model]
    mip = "fx" if short_name in FX_VARIABLES else VARIABLE_TABLES[short_name]
    facets = {
        "short_name": short_name,
        "mip": mip,
        "project": "CMIP6",
        "dataset": model,
        "ensemble": entry.variant_label(1),
        "exp": "historical",
        "grid": entry.grid.label,
    }
    if mip != "fx":
        facets["timerange"] = "1979/1981"
    ds = Dataset(**facets)
    ds.session = session
    cube, messages = _load_quietly(ds)
    assert messages == []
    assert cube.var_name == short_name
    if mip != "fx":
        assert cube.coord("time").shape == (36,)
        assert cube.coord("time").units.calendar in (
            entry.calendar,
            "standard",
        )
    if short_name == "mrsol":
        depth = cube.coord("depth")
        assert depth.bounds[-1, 1] == pytest.approx(entry.land_model.depth)
        assert depth.shape[0] == entry.land_model.layer_bounds.shape[0]
    if short_name == "mrsos":
        assert cube.coord("depth").points[0] == pytest.approx(0.05)
        assert cube.coord("depth").bounds.tolist() == [[0.0, 0.1]]


@pytest.mark.parametrize("name", list(OBS6_NAMES))
@pytest.mark.parametrize("short_name", list(OBS6_VARIABLES))
def test_obs6_loads_without_warnings(session, name, short_name):
    from esmvalcore.dataset import Dataset

    ds = Dataset(
        short_name=short_name,
        mip=OBS6_VARIABLES[short_name],
        project="OBS6",
        dataset=OBS6_NAMES[name],
        tier=3,
        type="reanaly",
        version="1",
        timerange="1979/1981",
    )
    ds.session = session
    cube, messages = _load_quietly(ds)
    assert messages == []
    assert cube.shape[0] == 36


def test_model_fixes_are_noops_on_our_files(tiny_archive):
    """ESMValCore's per-model fixes leave the data unchanged (they target real-data quirks)."""
    import iris
    import iris.warnings
    import numpy as np
    from esmvalcore.cmor.fix import fix_metadata

    cat = load_catalogue()
    for name in TINY_MODELS:
        entry = cat.models[name]
        path = next(
            tiny_archive.glob(
                f"CMIP6/CMIP/*/{name}/historical/r1i1p1f*/Lmon/mrsos/*/*/*.nc"
            )
        )
        with warnings.catch_warnings():
            # like real CMIP6 files, ours name areacella as an external variable
            warnings.simplefilter(
                "ignore", iris.warnings.IrisCfMissingVarWarning
            )
            raw = iris.load_cube(path)
        fixed = fix_metadata(
            iris.cube.CubeList([raw.copy()]),
            short_name="mrsos",
            project="CMIP6",
            dataset=name,
            mip="Lmon",
            frequency="mon",
        )[0]
        assert np.ma.allequal(fixed.data, raw.data)
        assert np.allclose(
            fixed.coord("latitude").points, raw.coord("latitude").points
        )
        assert np.allclose(
            fixed.coord("longitude").bounds, raw.coord("longitude").bounds
        )
        expected = {"gregorian": "standard"}.get(
            entry.calendar, entry.calendar
        )  # cf_units alias
        assert (
            fixed.coord("time").units.calendar
            == raw.coord("time").units.calendar
            == expected
        )
