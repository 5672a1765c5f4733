"""Physical sanity of the synthetic world and the planted model's promised statistics."""

from __future__ import annotations

import json

import netCDF4
import numpy as np
import pytest

from smeval.sample import physics as ph
from smeval.sample.generate import Period, run_dataset
from smeval.sample.planted import (
    REGIONS,
    TARGETS,
    planted_series,
    taylor_stats,
)


@pytest.fixture(scope="module")
def world():
    return ph.make_world(2.0)


@pytest.fixture(scope="module")
def model_run(world):
    """Ten years of a CMIP6-like data set (strong snow and frozen-soil effects)."""
    flavour = ph.Flavour(
        "test-model", error=0.0, frozen_strength=1.0, snow_retention=1.0
    )
    period = Period(1979, 1988)
    return run_dataset(
        world, period, "standard", flavour, weather_seed=[1], bias_seed=[2]
    )


def _region_mean(world, field, box):
    south, north, west, east = box
    lat, lon = world.clat[world.land], world.clon[world.land]
    sel = (lat > south) & (lat < north) & (lon > west) & (lon < east)
    w = np.cos(np.radians(lat[sel])) * world.frac.ravel()[world.land][sel]
    return (field[sel] * w[:, None]).sum(axis=0) / w.sum()


def test_land_fraction_is_earths(world):
    frac = ph.land_fraction(90, 180, 4)
    area = np.cos(np.radians(world.lat))[:, None] * np.ones(world.nlon)
    share = (frac * area).sum() / area.sum()
    assert 0.27 < share < 0.31  # 29 % of Earth is land
    # Sahara land, central Pacific ocean
    iy, ix = int((25 + 90) / 2), int(10 / 2)
    assert frac[iy, ix] == 1.0
    assert frac[int((0 + 90) / 2), int(200 / 2)] == 0.0


def test_north_africa_drier_than_congo(world, model_run):
    shallow = model_run.theta[:, 0, :] * 100.0  # kg m-2 in 0-10 cm
    sahara = _region_mean(world, shallow, (15, 30, -10, 30)).mean()
    congo = _region_mean(world, shallow, (-5, 5, 12, 28)).mean()
    assert sahara < 0.6 * congo
    p = model_run.pr[world.land]
    assert _region_mean(world, p, (15, 30, -10, 30)).mean() < 0.5
    assert _region_mean(world, p, (-5, 5, 12, 28)).mean() > 3.0


def test_siberian_soil_moisture_peaks_after_snowmelt(world, model_run):
    box = REGIONS["SIB"]
    shallow = (
        _region_mean(world, model_run.theta[:, 0, :] * 100.0, box)
        .reshape(-1, 12)
        .mean(axis=0)
    )
    melt = _region_mean(world, model_run.snm, box).reshape(-1, 12).mean(axis=0)
    peak_melt = int(np.argmax(melt))
    peak_sm = int(np.argmax(shallow))
    assert peak_melt in (3, 4, 5)  # April-June
    assert (
        0 <= (peak_sm - peak_melt) % 12 <= 2
    )  # soil peaks with/after the melt
    assert melt[[0, 1, 11]].max() < 0.1 * melt.max()  # no melt in mid-winter


def test_itcz_migrates_and_monsoon_is_summer_rain(world):
    p = ph.precipitation_climatology(
        world.clat, world.clon, world.continentality
    )
    lat = world.clat.reshape(world.shape)[:, 0]
    zonal = p.reshape(12, *world.shape).mean(axis=2)
    tropics = np.abs(lat) < 30
    centre = lat[tropics][np.argmax(zonal[:, tropics], axis=1)]
    assert centre[7] > 5  # August north
    assert centre[1] < 0  # February south
    india = ph._gauss(world.clat, world.clon, 21.0, 80.0, 3.0, 3.0) > 0.5
    assert p[6, india].mean() > 4 * p[0, india].mean()  # July vs January
    med = ph._gauss(world.clat, world.clon, 38.0, 15.0, 3.0, 5.0) > 0.5
    assert p[0, med].mean() > 2 * p[6, med].mean()  # Mediterranean winter rain


def test_water_balance_closes(world, model_run):
    """P - E - surface runoff - storage change = drainage >= 0 (within one month's fluxes)."""
    period = Period(1979, 1988)
    days = period.days("standard")
    land = world.land
    ok = (world.clat[land] > -55) & (
        world.clat[land] < 55
    )  # no perennial snow
    p = (model_run.pr[land] * days).sum(axis=1)[ok]
    e = (model_run.evspsbl[land] * days).sum(axis=1)[ok]
    r = (model_run.mrros * days).sum(axis=1)[ok]
    dz = np.diff(ph.BUCKET_LAYERS, axis=1)[:, 0] * 1000.0
    storage = (model_run.theta * dz[None, :, None]).sum(axis=1)[
        ok
    ]  # mm, monthly means
    drainage = p - e - r - (storage[:, -1] - storage[:, 0])
    assert np.all(e >= 0)
    assert np.all(r >= 0)
    # storage from monthly means misses up to half a month of net flux at each end
    assert np.all(drainage > -(0.04 * p + 100.0))
    assert np.median(drainage) < 0.5 * np.median(p)


@pytest.mark.parametrize(
    ("r", "s"), [(0.9, 0.8), (0.48, 0.33), (0.2, 1.5), (0.0, 1.0)]
)
def test_planted_series_is_exact(r, s):
    rng = np.random.default_rng(0)
    x = (
        20
        + 5 * np.sin(np.arange(432) * 2 * np.pi / 12)
        + rng.standard_normal(432)
    )
    y = planted_series(x, r, s, np.random.default_rng(1))
    assert np.corrcoef(x, y)[0, 1] == pytest.approx(r, abs=1e-9)
    assert y.std() / x.std() == pytest.approx(s, rel=1e-9)
    stats = taylor_stats(r, s)
    e = np.sqrt(np.mean(((y - y.mean()) - (x - x.mean())) ** 2)) / x.std()
    assert stats["E'"] == pytest.approx(e, rel=1e-9)
    assert 0 <= stats["TSS"] <= 1


def _brute_force_regional_means(path, var, land_frac=None):
    """Regional means cell by cell: area x land fraction x fraction of cell in box."""
    with netCDF4.Dataset(path) as ds:
        data = ds[var][:]
        lat_b, lon_b = ds["lat_bnds"][:], ds["lon_bnds"][:]
    if land_frac is None:
        land_frac = np.ones(data.shape[1:])
    out = {}
    for rid, (south, north, west, east) in REGIONS.items():
        num = np.zeros(data.shape[0])
        den = 0.0
        for i in range(lat_b.shape[0]):
            s0, s1 = sorted(lat_b[i])
            dy = np.sin(np.radians(min(max(s1, south), north))) - np.sin(
                np.radians(min(max(s0, south), north))
            )
            if dy <= 0:
                continue
            for j in range(lon_b.shape[0]):
                if np.ma.is_masked(data[0, i, j]):
                    continue
                w0, w1 = lon_b[j]
                dx = 0.0
                for shift in (-360.0, 0.0, 360.0):
                    dx += max(
                        0.0, min(w1 + shift, east) - max(w0 + shift, west)
                    )
                if dx <= 0:
                    continue
                w = dy * dx * land_frac[i, j]
                num += w * data[:, i, j]
                den += w
        out[rid] = num / den
    return out


def test_planted_model_has_the_promised_statistics(tiny_archive):
    doc = json.loads((tiny_archive / "planted_ERA5.json").read_text())
    assert doc["reference"] == "ERA5"
    assert doc["dataset"] == "PLANTED-1"
    ref_file = (
        tiny_archive
        / "OBS6/Tier3/ERA5/OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-198112.nc"
    )
    frac_file = (
        tiny_archive / "OBS6/Tier3/ERA5/OBS6_ERA5_reanaly_1_fx_sftlf.nc"
    )
    with netCDF4.Dataset(frac_file) as ds:
        ref_frac = ds["sftlf"][:].filled(0.0) / 100.0
    planted_file = next(
        tiny_archive.glob(
            "CMIP6/CMIP/SMEVAL/PLANTED-1/historical/r1i1p1f1/Lmon/mrsos/gn/*/*.nc"
        )
    )
    ref = _brute_force_regional_means(ref_file, "mrsos", ref_frac)
    planted = _brute_force_regional_means(planted_file, "mrsos")
    for rid in REGIONS:
        x, y = ref[rid], planted[rid]
        promised = doc["regions"][rid]
        assert (promised["R"], promised["sigma"]) == TARGETS[rid]
        assert np.corrcoef(x, y)[0, 1] == pytest.approx(
            promised["R"], abs=2e-3
        ), rid
        assert y.std() / x.std() == pytest.approx(
            promised["sigma"], rel=2e-3
        ), rid
        e = np.sqrt(np.mean(((y - y.mean()) - (x - x.mean())) ** 2)) / x.std()
        assert e == pytest.approx(promised["E'"], abs=3e-3), rid


@pytest.fixture(scope="module")
def era5_run(world):
    """Ten years of the ERA5 flavour (land analysis nudging, melt mostly runs off)."""
    period = Period(1979, 1988)
    return run_dataset(
        world,
        period,
        "standard",
        ph.REANALYSIS_FLAVOURS["ERA5"],
        weather_seed=[3],
        bias_seed=[4],
    )


def _cycle(world, run, box):
    return (
        _region_mean(world, run.theta[:, 0, :] * 100.0, box)
        .reshape(-1, 12)
        .mean(axis=0)
    )


@pytest.mark.parametrize("rid", ["SIB", "M-AS", "WNA", "ENA", "TIB"])
def test_cold_regions_models_out_of_phase_with_era5(
    world, model_run, era5_run, rid
):
    """Models peak with the spring melt, ERA5 with the rains (paper, Figs. 7 and 11)."""
    model, era5 = (
        _cycle(world, model_run, REGIONS[rid]),
        _cycle(world, era5_run, REGIONS[rid]),
    )
    assert np.corrcoef(model, era5)[0, 1] < 0.0
    assert int(np.argmax(model)) in (2, 3, 4, 5)  # March-June


@pytest.mark.parametrize("rid", ["L-AS", "C-AF", "NSA", "SSA", "AUS"])
def test_warm_regions_models_in_phase_with_era5(
    world, model_run, era5_run, rid
):
    model, era5 = (
        _cycle(world, model_run, REGIONS[rid]),
        _cycle(world, era5_run, REGIONS[rid]),
    )
    assert np.corrcoef(model, era5)[0, 1] > 0.5


def test_era5_nudging_only_where_observations_are_dense(world):
    density = ph.observation_density(world)
    lat = world.clat[world.land]
    assert density[lat > 30].min() > 0.9
    assert density[lat < 0].max() < 0.2
    assert (
        ph.REANALYSIS_FLAVOURS["ERA5"].nudge
        > ph.REANALYSIS_FLAVOURS["GLDAS"].nudge
        > 0
    )
    assert ph.model_flavour("X", 0.5, 0).nudge == 0.0


def test_planted_boxes_are_the_spec_regions():
    # The planted model's independent route uses the same boxes as the pipeline.
    from smeval.core.regions import REGIONS as CORE_REGIONS

    assert {
        r.id: (r.box.lat_min, r.box.lat_max, r.box.lon_min, r.box.lon_max)
        for r in CORE_REGIONS
    } == REGIONS
