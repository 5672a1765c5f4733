"""smeval's Climate-REF provider without running esmvaltool: registration, requirements, recipe, references."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pandas as pd
import pytest
import yaml
from climate_ref_core.datasets import (
    ExecutionDatasetCollection,
    SourceDatasetType,
)
from climate_ref_core.diagnostics import ExecutionDefinition
from climate_ref_core.providers import DiagnosticProvider, import_provider

from smeval import runner
from smeval.ref import recipe as ref_recipe

ALL_VARIABLES = {"mrsos", "mrsol", "pr", "evspsbl", "mrros", "snm"}


@pytest.fixture
def provider():
    provider = import_provider("smeval.ref:provider")
    saved = provider.reference_dir
    yield provider
    provider.reference_dir = saved


def test_registered_under_climate_ref_providers():
    (entry,) = [
        e
        for e in entry_points(group="climate-ref.providers")
        if e.name == "smeval"
    ]
    provider = entry.load()
    assert isinstance(provider, DiagnosticProvider)
    assert {d.slug for d in provider.diagnostics()} == {
        "soil-moisture-skill",
        "soil-moisture-pme-correlation",
    }


def test_data_requirements_cover_every_variable_for_cmip6_and_cmip7(provider):
    cmip6, cmip7 = set(), set()
    for diagnostic in provider.diagnostics():
        (req6,), (req7,) = diagnostic.data_requirements
        assert req6.source_type is SourceDatasetType.CMIP6
        assert req7.source_type is SourceDatasetType.CMIP7
        assert req6.group_by == ("source_id", "experiment_id")
        cmip6 |= set(req6.filters[0].facets["variable_id"])
        cmip7 |= set(req7.filters[0].facets["branded_variable"])
        supplementary = {
            c.supplementary_facets["variable_id"]
            for c in req6.constraints
            if hasattr(c, "supplementary_facets")
        }
        assert supplementary == {"sftlf", "areacella"}
    assert cmip6 == ALL_VARIABLES
    # Climate-REF maps these four to CMIP7 (mrros and snm have no CMIP7 name there).
    assert cmip7 == {
        "mrsol_tavg-d10cm-hxy-lnd",
        "mrsol_tavg-sl-hxy-lnd",
        "pr_tavg-u-hxy-u",
        "evspsbl_tavg-u-hxy-u",
    }


def test_requirements_select_what_the_recipe_reads():
    catalog = pd.DataFrame(
        [
            {
                "source_id": "M",
                "experiment_id": "historical",
                "variable_id": v,
                "table_id": t,
                "grid_label": "gn",
                "member_id": "r1i1p1f1",
                "version": "v1",
                "instance_id": f"CMIP6.CMIP.I.M.historical.r1i1p1f1.{t}.{v}.gn.v1",
                "path": f"/{v}.nc",
            }
            for v, t in (
                ("mrsos", "Lmon"),
                ("mrsol", "Emon"),
                ("pr", "Amon"),
                ("tas", "Amon"),
                ("mrsos", "day"),
            )
        ]
    )
    provider = import_provider("smeval.ref:provider")
    (req,), _ = provider.get("soil-moisture-skill").data_requirements
    assert sorted(req.apply_filters(catalog)["variable_id"]) == [
        "mrsol",
        "mrsos",
    ]


def _definition(tmp_path, diagnostic) -> ExecutionDefinition:
    return ExecutionDefinition(
        diagnostic=diagnostic,
        key="k",
        datasets=ExecutionDatasetCollection({}),
        output_directory=tmp_path / "out",
        root_directory=tmp_path,
    )


def test_missing_reference_data_is_one_line_with_the_command(
    provider, tmp_path
):
    obs6 = tmp_path / "OBS6"
    (obs6 / "Tier3" / "ERA5").mkdir(parents=True)
    for short_name in ("mrsos", "sftlf"):
        (
            obs6
            / "Tier3"
            / "ERA5"
            / f"OBS6_ERA5_reanaly_1_Lmon_{short_name}_1979-2014.nc"
        ).touch()
    provider.reference_dir = obs6
    diagnostic = provider.get("soil-moisture-skill")
    with pytest.raises(ref_recipe.MissingReferenceData) as info:
        diagnostic.build_cmd(_definition(tmp_path, diagnostic))
    message = str(info.value)
    assert "\n" not in message
    assert (
        f"missing in {obs6}: ERA5 mrsol; ERA-Interim mrsol, mrsos, sftlf; GLDAS-NOAH"
        in message
    )
    assert (
        f"`smeval cmorize GLDAS --raw RAW_GLDAS_NOAH --out {obs6}`" in message
    )
    assert "`smeval cmorize ERA5 " in message
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_no_reference_folder_configured(provider, tmp_path, monkeypatch):
    monkeypatch.delenv("SMEVAL_REF_OBS6", raising=False)
    provider.reference_dir = None
    with pytest.raises(ref_recipe.MissingReferenceData, match="reference_dir"):
        provider.reference_folder()
    monkeypatch.setenv("SMEVAL_REF_OBS6", str(tmp_path))
    assert provider.reference_folder() == tmp_path
    assert not provider.validate_setup(None)  # the folder holds no reanalysis


@pytest.mark.parametrize(
    "slug", ["soil-moisture-skill", "soil-moisture-pme-correlation"]
)
def test_restricted_recipe_is_consistent(provider, slug):
    # Every ancestor of a kept script is a kept variable group or script, and
    # every variable group reads the execution's model and the reanalyses present.
    diagnostic = provider.get(slug)
    recipe = yaml.safe_load(runner.RECIPE.read_text())
    model = {
        "project": "CMIP6",
        "dataset": "M",
        "activity": "CMIP",
        "institute": "I",
        "exp": "historical",
        "ensemble": "r1i1p1f1",
        "grid": "gn",
    }
    variables = (*diagnostic.variables, "sftlf", "areacella")
    present = {("ERA5", v) for v in variables}
    ref_recipe.edit_recipe(
        recipe,
        diagnostic.scripts,
        variables,
        {v: [model] for v in variables},
        present,
    )
    assert set(recipe["diagnostics"]) == set(diagnostic.scripts)
    names = set()
    for name, diag in recipe["diagnostics"].items():
        assert set(diag.get("scripts") or {}) == set(diagnostic.scripts[name])
        for group_name, group in (diag.get("variables") or {}).items():
            names.add(f"{name}/{group_name}")
            # The recipe reads no cell areas of the reanalyses.
            expected = ["M"] if group_name == "areacella" else ["M", "ERA5"]
            assert [
                d["dataset"] for d in group["additional_datasets"]
            ] == expected
        names |= {f"{name}/{s}" for s in diag.get("scripts") or {}}
    for name, diag in recipe["diagnostics"].items():
        for script in (diag.get("scripts") or {}).values():
            assert "map_variables" not in script
            assert "map_steps" not in script
            for ancestor in script.get("ancestors", []):
                assert (
                    ancestor if "/" in ancestor else f"{name}/{ancestor}"
                ) in names, ancestor
    short_names = {
        g
        for d in recipe["diagnostics"].values()
        for g in (d.get("variables") or {})
    }
    assert short_names == set(variables)


def test_common_years_of_the_execution():
    datasets = pd.DataFrame(
        {
            "instance_id": ["a", "a", "b", "fx"],
            "start_time": ["1970-01-16", "1990-01-16", "1981-01-16", None],
            "end_time": ["1989-12-16", "2014-12-16", "2010-12-16", None],
        }
    )
    assert ref_recipe.common_years(datasets) == (1981, 2010)
    # Catalogue times of a 360-day calendar (30 February) as cftime objects.
    import cftime

    cal360 = datasets.assign(
        start_time=[
            cftime.Datetime360Day(1980, 2, 30),
            None,
            "1981-01-16",
            None,
        ],
        end_time=[
            cftime.Datetime360Day(2012, 2, 30),
            None,
            "2010-12-16",
            None,
        ],
    )
    assert ref_recipe.common_years(cal360) == (1981, 2010)
    with pytest.raises(ValueError, match="share no year"):
        ref_recipe.common_years(
            datasets.assign(start_time=["2015-01-01"] * 3 + [None])
        )


def test_output_bundle_paths_move_under_the_execution():
    from smeval.ref.diagnostics import _rebase

    bundle = {
        "index": "plots/r.html",
        "provenance": {
            "environment": {},
            "modeldata": [],
            "obsdata": [],
            "log": "run/main_log.txt",
        },
        "html": {
            "plots/r.html": {
                "filename": "plots/r.html",
                "long_name": "r",
                "description": "",
            }
        },
        "data": {},
        "plots": None,
        "metrics": None,
    }
    out = _rebase(bundle, "executions/recipe_x")
    assert out["index"] == "executions/recipe_x/plots/r.html"
    assert out["html"] == {
        "executions/recipe_x/plots/r.html": {
            "filename": "executions/recipe_x/plots/r.html",
            "long_name": "r",
            "description": "",
        }
    }
    assert out["provenance"]["log"] == "executions/recipe_x/run/main_log.txt"
    assert Path(out["index"]).parts[0] == "executions"


def test_ref_providers_setup_names_the_missing_files_and_commands(tmp_path):
    # The `ref` command line, offline: setting the provider up checks the
    # reference folder of ref.toml and fails with one line per problem.
    import os
    import subprocess
    import sys

    obs6 = tmp_path / "OBS6"
    (tmp_path / "ref.toml").write_text(
        f'[[diagnostic_providers]]\nprovider = "smeval.ref:provider"\n\n'
        f'[diagnostic_providers.config]\nreference_dir = "{obs6}"\n'
    )
    ref = str(Path(sys.executable).with_name("ref"))
    process = subprocess.run(
        [
            ref,
            "--log-level",
            "warning",
            "providers",
            "setup",
            "--provider",
            "smeval",
        ],
        check=False,
        env={
            **os.environ,
            "REF_CONFIGURATION": str(tmp_path),
            "COLUMNS": "400",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 1
    (line,) = [
        x
        for x in (process.stdout + process.stderr).splitlines()
        if "reference data missing" in x
    ]
    assert f"missing in {obs6}: ERA5 evspsbl, mrsol, mrsos, pr, sftlf;" in line
    assert (
        f"`smeval cmorize ERA-Interim --raw RAW_ERA_INTERIM --out {obs6}`"
        in line
    )


def test_recipe_entries_from_the_catalogue():
    rows = pd.DataFrame(
        [
            {
                "instance_id": "CMIP6.CMIP.MPI-M.M.historical.r2i1p1f1.Lmon.mrsos.gn.v1",
                "source_id": "M",
                "member_id": "r2i1p1f1",
                "institution_id": "MPI-M",
                "experiment_id": "historical",
                "grid_label": "gn",
                "variable_id": "mrsos",
            },
            {
                "instance_id": "CMIP7.CMIP.X.N.historical.r1i1p1f1.glb.mon.mrsol.tavg-d10cm-hxy-lnd.gn.v2",
                "source_id": "N",
                "variant_label": "r1i1p1f1",
                "institution_id": "X",
                "experiment_id": "historical",
                "grid_label": "gn",
                "variable_id": "mrsol",
                "branded_variable": "mrsol_tavg-d10cm-hxy-lnd",
                "branding_suffix": "tavg-d10cm-hxy-lnd",
                "region": "glb",
                "frequency": "mon",
                "realm": "land",
            },
        ]
    )
    entries = ref_recipe.recipe_datasets(rows)
    assert list(entries) == ["mrsos"]
    cmip6, cmip7 = entries["mrsos"]
    assert cmip6 == {
        "project": "CMIP6",
        "activity": "CMIP",
        "dataset": "M",
        "ensemble": "r2i1p1f1",
        "institute": "MPI-M",
        "exp": "historical",
        "grid": "gn",
    }
    assert cmip7["project"] == "CMIP7"
    assert cmip7["short_name"] == "mrsol"
    assert cmip7["mip"] == "land"
    assert cmip7["branding_suffix"] == "tavg-d10cm-hxy-lnd"
    assert cmip7["ensemble"] == "r1i1p1f1"
