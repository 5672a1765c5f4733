"""The recipe, the model catalogue and the provenance configuration agree."""

from __future__ import annotations

import pytest
import yaml

from smeval.catalogue import load_catalogue
from smeval.diag.options import parse_options
from smeval.runner import RECIPE, ROOT, recipe_inputs, variable_groups

REFERENCES = {"ERA5", "ERA-Interim", "GLDAS-NOAH"}


@pytest.fixture(scope="module")
def recipe():
    return yaml.safe_load(RECIPE.read_text())


def test_every_variable_lists_exactly_the_models_of_table_1(recipe):
    # A model is listed under a variable if and only if Table 1 gives it members.
    catalogue = load_catalogue()
    for short_name, group in variable_groups(recipe):
        listed = {
            d["dataset"]
            for d in group["additional_datasets"]
            if d["project"] == "CMIP6"
        }
        if short_name in ("sftlf", "areacella"):
            expected = set(catalogue.models)
        else:
            expected = {
                m
                for m, e in catalogue.models.items()
                if e.members.get(short_name, 0) > 0
            }
        assert listed == expected, short_name


def test_the_recipe_reads_every_input_once(recipe):
    # ESMValCore reads a variable group's files anew for every group: the
    # series, the maps' climatologies and the correlation maps share one read.
    inputs = recipe_inputs(recipe)
    assert len(inputs) == len(set(inputs))


def test_models_take_every_member_and_references_are_obs6(recipe):
    for _, group in variable_groups(recipe):
        for entry in group["additional_datasets"]:
            if entry["project"] == "CMIP6":
                assert (
                    entry["ensemble"] == "*" and entry["exp"] == "historical"
                )
            else:
                assert (
                    entry["project"] == "OBS6"
                    and entry["dataset"] in REFERENCES
                )


def test_every_model_has_its_catalogue_family(recipe):
    # The `family` facet is the recipe's family map (SPEC section 4); by default the catalogue's.
    families = load_catalogue().families
    for _, group in variable_groups(recipe):
        for entry in group["additional_datasets"]:
            if entry["project"] == "CMIP6":
                assert entry["family"] == families[entry["dataset"]], entry[
                    "dataset"
                ]


def test_scripts_exist_and_ancestors_are_tasks(recipe):
    tasks = {
        f"{d}/{v}"
        for d, diag in recipe["diagnostics"].items()
        for v in (diag.get("variables") or {})
    }
    tasks |= {
        f"{d}/{s}"
        for d, diag in recipe["diagnostics"].items()
        for s in diag.get("scripts") or {}
    }
    for diag_name, diagnostic in recipe["diagnostics"].items():
        for script in (diagnostic.get("scripts") or {}).values():
            assert (ROOT / script["script"]).is_file(), script["script"]
            for ancestor in script.get("ancestors", []):
                full = (
                    ancestor if "/" in ancestor else f"{diag_name}/{ancestor}"
                )
                assert full in tasks, full


def test_documentation_tags_and_citations_exist(recipe):
    tags = yaml.safe_load((ROOT / "config-references.yml").read_text())
    doc = recipe["documentation"]
    for author in doc["authors"] + doc.get("maintainer", []):
        assert author in tags["authors"]
    for project in doc.get("projects", []):
        assert project in tags["projects"]
    for key in doc.get("references", []):
        assert (ROOT / "references" / f"{key}.bibtex").is_file(), key


def test_every_citation_key_in_the_code_has_a_bibtex_file():
    from smeval.diag.provenance import DATASET_REFERENCES, METHOD_REFERENCES

    keys = (
        set(METHOD_REFERENCES)
        | set(DATASET_REFERENCES.values())
        | {"taylor01jgr", "bretherton99jc"}
    )
    for key in keys:
        text = (ROOT / "references" / f"{key}.bibtex").read_text()
        assert text.lstrip().startswith("@") and key in text, key


def test_config_user_is_valid_for_esmvalcore(tmp_path):
    # ESMValCore's own validators accept the shipped configuration.
    import subprocess
    import sys

    (tmp_path / "config-user.yml").write_text(
        (ROOT / "config-user.yml").read_text()
    )
    code = (
        f"from esmvalcore.config import CFG; CFG.load_from_dirs([__import__('pathlib').Path(r'{tmp_path}')]); "
        "print(CFG['search_data'], sorted(CFG['projects']['CMIP6']['data'])); "
        "print(sorted({s['type'] for p in CFG['projects'].values() for s in p.get('data', {}).values()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "quick" in out.stdout and "sample" in out.stdout
    # ESGF search is off: every data source is a local one.
    assert (
        out.stdout.splitlines()[-1]
        == "['esmvalcore.io.local.LocalDataSource']"
    )


#: Diagnostics of the recipe with a regional-series script.
SERIES_DIAGNOSTICS = ("soil_moisture", "water_budget", "runoff")


def _series_options(recipe):
    """(diagnostic, parsed options) of the regional-series scripts."""
    from smeval.diag.regional_series import SeriesOptions

    for name in SERIES_DIAGNOSTICS:
        script = recipe["diagnostics"][name]["scripts"]["regional_series"]
        yield (
            name,
            parse_options(
                SeriesOptions,
                script,
                f"{name}/regional_series",
                announce_errors=False,
            ),
        )


def test_map_climatologies_cover_the_maps_on_the_correlation_grid(recipe):
    # The maps read each member's climatology from the series scripts: together
    # they must give mrsos, mrsol, pr, evspsbl and mrros, with steps whose
    # signatures fit, regridded exactly as the correlation fields are.
    diagnostics = recipe["diagnostics"]
    covered = set()
    for name, options in _series_options(recipe):
        covered |= set(options.map_variables)
        assert set(options.map_variables) <= set(
            diagnostics[name]["variables"]
        ), name
        assert (
            options.map_steps["regrid"]
            == recipe["script_options"]["common_grid"]
        )
        assert list(options.map_steps) == [
            "climate_mean",
            "regrid",
            "mask_landsea",
        ]
        assert list(options.series_steps) == ["soil_column", "box_means"]
    assert covered == {"mrsos", "mrsol", "pr", "evspsbl", "mrros"}
    assert set(
        diagnostics["maps"]["scripts"]["climatology_fields"]["ancestors"]
    ) == {f"{name}/regional_series" for name in SERIES_DIAGNOSTICS}


def test_the_metrics_and_maps_read_every_series_script(recipe):
    # A series script missing from their ancestors would silently drop its
    # variables from the metrics, the figures and the maps.
    series = {
        f"{d}/{s}"
        for d, diag in recipe["diagnostics"].items()
        for s, script in (diag.get("scripts") or {}).items()
        if script["script"] == "diagnostics/regional_series.py"
    }
    assert series == {f"{name}/regional_series" for name in SERIES_DIAGNOSTICS}
    for diagnostic, script in (
        ("skill", "metrics"),
        ("maps", "climatology_fields"),
    ):
        ancestors = recipe["diagnostics"][diagnostic]["scripts"][script][
            "ancestors"
        ]
        assert set(ancestors) == series, script


def test_the_longest_series_script_comes_before_the_preprocessing_it_does_not_need(
    recipe,
):
    # ESMValCore starts ready tasks in recipe order: the precipitation and
    # evaporation series (the longest script) starts as soon as pr and
    # evspsbl are preprocessed, before runoff and snow melt are.
    order = list(recipe["diagnostics"])
    assert order.index("water_budget") < order.index("runoff")
    assert set(recipe["diagnostics"]["water_budget"]["variables"]) == {
        "pr",
        "evspsbl",
    }


def test_the_series_scripts_form_each_model_mean_on_the_common_grid_for_the_correlation(
    recipe,
):
    # No second read: the series scripts apply the correlation branch
    # (ESMValCore's ensemble mean, then the maps' common grid) to the mrsos,
    # pr and evspsbl (pr and evspsbl land only) they read, and the
    # correlation script reads their fields.
    from smeval.diag.regional_series import CORRELATION_STEPS

    diagnostics = recipe["diagnostics"]
    covered = set()
    for name, options in _series_options(recipe):
        covered |= set(options.correlation_variables)
        for variable in options.correlation_variables:
            preprocessor = recipe["preprocessors"][
                diagnostics[name]["variables"][variable]["preprocessor"]
            ]
            assert ("mask_landsea" in preprocessor) == (variable != "mrsos"), (
                variable
            )
        steps = options.correlation_steps
        assert list(steps) == ["ensemble_statistics", "regrid"]
        assert steps["regrid"] == recipe["script_options"]["common_grid"]
        # The script's default steps are the recipe's.
        assert steps == dict(CORRELATION_STEPS)
    assert covered == {"mrsos", "pr", "evspsbl"}
    script = diagnostics["correlation"]["scripts"]["correlation_fields"]
    assert not diagnostics["correlation"].get("variables")
    assert set(script["ancestors"]) == {
        "soil_moisture/regional_series",
        "water_budget/regional_series",
    }
    assert "correlation_steps" not in script


def test_no_script_option_is_named_like_an_esmvalcore_key(recipe):
    # `preprocessor`, `variables`, `additional_datasets`, ... belong to ESMValCore's recipe schema.
    esmvalcore_keys = {
        "preprocessor",
        "preprocessors",
        "variables",
        "additional_datasets",
        "datasets",
        "scripts",
        "description",
        "themes",
        "realms",
        "custom_order",
    }
    for diagnostic in recipe["diagnostics"].values():
        for script in (diagnostic.get("scripts") or {}).values():
            assert not esmvalcore_keys & set(script), script["script"]


def test_the_mrsol_layers_kept_cover_the_deep_column_of_every_data_set(recipe):
    # The mrsol preprocessor keeps the layers whose depth point (their centre,
    # as the sample archive and the CMIP6 files of the catalogue's sources
    # write it) lies above its extract_volume limit; every layer whose top
    # lies above deep_depth must be among them, for every land model and
    # reanalysis of the catalogue.
    mrsol = recipe["diagnostics"]["soil_moisture"]["variables"]["mrsol"]
    kept = recipe["preprocessors"][mrsol["preprocessor"]]["extract_volume"]
    assert kept["z_min"] <= 0.0
    assert kept["interval_bounds"] in ("left_closed", "closed")
    deep = recipe["script_options"]["series_options"]["deep_depth"]
    catalogue = load_catalogue()
    layerings = {
        **{n: m.layer_bounds for n, m in catalogue.land_models.items()},
        **{n: r.layer_bounds for n, r in catalogue.reanalyses.items()},
    }
    for name, bounds in layerings.items():
        needed = bounds[bounds[:, 0] < deep]
        assert (needed.mean(axis=1) < kept["z_max"]).all(), (name, needed)
    # The margin is real: some model has layers below the limit to drop.
    assert any(
        (b.mean(axis=1) >= kept["z_max"]).any() for b in layerings.values()
    )
