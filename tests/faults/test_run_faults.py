"""Real ``esmvaltool run``s on a copy of the tiny archive with faults planted (issue 19, points 1-4).

Two runs: one with a faulty archive, run from the recipe that ``smeval
check`` restricts (what would stop the run is left out, what the run
tolerates stays in and is excluded there, each with its reason); and one
with a bad option, whose one-line error must reach the terminal.
"""

from __future__ import annotations

from pathlib import Path

import iris
import pandas as pd
import pytest
import yaml

from smeval import runner
from smeval.check.core import CheckResult, run_check, write_restricted_recipe
from smeval.check.files import STOPS_RUN

from . import plant
from .conftest import case_recipe, misspelled_region

pytestmark = pytest.mark.e2e


def _without_gldas_reference(recipe: dict) -> None:
    for diagnostic in recipe["diagnostics"].values():
        for script in (diagnostic.get("scripts") or {}).values():
            if "references" in script:
                script["references"] = ["ERA5", "ERA-Interim"]
            for key in ("figure_references", "ranking_references"):
                if key in script:
                    script[key] = ["ERA5"]


@pytest.fixture(scope="module")
def faulty_run(tiny_archive, tmp_path_factory):
    root = tmp_path_factory.mktemp("faulty_run")
    archive = plant.copy_archive(tiny_archive, root / "archive")
    recipe, config = case_recipe(root, archive, edit=_without_gldas_reference)
    # Faults that would stop the run: the check leaves them out of the recipe.
    for member in ("r1i1p1f2", "r2i1p1f2"):
        plant.remove(
            plant.cmip6_file(archive, "CNRM-CM6-1", member, "pr").parents[2]
        )
    plant.truncate(plant.cmip6_file(archive, "MIROC6", "r1i1p1f1", "evspsbl"))
    # Faults the run tolerates: it excludes them itself.
    plant.scale(
        plant.cmip6_file(archive, "MIROC6", "r1i1p1f1", "mrsos"), 1000.0
    )
    plant.fill(plant.cmip6_file(archive, "MIROC6", "r2i1p1f1", "mrsos"))
    path = plant.cmip6_file(archive, "MPI-ESM1-2-LR", "r2i1p1f1", "mrsos")
    path.rename(str(path).replace("197901-198112", "197901-198012"))
    result = run_check(config, recipe)
    stopping = CheckResult(
        rows=[r for r in result.rows if r["in the run"] == STOPS_RUN],
        entries=result.entries,
    )
    restricted = write_restricted_recipe(
        recipe, stopping, root / "recipe_restricted.yml"
    )
    process = runner.run_recipe(restricted, config, check=False)
    assert process.returncode == 0, (
        process.stdout[-5000:] + process.stderr[-5000:]
    )
    return {
        "run": runner.latest_run_dir(root / "output", restricted.name),
        "recipe": restricted,
    }


def _excluded(run: Path) -> pd.DataFrame:
    return pd.read_csv(
        run / "work/skill/metrics/excluded.csv",
        dtype=str,
        keep_default_na=False,
    )


def test_the_restricted_recipe_says_what_it_left_out(faulty_run):
    description = yaml.safe_load(faulty_run["recipe"].read_text())[
        "documentation"
    ]["description"]
    assert (
        "CNRM-CM6-1 pr (water_budget/pr): no files of CMIP6 CNRM-CM6-1 pr"
        in description
    )
    assert (
        "MIROC6 r1i1p1f1 evspsbl: unreadable or truncated file" in description
    )


@pytest.mark.parametrize(
    ("dataset", "member", "words"),
    [
        ("MIROC6", "r1i1p1f1", "outside the plausible range -1 to 100 kg m-2"),
        ("MIROC6", "r2i1p1f1", "all values are missing"),
        (
            "MPI-ESM1-2-LR",
            "r2i1p1f1",
            "skipped by ESMValCore: No input data available for years 1981",
        ),
        (
            "GLDAS-NOAH",
            "",
            "an observation data set (OBS6) that is not among the references",
        ),
    ],
)
def test_each_exclusion_is_listed_with_its_reason(
    faulty_run, dataset, member, words
):
    excluded = _excluded(faulty_run["run"])
    rows = excluded[
        (excluded.dataset == dataset) & (excluded.member == member)
    ]
    assert rows.reason.str.contains(words, regex=False).any(), (
        excluded.to_string()
    )


def test_an_observation_that_is_no_reference_never_becomes_a_model(faulty_run):
    metrics = pd.read_csv(faulty_run["run"] / "work/skill/metrics/metrics.csv")
    assert "GLDAS-NOAH" not in set(metrics.dataset)
    assert set(metrics.reference) == {"ERA5", "ERA-Interim"}


def test_member_counts_per_model_and_variable(faulty_run):
    members = pd.read_csv(
        faulty_run["run"] / "work/skill/metrics/members.csv",
        keep_default_na=False,
    )
    count = {
        (r.dataset, r.variable): r.n_members for r in members.itertuples()
    }
    assert (
        count[("MPI-ESM1-2-LR", "sm_shallow")] == 1
    )  # r2 skipped by ESMValCore
    assert ("MIROC6", "sm_shallow") not in count  # both members excluded
    assert count[("MIROC6", "sm_deep")] == 2
    assert (
        count[("MIROC6", "evspsbl")] == 1
    )  # r1 left out by the check (truncated)
    assert ("CNRM-CM6-1", "pr") not in count


def test_the_correlation_maps_leave_out_the_same_members(faulty_run):
    # The series script excludes both MIROC6 mrsos members, so its monthly
    # field for the correlation maps has no member left: MIROC6 is in none
    # of the correlation maps. MPI-ESM1-2-LR's mean has r1 only (ESMValCore
    # skipped r2).
    work = faulty_run["run"] / "work"
    excluded = pd.read_csv(
        work / "soil_moisture/regional_series/excluded.csv",
        dtype=str,
        keep_default_na=False,
    )
    assert {("MIROC6", "r1i1p1f1"), ("MIROC6", "r2i1p1f1")} <= set(
        zip(excluded.dataset, excluded.member, strict=True)
    )
    fields = work / "soil_moisture/regional_series/ensemble_fields/mrsos"
    assert not (fields / "MIROC6.nc").exists()
    members = iris.load_cube(str(fields / "MPI-ESM1-2-LR.nc")).attributes[
        "smeval_members"
    ]
    assert members == "r1i1p1f1"
    provenance = yaml.safe_load(
        (
            faulty_run["run"]
            / "run/correlation/correlation_fields/diagnostic_provenance.yml"
        ).read_text()
    )
    [mmem] = [v for k, v in provenance.items() if k.endswith("CMIP6-MMEM.nc")]
    assert mmem["ancestors"]
    assert not [a for a in mmem["ancestors"] if "MIROC6" in a]


def test_the_report_shows_members_and_exclusions(faulty_run):
    [report] = faulty_run["run"].glob("plots/**/smeval_report.html")
    html = report.read_text(encoding="utf-8")
    assert 'id="members-table"' in html
    assert (
        "skipped by ESMValCore: No input data available for years 1981" in html
    )
    assert "outside the plausible range" in html


def test_a_bad_option_is_one_line_in_the_terminal(tiny_archive, tmp_path):
    recipe, config = case_recipe(
        tmp_path, tiny_archive, edit=misspelled_region
    )
    process = runner.run_recipe(recipe, config, check=False)
    assert process.returncode != 0
    terminal = process.stdout + process.stderr
    line = (
        "smeval: error: regional_series: option `regions` has unknown value `EUROPE` "
        "(did you mean `EUR`?)"
    )
    assert line in terminal, terminal[-3000:]
