"""The catalogue reproduces Tables 1 and 2 of the paper and real layer structures."""

from __future__ import annotations

import numpy as np
import pytest

from smeval.catalogue import (
    HIGH_RESOLUTION_MIN_ROWS,
    clm_exponential_bounds,
    grid_coordinates,
    load_catalogue,
    orchidee_bounds,
)

# Table 2 of Qiao, Zuo and Xiao (2022).
TABLE2_HIGH = {
    "BCC-CSM2-MR",
    "CAMS-CSM1-0",
    "CESM2",
    "CESM2-WACCM",
    "CNRM-CM6-1-HR",
    "E3SM-1-0",
    "E3SM-1-1-ECA",
    "FIO-ESM-2-0",
    "GFDL-CM4",
    "GFDL-ESM4",
    "MPI-ESM1-2-HR",
    "MRI-ESM2-0",
    "NorESM2-MM",
}
TABLE2_LOW = {
    "ACCESS-CM2",
    "ACCESS-ESM1-5",
    "BCC-ESM1",
    "CanESM5",
    "CAS-ESM2-0",
    "CESM2-FV2",
    "CESM2-WACCM-FV2",
    "CNRM-CM6-1",
    "CNRM-ESM2-1",
    "GISS-E2-1-G",
    "GISS-E2-1-G-CC",
    "GISS-E2-1-H",
    "HadGEM3-GC31-LL",
    "IPSL-CM6A-LR",
    "MIROC6",
    "MPI-ESM-1-2-HAM",
    "MPI-ESM1-2-LR",
    "NorESM2-LM",
}
# The last row of Table 1 (CMIP6-MMEM): total members per variable.
TABLE1_TOTALS = {
    "mrsos": 192,
    "mrsol": 244,
    "pr": 261,
    "evspsbl": 259,
    "mrros": 251,
    "snm": 264,
}


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def test_every_table1_model_is_present(cat):
    assert set(cat.models) == TABLE2_HIGH | TABLE2_LOW
    assert len(cat.models) == 31


def test_resolution_groups_match_table2(cat):
    groups = cat.resolution_groups()
    assert set(groups["high"]) == TABLE2_HIGH
    assert set(groups["low"]) == TABLE2_LOW
    for model in cat.models.values():
        assert (model.grid.nlat >= HIGH_RESOLUTION_MIN_ROWS) == (
            model.name in TABLE2_HIGH
        )


def test_member_totals_match_table1(cat):
    for var, total in TABLE1_TOTALS.items():
        assert sum(m.members[var] for m in cat.models.values()) == total


def test_missing_variables_where_table1_is_blank(cat):
    assert cat.models["CNRM-CM6-1"].members["mrros"] == 0
    assert cat.models["CESM2-FV2"].members["mrsos"] == 0
    assert cat.models["GFDL-CM4"].variables == ("mrsos", "evspsbl")
    assert "mrsol" not in cat.models["E3SM-1-0"].variables


def test_families_of_spec_section4(cat):
    fam = cat.families
    assert {fam["CNRM-CM6-1"], fam["CNRM-CM6-1-HR"], fam["CNRM-ESM2-1"]} == {
        "CNRM"
    }
    assert {
        fam[m] for m in ("MPI-ESM1-2-HR", "MPI-ESM1-2-LR", "MPI-ESM-1-2-HAM")
    } == {"MPI-ESM"}
    assert {
        fam[m]
        for m in ("CESM2", "CESM2-FV2", "CESM2-WACCM", "CESM2-WACCM-FV2")
    } == {"CESM2"}
    assert {
        fam[m] for m in ("GISS-E2-1-G", "GISS-E2-1-G-CC", "GISS-E2-1-H")
    } == {"GISS-E2-1"}
    assert fam["NorESM2-LM"] == fam["NorESM2-MM"] != fam["CESM2"]
    singles = [m for m in cat.models if list(fam.values()).count(fam[m]) == 1]
    assert "MIROC6" in singles
    assert "CanESM5" in singles


@pytest.mark.parametrize("name", sorted(load_catalogue().land_models))
def test_layer_bounds_contiguous_and_increasing(cat, name):
    b = cat.land_models[name].layer_bounds
    assert b[0, 0] == 0.0
    assert np.all(b[:, 1] > b[:, 0])
    assert np.allclose(b[1:, 0], b[:-1, 1])


def test_known_layer_structures(cat):
    lm = cat.land_models
    assert lm["JSBACH3.2"].depth == pytest.approx(9.834)
    assert len(lm["CLM5"].layer_bounds) == 20
    assert lm["CLM5"].layer_bounds.mean(axis=1)[-1] == pytest.approx(8.03)
    assert len(lm["ISBA-CTRIP"].layer_bounds) == 14
    assert lm["ISBA-CTRIP"].depth == 12.0
    assert len(lm["CABLE2.4"].layer_bounds) == 6
    assert lm["CABLE2.4"].depth == pytest.approx(4.6)
    assert lm["MATSIRO6"].depth == 14.0
    assert lm["CLASS3.6"].depth == pytest.approx(4.1)
    assert lm["JULES"].depth == 3.0
    assert len(lm["ORCHIDEE2"].layer_bounds) == 11
    assert lm["ORCHIDEE2"].depth == 2.0
    # CLM4.5: 15 layers to 42.1 m, the 10 hydrologically active ones to 3.80 m
    assert clm_exponential_bounds(15)[-1, 1] == pytest.approx(42.1, abs=0.05)
    assert lm["CLM4.5"].depth == pytest.approx(3.80, abs=0.01)
    assert orchidee_bounds()[-1, 1] == 2.0


def test_calendars_are_real_ones(cat):
    assert cat.models["HadGEM3-GC31-LL"].calendar == "360_day"
    assert cat.models["MPI-ESM1-2-LR"].calendar == "proleptic_gregorian"
    assert cat.models["CESM2"].calendar == "noleap"
    assert cat.models["CNRM-CM6-1"].calendar == "gregorian"


@pytest.mark.parametrize("kind", ["gaussian", "poles", "regular"])
def test_grid_bounds_cover_the_sphere(kind):
    lat, _lon, lat_b, lon_b = grid_coordinates(kind, 64, 128)
    assert np.all(np.diff(lat) > 0)
    assert lat_b[0, 0] == -90.0
    assert lat_b[-1, 1] == 90.0
    assert np.allclose(lat_b[1:, 0], lat_b[:-1, 1])
    assert np.all((lat >= lat_b[:, 0]) & (lat <= lat_b[:, 1]))
    area = (
        np.diff(np.sin(np.radians(lat_b)), axis=1).sum()
        * np.diff(np.radians(lon_b), axis=1).sum()
    )
    assert area == pytest.approx(4 * np.pi)


def test_real_access_grids_match(cat, realdata):
    """The real ACCESS sftlf files (shared/realdata) have the catalogue's grid kinds."""
    import netCDF4

    base = f"{realdata}/cmip6-fx-native/"
    for name, fname in (
        ("ACCESS-CM2", "sftlf_fx_ACCESS-CM2_historical_r1i1p1f1_gn.nc"),
        ("ACCESS-ESM1-5", "sftlf_fx_ACCESS-ESM1-5_historical_r1i1p1f1_gn.nc"),
        ("CNRM-CM6-1", "sftlf_fx_CNRM-CM6-1_historical_r1i1p1f2_gr.nc"),
    ):
        with netCDF4.Dataset(base + fname) as ds:
            lat, lon = ds["lat"][:], ds["lon"][:]
        glat, glon, _, _ = cat.models[name].grid.coordinates()
        assert np.allclose(glat, lat, atol=1e-4)
        assert np.allclose(glon, lon, atol=1e-4)
