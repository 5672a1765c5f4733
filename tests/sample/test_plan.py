"""The default scale's plan: every Table 1 model with exactly its Table 1 variables.

``make demo`` runs the recipe, which lists every Table 1 model under each
variable Table 1 gives it, on the default archive; ESMValCore stops when a
listed model has no files, so the plan must cover them all. These tests check
the plan only (no files are generated).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smeval.catalogue import HIGH_RESOLUTION_MIN_ROWS, load_catalogue
from smeval.sample.generate import (
    DEFAULT_TWO_MEMBERS,
    SCALES,
    Period,
    model_files,
    plan_models,
)


@pytest.fixture(scope="module")
def plans():
    return {
        p.model.name: p for p in plan_models(SCALES["default"], None, None)
    }


def test_default_covers_all_31_models_with_table1_variables(plans):
    cat = load_catalogue()
    assert set(plans) == set(cat.models)
    assert len(plans) == 31
    for name, plan in plans.items():
        assert tuple(plan.members) == cat.models[name].variables, name
        assert all(
            1 <= n <= cat.models[name].members[v]
            for v, n in plan.members.items()
        ), name


def test_default_members(plans):
    cat = load_catalogue()
    for name, plan in plans.items():
        want = 2 if name in DEFAULT_TWO_MEMBERS else 1
        for var, n in plan.members.items():
            assert n == min(want, cat.models[name].members[var]), (name, var)
    two = [plans[n].model for n in DEFAULT_TWO_MEMBERS]
    assert 4 <= len(two) <= 6
    assert len({m.family for m in two}) == len(two)
    assert {m.resolution_group for m in two} == {"high", "low"}
    assert all(plans[n].n_members == 2 for n in DEFAULT_TWO_MEMBERS)


def test_default_grids_coarse_but_faithful(plans):
    groups = {"high": [], "low": []}
    for plan in plans.values():
        m = plan.model
        assert SCALES["default"].min_rows <= plan.nlat <= 64, m.name
        assert plan.nlat < m.grid.nlat
        assert plan.nlon < m.grid.nlon
        # the resolution group always follows the native rows (Table 2)
        assert m.resolution_group == (
            "high" if m.grid.nlat >= HIGH_RESOLUTION_MIN_ROWS else "low"
        )
        groups[m.resolution_group].append(plan.nlat)
    assert len(groups["high"]) == 13
    assert len(groups["low"]) == 18
    assert sum(groups["high"]) / 13 > sum(groups["low"]) / 18


def test_default_keeps_file_splitting(plans):
    period = Period(*SCALES["default"].years)
    root = Path("/archive")
    hr = model_files(root, plans["MPI-ESM1-2-HR"], 1, period)
    assert [p.name[-16:-3] for p, _ in hr["pr"]][:2] == [
        "197901-197912",
        "198001-198412",
    ]
    assert len(hr["pr"]) == 8  # 5-year files, as on ESGF
    assert len(model_files(root, plans["NorESM2-LM"], 1, period)["mrsol"]) == 5
    assert len(model_files(root, plans["CESM2"], 2, period)["mrsos"]) == 1
    # second members carry no fx files; Table 1 blanks have no files at all
    assert "sftlf" not in model_files(root, plans["CESM2"], 2, period)
    assert "mrros" not in model_files(root, plans["CNRM-CM6-1"], 1, period)
    assert set(model_files(root, plans["GFDL-CM4"], 1, period)) == {
        "mrsos",
        "evspsbl",
        "sftlf",
        "areacella",
    }


def test_member_override_caps_every_model():
    one = plan_models(SCALES["default"], ["CESM2", "MIROC6"], 1)
    assert all(p.n_members == 1 for p in one)
