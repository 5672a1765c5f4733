"""The correlation branch of the series scripts and the correlation-map diagnostic on planted members (Fig. 11).

The regional-series scripts compute each data set's monthly field on the
common grid from the members they read (the recipe's ESMValCore steps:
the ensemble mean of a model's members, then regrid), in the same
``dask.compute`` as the series; the correlation script reads those fields,
averages the models over families and takes the correlation of soil
moisture with P - E per grid cell. The fields below are uniform in space,
so every cell of the common grid must hold the correlation of the planted
series, computed here with scipy.
"""

from __future__ import annotations

import logging

import cf_units
import iris
import iris.coords
import iris.cube
import netCDF4
import numpy as np
import pandas as pd
import pytest
import yaml
from diag_helpers import write_uniform
from scipy import stats

from smeval import cmorio
from smeval.core import correlation as core_correlation
from smeval.core.correlation import benjamini_hochberg, gridpoint_correlation
from smeval.diag import correlation_fields as correlation_script
from smeval.diag.correlation_fields import correlation_fields
from smeval.diag.ensemble_fields import (
    FieldFile,
    ensemble_field_path,
    label,
    save_options,
)
from smeval.diag.io import save_cube
from smeval.diag.metrics import read_series
from smeval.diag.regional_series import write_regional_series
from smeval.netcdf_codec import codec_available

#: Months of the planted series: 1980-1982.
N_MONTHS = 36
#: The recipe's steps (recipes/recipe_soilmoisture.yml, regional_series).
STEPS = {
    "ensemble_statistics": {"statistics": ["mean"]},
    "regrid": {
        "target_grid": "1.125x1.125",
        "scheme": {"reference": "smeval.regrid:AreaWeighted"},
    },
}
UNITS = {"mrsos": "kg m-2", "pr": "kg m-2 s-1", "evspsbl": "kg m-2 s-1"}
MIPS = {"mrsos": "Lmon", "pr": "Amon", "evspsbl": "Amon"}
#: The two series scripts of the recipe and their correlation variables.
TASKS = {"soil_moisture": ("mrsos",), "water_budget": ("pr", "evspsbl")}


def _write_planted(tmp_path, planted):
    """Write ``planted``; return ESMValCore's metadata of each file.

    ``planted``: (dataset, family, project, member) -> {variable: series};
    ``step``: the grid spacing in degrees, default 4.
    """
    inputs = {}
    for (dataset, family, project, member), variables in planted.items():
        variables = dict(variables)
        step = variables.pop("step", 4.0)
        for short_name, series in variables.items():
            path = write_uniform(
                tmp_path / "in" / f"{short_name}_{dataset}_{member}.nc",
                dataset=dataset,
                member=member or "r1i1p1f1",
                short_name=short_name,
                mip=MIPS[short_name],
                series=series,
                years=(1980, 1982),
                lat=np.arange(-90.0 + step / 2, 90.0, step),
                lon=np.arange(0.0, 360.0, step),
            )
            meta = {
                "dataset": dataset,
                "project": project,
                "short_name": short_name,
                "mip": MIPS[short_name],
                "units": UNITS[short_name],
                "family": family,
                "filename": str(path),
            }
            if member:
                meta["ensemble"] = member
            inputs[str(path)] = meta
    return inputs


def _folders(tmp_path, name):
    work, run = tmp_path / name / "work", tmp_path / name / "run"
    for folder in (work, run):
        folder.mkdir(parents=True, exist_ok=True)
    return {"work_dir": str(work), "run_dir": str(run)}


def _series(tmp_path, inputs) -> list:
    """Run the two series scripts with the correlation branch; return their work folders."""
    dirs = []
    for task, variables in TASKS.items():
        cfg = {
            "input_data": {
                f: m for f, m in inputs.items() if m["short_name"] in variables
            },
            **_folders(tmp_path, task),
            "correlation_variables": list(variables),
            "correlation_steps": STEPS,
        }
        write_regional_series(cfg)
        dirs.append(tmp_path / task / "work")
    return dirs


def _inputs(tmp_path, planted):
    """Run the series scripts on ``planted``; return the correlation script's settings."""
    return _correlation_settings(tmp_path, _write_planted(tmp_path, planted))


def _correlation_settings(tmp_path, inputs):
    """Run the series scripts on ``inputs``; return the correlation script's settings."""
    dirs = _series(tmp_path, inputs)
    for name in ("work", "run"):
        (tmp_path / name).mkdir(exist_ok=True)
    return {
        "ancestor_dirs": dirs,
        "work_dir": str(tmp_path / "work"),
        "run_dir": str(tmp_path / "run"),
        "references": ["ERA5"],
    }


def _excluded(tmp_path) -> pd.DataFrame:
    """The series scripts' exclusions."""
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False)
        for task in TASKS
        if (path := tmp_path / task / "work" / "excluded.csv").is_file()
    ]
    return pd.concat(frames, ignore_index=True)


def _r_everywhere(path, var_name="r"):
    cube = {c.var_name: c for c in iris.load(str(path))}[var_name]
    assert cube.shape == (160, 320)  # the common 1.125 degree grid
    data = np.ma.filled(cube.data.astype(float), np.nan)
    assert np.isfinite(data).all()
    return data


def test_members_are_averaged_before_the_correlation_and_models_over_families(
    tmp_path,
):
    rng = np.random.default_rng(7)
    a, b, c = (
        rng.normal(size=(3, N_MONTHS)) for _ in range(3)
    )  # (mrsos, pr, evspsbl) of three models
    ref = rng.normal(size=(3, N_MONTHS))
    spread = rng.normal(size=(3, N_MONTHS))
    sm0 = 50.0  # kg m-2; fluxes in kg m-2 s-1 of the size of real ones
    flux = 1e-5

    def model(x, sign):
        # Members x + spread and x - spread: their mean is x, each one alone is not.
        return {
            "mrsos": sm0 + x[0] + sign * spread[0],
            "pr": flux * (3 + x[1] + sign * spread[1]),
            "evspsbl": flux * (1 + x[2] + sign * spread[2]),
        }

    planted = {
        ("MODEL-A", "FAM1", "CMIP6", "r1i1p1f1"): model(a, 1),
        ("MODEL-A", "FAM1", "CMIP6", "r2i1p1f1"): model(a, -1),
        ("MODEL-C", "FAM1", "CMIP6", "r1i1p1f1"): {
            **model(c, 0),
            "step": 5.0,
        },  # one member, another grid
        ("MODEL-B", "FAM2", "CMIP6", "r1i1p1f1"): model(b, 1),
        ("MODEL-B", "FAM2", "CMIP6", "r2i1p1f1"): model(b, -1),
        ("ERA5", "ERA5", "OBS6", ""): {
            "mrsos": sm0 + ref[0],
            "pr": flux * (3 + ref[1]),
            "evspsbl": flux * (1 + ref[2]),
        },
    }
    written = correlation_fields(_inputs(tmp_path, planted))
    work = tmp_path / "work"
    assert sorted(p.name for p in written) == [
        "correlation_CMIP6-MMEM.nc",
        "correlation_ERA5.nc",
    ]

    # ERA5: the reference is only regridded.
    expected = stats.pearsonr(ref[0], ref[1] - ref[2]).statistic
    np.testing.assert_allclose(
        _r_everywhere(work / "correlation_ERA5.nc"), expected, atol=2e-5
    )
    # CMIP6-MMEM: mean over families of the mean over each family's models of
    # each model's ensemble mean: ((A + C) / 2 + B) / 2.
    mmem = ((a + c) / 2 + b) / 2
    expected = stats.pearsonr(mmem[0], mmem[1] - mmem[2]).statistic
    got = _r_everywhere(work / "correlation_CMIP6-MMEM.nc")
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # Not what averaging the models without families, or member r1 alone, gives.
    flat = (a + b + c) / 3
    assert (
        abs(expected - stats.pearsonr(flat[0], flat[1] - flat[2]).statistic)
        > 1e-3
    )
    members_r1 = ((a + spread + c) / 2 + b + spread) / 2
    assert (
        abs(
            expected
            - stats.pearsonr(
                members_r1[0], members_r1[1] - members_r1[2]
            ).statistic
        )
        > 1e-3
    )
    # The p-value is the t test's with n - 2 degrees of freedom.
    p_value = _r_everywhere(work / "correlation_CMIP6-MMEM.nc", "p_value")
    np.testing.assert_allclose(
        p_value,
        stats.pearsonr(mmem[0], mmem[1] - mmem[2]).pvalue,
        rtol=1e-3,
        atol=1e-6,
    )
    # Provenance: the MMEM's ancestors are the three models' fields of the
    # three variables, and each field's ancestors its members' files.
    provenance = yaml.safe_load(
        (tmp_path / "run" / "diagnostic_provenance.yml").read_text()
    )
    record = provenance[str(work / "correlation_CMIP6-MMEM.nc")]
    assert sorted(record["ancestors"]) == sorted(
        str(tmp_path / task / "work" / "ensemble_fields" / v / f"{m}.nc")
        for task, variables in TASKS.items()
        for v in variables
        for m in ("MODEL-A", "MODEL-B", "MODEL-C")
    )
    field = tmp_path / "soil_moisture" / "work" / "ensemble_fields" / "mrsos"
    series_provenance = yaml.safe_load(
        (
            tmp_path / "soil_moisture" / "run" / "diagnostic_provenance.yml"
        ).read_text()
    )
    assert sorted(
        series_provenance[str(field / "MODEL-A.nc")]["ancestors"]
    ) == [
        str(tmp_path / "in" / f"mrsos_MODEL-A_r{i}i1p1f1.nc") for i in (1, 2)
    ]
    # The fields are float32 on the common grid, described as the series are.
    cube = iris.load_cube(str(field / "MODEL-A.nc"))
    assert cube.dtype == np.float32
    assert cube.shape == (N_MONTHS, 160, 320)
    assert cube.standard_name == "mass_content_of_water_in_soil_layer"
    assert cube.attributes["smeval_members"] == "r1i1p1f1,r2i1p1f1"
    assert cube.attributes["smeval_family"] == "FAM1"
    assert [m.method for m in cube.cell_methods][-1] == "mean"
    assert not (work / "excluded.csv").exists()
    assert _excluded(tmp_path).empty
    # The metrics read the series only, not these fields: three variables of
    # six members (five of the models, ERA5's field).
    series, _, _ = read_series([tmp_path / task / "work" for task in TASKS])
    assert len(series) == 3 * 6


def test_a_model_whose_members_cannot_be_combined_is_listed_and_left_out(
    tmp_path,
):
    rng = np.random.default_rng(3)
    a, b = (rng.normal(size=(3, N_MONTHS)) for _ in range(2))

    def model(x):
        return {
            "mrsos": 50 + x[0],
            "pr": 1e-5 * (3 + x[1]),
            "evspsbl": 1e-5 * (1 + x[2]),
        }

    planted = {
        ("MODEL-A", "FAM1", "CMIP6", "r1i1p1f1"): model(a),
        # Two members on different grids: ESMValCore's ensemble mean refuses them.
        ("MODEL-B", "FAM2", "CMIP6", "r1i1p1f1"): model(b),
        ("MODEL-B", "FAM2", "CMIP6", "r2i1p1f1"): {**model(b), "step": 5.0},
        ("ERA5", "ERA5", "OBS6", ""): model(b),
    }
    written = correlation_fields(_inputs(tmp_path, planted))
    work = tmp_path / "work"
    assert {p.name for p in written} == {
        "correlation_CMIP6-MMEM.nc",
        "correlation_ERA5.nc",
    }
    # The series scripts list the data set: its series are kept.
    excluded = _excluded(tmp_path)
    assert set(excluded.dataset) == {"MODEL-B"}
    assert set(excluded.member) == {""}
    assert set(excluded.variable) == {"mrsos", "pr", "evspsbl"}
    assert all(
        "correlation maps" in r and "r2i1p1f1" in r for r in excluded.reason
    )
    # The MMEM is MODEL-A's alone.
    expected = stats.pearsonr(a[0], a[1] - a[2]).statistic
    np.testing.assert_allclose(
        _r_everywhere(work / "correlation_CMIP6-MMEM.nc"), expected, atol=2e-5
    )


def test_correlation_steps_are_checked_from_the_signatures_before_any_data_is_read(
    tmp_path,
):
    # The input file does not exist: the steps fail first, one line naming the recipe key.
    from smeval.diag.options import OptionsError

    cfg = {
        "input_data": {
            str(tmp_path / "absent.nc"): {
                "dataset": "ERA5",
                "short_name": "mrsos",
            }
        },
        "work_dir": str(tmp_path),
        "run_dir": str(tmp_path / "run" / "soil_moisture" / "regional_series"),
        "correlation_variables": ["mrsos"],
    }

    def error(steps):
        with pytest.raises(OptionsError) as info:
            write_regional_series({**cfg, "correlation_steps": steps})
        return str(info.value)

    assert error({}) == (
        "regional_series: option `correlation_variables` is set but "
        "`correlation_steps` names no step"
    )
    where = "soil_moisture/regional_series: correlation_steps"
    assert error(
        {
            "multi_model_statistics": {
                "span": "overlap",
                "statistics": ["mean"],
            },
            **STEPS,
        }
    ) == (
        f"{where}: multi_model_statistics: works on 'products', not on one cube: loading, saving and "
        "multi-data-set steps cannot be applied to one member's data (here only ensemble_statistics)"
    )
    assert error(
        {"ensemble_statistics": {"statistics": ["mean", "median"]}}
    ) == (
        f"{where}: ensemble_statistics: must give one statistic (one field per data set), not ['mean', 'median']"
    )
    assert error({"ensemble_statistics": {"statistic": ["mean"]}}).startswith(
        f"{where}: ensemble_statistics: unknown option 'statistic' (did you mean `statistics`?) (accepted: "
        "statistics, span, ignore_scalar_coords)"
    )
    assert (
        error({"ensemble_statistics": {}})
        == f"{where}: ensemble_statistics: missing option 'statistics'"
    )
    assert error(
        {"regrid": {"targt_grid": "1x1", "scheme": "linear"}}
    ).startswith(
        f"{where}: regrid: unknown option 'targt_grid' (did you mean `target_grid`?)"
    )
    assert "load: works on 'file'" in error({"load": {}})


def _era5_only(tmp_path, strength, seed=4):
    rng = np.random.default_rng(seed)
    x, noise = rng.normal(size=(2, N_MONTHS))
    planted = {
        ("ERA5", "ERA5", "OBS6", ""): {
            "mrsos": 50 + x,
            "pr": 1e-5 * (3 + strength * x + noise),
            "evspsbl": 1e-5 * (1 + 0 * x),
        }
    }
    return _inputs(tmp_path, planted), stats.pearsonr(
        x, strength * x + noise
    ).pvalue


@pytest.mark.parametrize("strength", [1.0, 0.05])
def test_fdr_mask_of_the_correlation_map(tmp_path, strength):
    # Every cell has the same series, so the m p-values are equal: BH rejects
    # all of them if p <= alpha_FDR and none otherwise (k = m or 0).
    cfg, p = _era5_only(tmp_path, strength)
    cfg["fdr_alpha"] = 0.1
    correlation_fields(cfg)
    cubes = {
        c.var_name: c
        for c in iris.load(str(tmp_path / "work" / "correlation_ERA5.nc"))
    }
    fdr = np.ma.filled(cubes["significant_fdr"].data.astype(float), np.nan)
    tested = np.isfinite(
        np.ma.filled(cubes["p_value"].data.astype(float), np.nan)
    )
    assert (strength == 1.0) == (p <= 0.1)
    np.testing.assert_array_equal(fdr[tested], 1.0 if p <= 0.1 else 0.0)
    method = cubes["significant_fdr"].attributes["smeval_significance"]
    assert "Benjamini-Hochberg" in method
    assert "alpha_FDR = 0.1" in method
    assert f"all {tested.sum()} land cells" in method
    record = yaml.safe_load(
        (tmp_path / "run" / "diagnostic_provenance.yml").read_text()
    )
    entry = record[str(tmp_path / "work" / "correlation_ERA5.nc")]
    assert "Benjamini-Hochberg" in entry["caption"]
    assert "wilks16bams" in entry["references"]


def test_fdr_can_be_switched_off(tmp_path):
    cfg, _ = _era5_only(tmp_path, 1.0)
    cfg["fdr_alpha"] = None
    correlation_fields(cfg)
    names = {
        c.var_name
        for c in iris.load(str(tmp_path / "work" / "correlation_ERA5.nc"))
    }
    assert names == {"r", "p_value", "significant"}


def test_fdr_on_the_p_values_of_the_effective_sample_size_test(tmp_path):
    # Combined with the effective-sample-size test, BH takes that test's
    # p-values (larger than the plain test's for persistent series).
    cfg, _ = _era5_only(tmp_path, 0.3, seed=8)
    cfg.update(fdr_alpha=0.1, significance_method="effective-sample-size")
    correlation_fields(cfg)
    cubes = {
        c.var_name: c
        for c in iris.load(str(tmp_path / "work" / "correlation_ERA5.nc"))
    }
    p = np.ma.filled(cubes["p_value"].data.astype(float), np.nan)
    fdr = np.ma.filled(cubes["significant_fdr"].data.astype(float), np.nan)
    tested = np.isfinite(p)
    np.testing.assert_array_equal(
        fdr[tested], np.where(p[tested] <= 0.1, 1.0, 0.0)
    )  # equal p: all or none
    assert (
        "Bretherton"
        in cubes["significant_fdr"].attributes["smeval_significance"]
    )


@pytest.mark.parametrize(
    ("units", "factor", "kept"),
    [("g m-2 s-1", 1000.0, True), ("mm day-1", 86400.0, False)],
)
def test_a_flux_member_in_other_units_is_converted_or_left_out(
    tmp_path, units, factor, kept
):
    """Convertible units give the same map; a length per time leaves the member out.

    g m-2 s-1 converts; mm day-1 does not (cf_units knows no water
    density): the member is listed in excluded.csv, as before.
    """
    rng = np.random.default_rng(11)
    a, ref = (rng.normal(size=(3, N_MONTHS)) for _ in range(2))

    def fields(x):
        return {
            "mrsos": 50 + x[0],
            "pr": 1e-5 * (3 + x[1]),
            "evspsbl": 1e-5 * (1 + x[2]),
        }

    planted = {
        ("MODEL-A", "FAM1", "CMIP6", "r1i1p1f1"): fields(a),
        ("MODEL-A", "FAM1", "CMIP6", "r2i1p1f1"): fields(a),
        ("ERA5", "ERA5", "OBS6", ""): fields(ref),
    }
    inputs = _write_planted(tmp_path, planted)
    [path] = [
        f
        for f, m in inputs.items()
        if m["short_name"] == "pr" and m.get("ensemble") == "r2i1p1f1"
    ]
    with netCDF4.Dataset(path, "a") as nc:
        nc["pr"][:] = nc["pr"][:] * factor
        nc["pr"].units = units
    correlation_fields(_correlation_settings(tmp_path, inputs))
    work = tmp_path / "work"
    expected = stats.pearsonr(a[0], a[1] - a[2]).statistic
    np.testing.assert_allclose(
        _r_everywhere(work / "correlation_CMIP6-MMEM.nc"), expected, atol=2e-5
    )
    cube = {
        c.var_name: c
        for c in iris.load(str(work / "correlation_CMIP6-MMEM.nc"))
    }["r"]
    assert cube.coord("dataset").points.tolist() == ["CMIP6-MMEM"]
    if kept:
        assert _excluded(tmp_path).empty
    else:
        [reason] = _excluded(tmp_path).reason
        assert f"units '{units}' where pr must be in kg m-2 s-1" in reason


def _one_model(tmp_path, members, statistic="mean"):
    """Write MODEL-A's mrsos ``members`` (member -> series); return the series script's settings.

    ``statistic`` is the correlation branch's ensemble statistic: with
    ``mean`` the script sums the members one by one
    (smeval.diag.running_mean); with any other, it computes them all at once.
    """
    planted = {
        ("MODEL-A", "FAM1", "CMIP6", member): {"mrsos": series}
        for member, series in members.items()
    }
    steps = {**STEPS, "ensemble_statistics": {"statistics": [statistic]}}
    return {
        "input_data": _write_planted(tmp_path, planted),
        **_folders(tmp_path, "soil_moisture"),
        "correlation_variables": ["mrsos"],
        "correlation_steps": steps,
        "map_variables": ["mrsos"],
        "map_steps": {"climate_mean": {}, "regrid": STEPS["regrid"]},
    }


@pytest.mark.parametrize("statistic", ["mean", "median"])
def test_a_member_that_fails_only_the_full_check_is_left_out_of_the_mean(
    tmp_path, caplog, statistic
):
    # r3 passes the check of its first, middle and last months but holds an
    # implausible 500 kg m-2 (more water than 10 cm of soil can hold) in its
    # fifth month: the full check excludes it after the compute. The running
    # mean never adds it; computed all at once (median), the statistic is
    # computed again from r1 and r2 alone (their median is their mean).
    rng = np.random.default_rng(5)
    r1, r2, r3 = (50 + rng.normal(size=N_MONTHS) for _ in range(3))
    r3[4] = 500.0
    # r4 fails already in its first month: left out before the mean is built.
    r4 = r1.copy()
    r4[0] = -300.0
    cfg = _one_model(
        tmp_path,
        {"r1i1p1f1": r1, "r2i1p1f1": r2, "r3i1p1f1": r3, "r4i1p1f1": r4},
        statistic,
    )
    with caplog.at_level(logging.WARNING):
        write_regional_series(cfg)

    excluded = _excluded(tmp_path)
    assert sorted(excluded.member) == ["r3i1p1f1", "r4i1p1f1"]
    assert all("plausible range" in r for r in excluded.reason)
    assert_field_is_mean(tmp_path, {"r1i1p1f1": r1, "r2i1p1f1": r2})
    again = [r.getMessage() for r in caplog.records if "again" in r.message]
    if statistic == "mean":
        assert again == []
    else:
        [message] = again
        assert "r3i1p1f1" in message
        assert "mrsos_MODEL-A_r3i1p1f1.nc" in message
    # The excluded members' series and climatologies are not written, nor
    # is a field of the first mean left behind.
    work = tmp_path / "soil_moisture/work"
    assert list(work.rglob(".*.tmp")) == []
    assert sorted(p.name for p in (work / "sm_shallow").glob("*.nc")) == [
        "MODEL-A_r1i1p1f1.nc",
        "MODEL-A_r2i1p1f1.nc",
    ]


def assert_field_is_mean(tmp_path, members: dict[str, np.ndarray]) -> None:
    """Check that MODEL-A's mrsos field names ``members`` (member -> series) and is their mean at every cell."""
    field = iris.load_cube(
        str(tmp_path / "soil_moisture/work/ensemble_fields/mrsos/MODEL-A.nc")
    )
    assert field.attributes["smeval_members"] == ",".join(members)
    data = np.ma.filled(field.data.astype(float), np.nan)
    expected = (sum(members.values()) / len(members))[:, None, None]
    np.testing.assert_allclose(
        data, np.broadcast_to(expected, data.shape), rtol=2e-6
    )


def _computes(monkeypatch):
    """Record the arguments of every dask.compute of the series script."""
    import dask

    from smeval.diag import regional_series

    calls = []

    def compute(*args, **kwargs):
        calls.append(args)
        return dask.compute(*args, **kwargs)

    monkeypatch.setattr(
        regional_series,
        "dask",
        type("D", (), {"compute": staticmethod(compute)}),
    )
    return calls


def _mean_of_members_written(tmp_path, written, members):
    """Check the files written for MODEL-A's ``members`` and that the field is their mean."""
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert names == [
        "soil_moisture/work/ensemble_fields/mrsos/MODEL-A.nc",
        *(
            f"soil_moisture/work/map_climatologies/mrsos/MODEL-A_{m}.nc"
            for m in sorted(members)
        ),
        *(
            f"soil_moisture/work/sm_shallow/MODEL-A_{m}.nc"
            for m in sorted(members)
        ),
    ]
    field = iris.load_cube(str(tmp_path / names[0]))
    expected = np.mean(list(members.values()), axis=0)[:, None, None]
    data = np.ma.filled(field.data.astype(float), np.nan)
    np.testing.assert_allclose(
        data, np.broadcast_to(expected, data.shape), rtol=2e-6
    )


def test_the_members_of_a_data_set_are_computed_two_at_a_time_into_a_running_mean(
    tmp_path, monkeypatch
):
    # Three members: two dask.compute calls (two members, then one), each
    # member's series, climatology and contribution to the mean in its
    # call, so no call holds more than two members (three sampled time
    # steps per member are read before, for the checks).
    rng = np.random.default_rng(6)
    members = {
        f"r{i}i1p1f1": 50 + rng.normal(size=N_MONTHS) for i in (1, 2, 3)
    }
    calls = _computes(monkeypatch)
    written = write_regional_series(_one_model(tmp_path, members))

    assert [len(args[0]) for args in calls] == [2, 1]
    for args in calls:
        for (series, climatologies, _), contribution in args[0]:
            assert set(series) == set(climatologies) == {"mrsos"}
            assert contribution is not None
    _mean_of_members_written(tmp_path, written, members)


def test_a_data_set_is_computed_in_one_dask_compute_for_other_statistics(
    tmp_path, monkeypatch
):
    # With an ensemble statistic other than the mean, every member's series
    # and climatology and the data set's statistic come from one
    # dask.compute of the script. The median of two members is their mean.
    rng = np.random.default_rng(6)
    members = {f"r{i}i1p1f1": 50 + rng.normal(size=N_MONTHS) for i in (1, 2)}
    calls = _computes(monkeypatch)
    written = write_regional_series(_one_model(tmp_path, members, "median"))

    [args] = calls
    *products, mean = args
    assert len(products) == 2
    for series, climatologies, _ in products:
        assert set(series) == set(climatologies) == {"mrsos"}
    assert mean is not None
    _mean_of_members_written(tmp_path, written, members)


def test_a_member_empty_in_its_sampled_steps_only_keeps_its_series_but_not_its_place_in_the_mean(
    tmp_path,
):
    # r2 has no valid value in its first, middle and last months (the ones
    # the sampled check reads) but valid ones elsewhere: the full check keeps
    # its series, the mean was built without it, and excluded.csv says so.
    rng = np.random.default_rng(9)
    r1, r2 = (50 + rng.normal(size=N_MONTHS) for _ in range(2))
    r2[[0, N_MONTHS // 2, N_MONTHS - 1]] = np.nan
    cfg = _one_model(tmp_path, {"r1i1p1f1": r1, "r2i1p1f1": r2})
    write_regional_series(cfg)

    work = tmp_path / "soil_moisture/work"
    assert sorted(p.name for p in (work / "sm_shallow").glob("*.nc")) == [
        "MODEL-A_r1i1p1f1.nc",
        "MODEL-A_r2i1p1f1.nc",
    ]
    [row] = _excluded(tmp_path).itertuples()
    assert (row.member, row.variable) == ("r2i1p1f1", "mrsos")
    assert row.reason.startswith("correlation maps: all values are missing")
    field = iris.load_cube(str(work / "ensemble_fields/mrsos/MODEL-A.nc"))
    assert field.attributes["smeval_members"] == "r1i1p1f1"
    data = np.ma.filled(field.data.astype(float), np.nan)
    np.testing.assert_allclose(
        data, np.broadcast_to(r1[:, None, None], data.shape), rtol=2e-6
    )


@pytest.mark.skipif(
    not codec_available("zstd"), reason="this netCDF library lacks zstd"
)
def test_the_series_script_writes_the_fields_with_the_fields_codec(tmp_path):
    # The file the series script writes has the codec and chunks of
    # ensemble_fields.save_options and holds the mean of the planted members.
    rng = np.random.default_rng(11)
    r1, r2 = (50 + rng.normal(size=N_MONTHS) for _ in range(2))
    write_regional_series(
        _one_model(tmp_path, {"r1i1p1f1": r1, "r2i1p1f1": r2})
    )
    path = tmp_path / "soil_moisture/work/ensemble_fields/mrsos/MODEL-A.nc"
    field = iris.load_cube(str(path))
    wanted = save_options(field.shape)
    with netCDF4.Dataset(path) as dataset:
        variable = dataset["mrsos"]
        filters, chunks = variable.filters(), variable.chunking()
    assert filters["zstd"] is True
    assert filters["complevel"] == wanted["complevel"] == 1
    assert tuple(chunks) == wanted["chunksizes"] == (12, *field.shape[1:])
    data = np.ma.filled(field.data.astype(float), np.nan)
    np.testing.assert_allclose(
        data,
        np.broadcast_to(((r1 + r2) / 2)[:, None, None], data.shape),
        rtol=2e-6,
    )


#: Grid of the fields written directly below: 7 rows of 5 cells.
BAND_GRID = (7, 5)


def _field_file(folder, meta, data, first_month=1) -> None:
    """Write ``data`` (month, lat, lon; NaN missing) from ``first_month`` of 1980 as the series scripts write a field."""
    last = first_month + data.shape[0] - 2  # months after January 1980
    points, bounds = cmorio.monthly_time_axis(
        1980,
        1980 + last // 12,
        "standard",
        first_month=first_month,
        last_month=last % 12 + 1,
    )
    units = cf_units.Unit(cmorio.CMIP6_TIME_UNITS, calendar="standard")
    coords = [
        iris.coords.DimCoord(points, "time", bounds=bounds, units=units),
        iris.coords.DimCoord(
            np.linspace(-60.0, 60.0, BAND_GRID[0]), "latitude", units="degrees"
        ),
        iris.coords.DimCoord(
            np.linspace(0.0, 288.0, BAND_GRID[1]), "longitude", units="degrees"
        ),
    ]
    for coord in coords[1:]:
        coord.guess_bounds()
    cube = iris.cube.Cube(
        np.ma.masked_invalid(data),
        var_name=meta["short_name"],
        units=UNITS[meta["short_name"]],
        dim_coords_and_dims=[(c, i) for i, c in enumerate(coords)],
    )
    label(cube, meta, ["r1i1p1f1"], [])
    path = ensemble_field_path(folder, meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_cube(cube, path, **save_options(cube.shape))


def _varied_fields(folder) -> dict[str, np.ndarray]:
    """Write fields that differ from cell to cell (ERA5 and three models) into ``folder``; return ERA5's, as read (float64, NaN missing)."""
    rng = np.random.default_rng(21)
    shape = (N_MONTHS, *BAND_GRID)
    # Strong coupling in the first band, weak in the second, none in the
    # last: the second band's p-values are near the cut of the false
    # discovery rate control, which depends on the other bands' p-values.
    strength = np.array([3.0, 3.0, 3.0, 0.4, 0.4, 0.4, 0.0])[:, None]
    sea = np.zeros(BAND_GRID, dtype=bool)
    sea[0, :2] = sea[6, 4] = True
    datasets = {
        "ERA5": ("OBS6", "ERA5"),
        "MODEL-A": ("CMIP6", "FAM1"),
        "MODEL-B": ("CMIP6", "FAM2"),
        "MODEL-C": ("CMIP6", "FAM1"),
    }
    era5 = {}
    for dataset, (project, family) in datasets.items():
        x = rng.normal(size=shape)
        fields = {
            "mrsos": 50 + x,
            "pr": 1e-5 * (3 + strength * x + rng.normal(size=shape)),
            "evspsbl": 1e-5 * (1 + 0.3 * rng.normal(size=shape)),
        }
        for short_name, values in fields.items():
            data = values.astype(np.float32)
            data[:, sea] = np.nan
            data[rng.random(shape) < 0.05] = np.nan
            # MODEL-B's pr starts in July 1980: months absent from its file.
            first = 7 if (dataset, short_name) == ("MODEL-B", "pr") else 1
            meta = {
                "short_name": short_name,
                "dataset": dataset,
                "project": project,
                "family": family,
            }
            _field_file(folder, meta, data[first - 1 :], first)
            if dataset == "ERA5":
                era5[short_name] = data.astype(np.float64)
    return era5


def _run_with_budget(tmp_path, monkeypatch, name, budget) -> tuple:
    """Run the correlation script on the fields of :func:`_varied_fields` with bands of at most ``budget`` bytes.

    Returns each output file's fields (var_name -> float32 values, NaN
    masked), the shapes of the fields correlated and of the arrays read.
    """
    correlated, read = [], []
    read_file = FieldFile.read

    def correlation(x, y, *args):
        correlated.append(x.shape)
        return gridpoint_correlation(x, y, *args)

    def recorded_read(self, *args):
        values = read_file(self, *args)
        read.append(values.shape)
        return values

    with monkeypatch.context() as patch:
        patch.setattr(correlation_script, "BLOCK_BYTES", budget)
        patch.setattr(core_correlation, "gridpoint_correlation", correlation)
        patch.setattr(FieldFile, "read", recorded_read)
        written = correlation_fields(
            {
                "ancestor_dirs": [tmp_path / "series"],
                "references": ["ERA5"],
                **_folders(tmp_path, name),
            }
        )
    outputs = {
        path.name: {
            c.var_name: np.ma.filled(c.data, np.nan)
            for c in iris.load(str(path))
        }
        for path in written
    }
    return outputs, correlated, read


def _assert_within_an_ulp(got, expected, what) -> None:
    """NaN in the same cells, elsewhere at most one float32 unit in the last place apart."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), what)
    finite = np.isfinite(expected)
    np.testing.assert_array_max_ulp(got[finite], expected[finite], maxulp=1)


def test_bands_of_grid_rows_give_the_whole_maps_result(tmp_path, monkeypatch):
    # The script reads and correlates a band of grid rows over all months at
    # a time, a band's float64 field at most BLOCK_BYTES: here 3 rows of the
    # 7 (bands of 3, 3 and 1 rows) against the whole map in one band. Each
    # cell depends on its own series; the false discovery rate control is
    # over the whole map's p-values.
    era5 = _varied_fields(tmp_path / "series")
    row_bytes = 8 * N_MONTHS * BAND_GRID[1]
    banded, correlated, read = _run_with_budget(
        tmp_path, monkeypatch, "banded", 3 * row_bytes
    )
    whole, correlated_whole, _ = _run_with_budget(
        tmp_path, monkeypatch, "whole", BAND_GRID[0] * row_bytes
    )
    # No field read or correlated is larger than a band (ERA5's fields over
    # all months; CMIP6-MMEM's models a year at a time).
    assert max(8 * np.prod(shape) for shape in read) == 3 * row_bytes
    assert {shape[1] for shape in read} == {3, 1}
    band = (N_MONTHS, 3, BAND_GRID[1])
    assert correlated == 2 * [band, band, (N_MONTHS, 1, BAND_GRID[1])]
    assert correlated_whole == 2 * [(N_MONTHS, *BAND_GRID)]

    assert (
        sorted(banded)
        == sorted(whole)
        == [
            "correlation_CMIP6-MMEM.nc",
            "correlation_ERA5.nc",
        ]
    )
    for name, fields in banded.items():
        assert sorted(fields) == [
            "p_value",
            "r",
            "significant",
            "significant_fdr",
        ]
        for var in ("significant", "significant_fdr"):
            np.testing.assert_array_equal(fields[var], whole[name][var], var)
        for var in ("r", "p_value"):
            _assert_within_an_ulp(fields[var], whole[name][var], var)
        # The control is over the whole map: band by band, it would differ.
        p_value = fields["p_value"].astype(np.float64)
        by_band = np.concatenate(
            [benjamini_hochberg(p_value[i : i + 3], 0.1) for i in (0, 3, 6)]
        )
        assert (by_band != fields["significant_fdr"].astype(bool)).any()
    # Each band lands on its own rows: ERA5's map is the correlation of the
    # planted series of each cell.
    expected = gridpoint_correlation(
        era5["mrsos"], era5["pr"] - era5["evspsbl"]
    )
    _assert_within_an_ulp(
        banded["correlation_ERA5.nc"]["r"], expected.R.astype(np.float32), "r"
    )
