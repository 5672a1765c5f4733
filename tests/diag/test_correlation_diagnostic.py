"""The correlation-map diagnostic on planted members (Fig. 11).

Its inputs are the monthly fields preprocessed for the regional series, one
file per member. Each model's members are averaged and regridded by the
recipe's ESMValCore steps, the models are averaged over families, and the
correlation of soil moisture with P - E is taken per grid cell. The fields
below are uniform in space, so every cell of the common grid must hold the
correlation of the planted series, computed here with scipy.
"""

from __future__ import annotations

import iris
import netCDF4
import numpy as np
import pandas as pd
import pytest
import yaml
from diag_helpers import write_uniform
from scipy import stats

from smeval.diag.correlation_fields import correlation_fields

#: Months of the planted series: 1980-1982.
N_MONTHS = 36
#: The recipe's steps (recipes/recipe_soilmoisture.yml, correlation_fields).
STEPS = {
    "ensemble_statistics": {"statistics": ["mean"]},
    "regrid": {
        "target_grid": "1.125x1.125",
        "scheme": {"reference": "smeval.regrid:AreaWeighted"},
    },
}
UNITS = {"mrsos": "kg m-2", "pr": "kg m-2 s-1", "evspsbl": "kg m-2 s-1"}
MIPS = {"mrsos": "Lmon", "pr": "Amon", "evspsbl": "Amon"}


def _inputs(tmp_path, planted):
    """Write ``planted`` and return the script's settings.

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
    for name in ("work", "run"):
        (tmp_path / name).mkdir(exist_ok=True)
    return {
        "input_data": inputs,
        "work_dir": str(tmp_path / "work"),
        "run_dir": str(tmp_path / "run"),
        "correlation_steps": STEPS,
        "references": ["ERA5"],
    }


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
    # Provenance names each member's files.
    provenance = yaml.safe_load(
        (tmp_path / "run" / "diagnostic_provenance.yml").read_text()
    )
    record = provenance[str(work / "correlation_CMIP6-MMEM.nc")]
    assert (
        len(record["ancestors"]) == 3 * 5
    )  # three variables of five model members
    assert not (work / "excluded.csv").exists()


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
        "excluded.csv",
    }
    excluded = pd.read_csv(work / "excluded.csv")
    assert set(excluded.dataset) == {"MODEL-B"}
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
        "run_dir": str(
            tmp_path / "run" / "correlation" / "correlation_fields"
        ),
    }

    def error(steps):
        with pytest.raises(OptionsError) as info:
            correlation_fields({**cfg, "correlation_steps": steps})
        return str(info.value)

    where = "correlation/correlation_fields: correlation_steps"
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
    cfg = _inputs(tmp_path, planted)
    [path] = [
        f
        for f, m in cfg["input_data"].items()
        if m["short_name"] == "pr" and m.get("ensemble") == "r2i1p1f1"
    ]
    with netCDF4.Dataset(path, "a") as nc:
        nc["pr"][:] = nc["pr"][:] * factor
        nc["pr"].units = units
    correlation_fields(cfg)
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
        assert not (work / "excluded.csv").exists()
    else:
        [reason] = pd.read_csv(work / "excluded.csv").reason
        assert f"units '{units}' where pr must be in kg m-2 s-1" in reason
