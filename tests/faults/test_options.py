"""Recipe options are checked before any data is read: one clear line per problem (issue 19, point 4)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from smeval.check.core import CheckResult, check_options
from smeval.diag.climatology_fields import ClimatologyOptions
from smeval.diag.correlation_fields import CorrelationOptions
from smeval.diag.figures import FiguresOptions
from smeval.diag.metrics import MetricsOptions
from smeval.diag.options import (
    ESMVALCORE_KEYS,
    OptionsError,
    option_names,
    parse_options,
)
from smeval.diag.regional_series import SeriesOptions, series_options
from smeval.diag.report import ReportOptions

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = {
    "regional_series": SeriesOptions,
    "metrics": MetricsOptions,
    "figures": FiguresOptions,
    "climatology_fields": ClimatologyOptions,
    "correlation_fields": CorrelationOptions,
    "report": ReportOptions,
}


def _error(cls, **settings) -> str:
    with pytest.raises(OptionsError) as info:
        parse_options(cls, settings, "script", announce_errors=False)
    message = str(info.value)
    assert "\n" not in message  # one line
    return message


def test_a_misspelled_key_is_an_error_with_the_right_name():
    message = _error(MetricsOptions, tss_treshold=0.7)
    assert (
        "unknown option `tss_treshold` (did you mean `tss_threshold`?)"
        in message
    )


def test_the_keys_esmvalcore_writes_are_not_unknown():
    settings = dict.fromkeys(ESMVALCORE_KEYS, "x") | {"tss_threshold": 0.7}
    options = parse_options(
        MetricsOptions, settings, "metrics", announce_errors=False
    )
    assert options.tss_threshold == 0.7
    assert options.r0 == 1.0  # the default


@pytest.mark.parametrize(
    ("cls", "settings", "expected"),
    [
        (
            MetricsOptions,
            {"tss_threshold": 1.5},
            "`tss_threshold` is 1.5; it must be 0 < tss_threshold < 1",
        ),
        (MetricsOptions, {"tss_threshold": 0}, "0 < tss_threshold < 1"),
        (MetricsOptions, {"r0": 2.0}, "-1 < r0 <= 1"),
        (
            MetricsOptions,
            {"tss_threshold": "high"},
            "`tss_threshold` must be a number, not 'high'",
        ),
        (MetricsOptions, {"references": []}, "`references` names no data set"),
        (
            SeriesOptions,
            {"shallow_depth": 3.0},
            "`shallow_depth` (3 m) must be less than `deep_depth` (2 m)",
        ),
        (
            SeriesOptions,
            {"deep_depth": -1.0},
            "`deep_depth` is -1 m; it must be 0 < deep_depth",
        ),
        (
            SeriesOptions,
            {"regions": ["EUR", "EUROPE"]},
            "unknown value `EUROPE` (did you mean `EUR`?)",
        ),
        (
            SeriesOptions,
            {"shallow_from_mrsol": "yes"},
            "must be true or false",
        ),
        (FiguresOptions, {"figures": [5, 15]}, "the paper's figures are 1-14"),
        (
            FiguresOptions,
            {"figure_references": ["GLDAS"]},
            "`figure_references` has GLDAS",
        ),
        (
            CorrelationOptions,
            {"significance_method": "bootstrap"},
            "unknown value `bootstrap`",
        ),
        (
            CorrelationOptions,
            {"significance_level": 95},
            "0 < significance_level < 1",
        ),
        (
            ClimatologyOptions,
            {"bias_ratio_min": {"sm_shalow": 1.0}},
            "did you mean `sm_shallow`",
        ),
        (
            ClimatologyOptions,
            {"bias_ratio_min": {"pr": -1.0}},
            "`bias_ratio_min: pr` is -1",
        ),
        (ReportOptions, {"n_top": 0}, "1 <= n_top"),
    ],
)
def test_out_of_range_and_inconsistent_options(cls, settings, expected):
    assert expected in _error(cls, **settings)


def test_shallow_depth_must_match_mrsos_when_mrsos_is_read():
    # mrsos is 0-0.1 m: another shallow depth would label (and mix) a different column.
    cfg = {
        "shallow_depth": 0.05,
        "input_data": {"a.nc": {"short_name": "mrsos"}},
    }
    with pytest.raises(
        OptionsError, match=r"mrsos .* is the soil water of 0-0.1 m"
    ):
        series_options(cfg)
    assert (
        series_options(
            {**cfg, "input_data": {"a.nc": {"short_name": "mrsol"}}}
        ).shallow_depth
        == 0.05
    )


def _docstring_options(script: Path) -> set[str]:
    """Option names of the ``Script options (recipe)`` section of a diagnostic script's docstring."""
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    section = doc.split(
        "Script options (recipe)\n-----------------------\n", 1
    )[1]
    names = set()
    for line in section.split("\n\n", 1)[0].splitlines():
        if line and not line[0].isspace():
            head = line.split(" : ")[0]
            names |= {
                n.strip()
                for n in head.split(",")
                if re.fullmatch(r"[a-z_0-9]+", n.strip())
            }
    return names


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_scripts_docstring_lists_exactly_its_options(script):
    documented = _docstring_options(ROOT / "diagnostics" / f"{script}.py")
    assert documented == set(option_names(SCRIPTS[script]))


def test_the_recipe_of_the_repository_passes_the_options_check():
    recipe = yaml.safe_load(
        (ROOT / "recipes" / "recipe_soilmoisture.yml").read_text(
            encoding="utf-8"
        )
    )
    result = CheckResult()
    check_options(recipe, result)
    assert result.rows == []


def test_the_check_finds_every_bad_option_of_a_recipe_at_once():
    recipe = yaml.safe_load(
        (ROOT / "recipes" / "recipe_soilmoisture.yml").read_text(
            encoding="utf-8"
        )
    )
    scripts = recipe["diagnostics"]
    scripts["skill"]["scripts"]["metrics"]["tss_treshold"] = 0.5
    scripts["skill"]["scripts"]["metrics"]["references"] = [
        "ERA5",
        "ERA-Interim",
        "GLDAS",
    ]
    scripts["soil_moisture"]["scripts"]["regional_series"]["deep_depth"] = -2.0
    result = CheckResult()
    check_options(recipe, result)
    problems = " | ".join(r["problem"] for r in result.rows)
    assert (
        "skill/metrics: unknown option `tss_treshold` (did you mean `tss_threshold`?)"
        in problems
    )
    assert "regional_series: option `deep_depth` is -2 m" in problems
    # GLDAS is no data set of the recipe: the closest observation is named.
    assert (
        "reference `GLDAS` of option `references` is not a data set of this run (did you mean `GLDAS-NOAH`?)"
        in problems
    )
    assert all(r["in the run"] == "stops the run" for r in result.rows)


def _edited_recipe(tmp_path, edit) -> dict:
    """The repository's recipe, changed by ``edit`` and written to (and read back from) ``tmp_path``."""
    recipe = yaml.safe_load(
        (ROOT / "recipes" / "recipe_soilmoisture.yml").read_text(
            encoding="utf-8"
        )
    )
    edit(recipe)
    path = tmp_path / "recipe_soilmoisture.yml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("branch", "step", "change", "expected"),
    [
        (
            "map_steps",
            "regrid",
            {"targt_grid": "1x1"},
            "soil_moisture/regional_series: map_steps: regrid: unknown option 'targt_grid' (did you mean `target_grid`?) "
            "(accepted: target_grid, scheme, lat_offset, lon_offset, cache_weights, use_src_coords)",
        ),
        (
            "map_steps",
            "mask_landsea",
            {"mask_out": None},
            "soil_moisture/regional_series: map_steps: mask_landsea: missing option 'mask_out'",
        ),
        (
            "series_steps",
            "box_means",
            {"regoins": ["EUR"]},
            "soil_moisture/regional_series: series_steps: box_means: unknown option 'regoins' (accepted: "
            "exclude_ice_sheets)",
        ),
    ],
)
def test_a_typo_in_a_recipe_step_is_one_line_naming_the_recipe_key(
    tmp_path, branch, step, change, expected
):
    def edit(recipe):
        script = recipe["diagnostics"]["soil_moisture"]["scripts"][
            "regional_series"
        ]
        steps = {
            k: dict(v or {}) for k, v in script[branch].items()
        }  # not the anchor shared with water_budget
        steps[step] = {
            k: v for k, v in {**steps[step], **change}.items() if v is not None
        }
        script[branch] = steps

    recipe = _edited_recipe(tmp_path, edit)
    # `smeval check` finds it ...
    result = CheckResult()
    check_options(recipe, result)
    assert [r["problem"] for r in result.rows] == [
        f"recipe option: {expected}"
    ]
    # ... and so does the script, before it reads any data (no input_data at all).
    settings = {
        **recipe["diagnostics"]["soil_moisture"]["scripts"]["regional_series"],
        "run_dir": str(tmp_path / "run" / "soil_moisture" / "regional_series"),
    }
    with pytest.raises(OptionsError) as info:
        series_options(settings)
    assert str(info.value) == expected


def test_an_unknown_step_in_the_correlation_branch_is_named(tmp_path):
    def edit(recipe):
        script = recipe["diagnostics"]["water_budget"]["scripts"][
            "regional_series"
        ]
        script["correlation_steps"] = {
            "ensemble_mean": {},
            **script["correlation_steps"],
        }

    result = CheckResult()
    check_options(_edited_recipe(tmp_path, edit), result)
    assert [r["problem"] for r in result.rows] == [
        "recipe option: water_budget/regional_series: correlation_steps: unknown step 'ensemble_mean' (did you "
        "mean `ensemble_statistics`?); a step is a function of smeval.preprocessor or esmvalcore.preprocessor"
    ]
