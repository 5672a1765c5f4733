"""smeval's Climate-REF provider run end to end on the tiny archive of tests/e2e/conftest.py.

Everything is Climate-REF's own: its CMIP6 data catalogue of the archive's
files, its solver applying the diagnostic's data requirements, its
``ExecutionDefinition``, ``ref.toml`` loaded by its ``Config``, and its CMEC
validators and controlled vocabulary. The diagnostic really runs
``esmvaltool``; nothing is mocked.
"""

from __future__ import annotations

import math
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

import attrs
import pytest

pytestmark = pytest.mark.e2e


def _ref_configuration(root: Path, archive: Path) -> Path:
    """Write into ``root`` a ref.toml enabling smeval's provider on the archive's observations."""
    (root / "ref.toml").write_text(
        '[[diagnostic_providers]]\nprovider = "smeval.ref:provider"\n\n'
        f'[diagnostic_providers.config]\nreference_dir = "{archive / "OBS6"}"\n'
    )
    return root


@pytest.fixture(scope="module")
def ref_config(e2e, tmp_path_factory):
    """A Climate-REF configuration folder whose ref.toml enables smeval's provider."""
    root = _ref_configuration(tmp_path_factory.mktemp("ref"), e2e["archive"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REF_CONFIGURATION", str(root))
        from climate_ref.config import Config

        yield Config.load(root / "ref.toml")


@pytest.fixture(scope="module")
def skill_run(e2e, ref_config):
    from climate_ref.datasets.cmip6 import CMIP6DatasetAdapter
    from climate_ref.solver import solve_executions
    from climate_ref_core.datasets import SourceDatasetType

    (provider_entry,) = [
        e
        for e in entry_points(group="climate-ref.providers")
        if e.name == "smeval"
    ]
    provider = provider_entry.load()
    provider.configure(ref_config)
    assert provider.reference_folder() == e2e["archive"] / "OBS6"
    catalog = CMIP6DatasetAdapter(config=ref_config).find_local_datasets(
        e2e["archive"] / "CMIP6"
    )
    diagnostic = provider.get("soil-moisture-skill")
    executions = {
        dict(x.datasets[SourceDatasetType.CMIP6].selector)["source_id"]: x
        for x in solve_executions(
            {SourceDatasetType.CMIP6: catalog}, diagnostic, provider
        )
    }
    execution = executions["PLANTED-1"]
    definition = execution.build_execution_definition(ref_config.paths.results)
    definition = attrs.evolve(
        definition,
        output_directory=definition.output_directory.parent / "planted",
    )
    result = diagnostic.run(definition)
    return {
        "executions": executions,
        "definition": definition,
        "result": result,
        "catalog": catalog,
    }


def test_solver_groups_one_execution_per_model_with_mrsos(e2e, skill_run):
    with_mrsos = {
        dataset for dataset, variable in e2e["present"] if variable == "mrsos"
    } | {"PLANTED-1"}
    with_mrsos -= {"ERA5", "ERA-Interim", "GLDAS-NOAH"}
    assert set(skill_run["executions"]) == with_mrsos
    # Each execution holds the model's soil moisture and its fixed fields.
    datasets = skill_run["executions"]["PLANTED-1"].datasets["cmip6"].datasets
    assert {"mrsos", "sftlf", "areacella"} <= set(datasets["variable_id"])


def test_execution_result_points_at_valid_bundles_and_the_report(skill_run):
    from climate_ref_core.pycmec.metric import CMECMetric
    from climate_ref_core.pycmec.output import CMECOutput

    result, definition = skill_run["result"], skill_run["definition"]
    assert result.successful
    CMECMetric.load_from_json(
        result.to_output_path(result.metric_bundle_filename)
    )
    output = CMECOutput.load_from_json(
        result.to_output_path(result.output_bundle_filename)
    )
    assert output.index.endswith("plots/evaluation/report/smeval_report.html")
    assert list(output.html) == [output.index]
    for entry in [
        *output.html.values(),
        *output.plots.values(),
        *output.data.values(),
    ]:
        assert (definition.output_directory / entry.filename).is_file(), (
            entry.filename
        )
        assert entry.long_name
    assert any(
        name.endswith("fig12_tss_sm_shallow.png") for name in output.plots
    )
    assert any(name.endswith("metrics.csv") for name in output.data)


def test_planted_statistics_come_out_of_the_metric_bundle(e2e, skill_run):
    from climate_ref_core.pycmec.controlled_vocabulary import CV
    from climate_ref_core.pycmec.metric import CMECMetric

    result = skill_run["result"]
    metric = CMECMetric.load_from_json(
        result.to_output_path(result.metric_bundle_filename)
    )
    cv = CV.load_from_file(
        files("climate_ref_core").joinpath("pycmec", "cv_cmip7_aft.yaml")
    )
    cv.validate_metrics(
        metric
    )  # what Climate-REF checks before storing the values
    values = {}
    for value in metric.iter_results():
        d = value.dimensions
        if (
            d["experiment_id"],
            d["source_id"],
            d["reference_source_id"],
            d["variable_id"],
        ) == ("historical", "PLANTED-1", "ERA5", "sm_shallow"):
            values[(d["region"], d["statistic"])] = value.value
    for region, expected in e2e["planted"]["regions"].items():
        for stat in ("R", "sigma", "E'", "TSS"):
            got = values[(region, stat)]
            assert not math.isnan(got) and got == pytest.approx(
                expected[stat], abs=0.02
            ), (region, stat)


def test_recipe_reads_only_the_executions_files(skill_run):
    import yaml

    recipe = yaml.safe_load(
        next(
            Path(skill_run["definition"].output_directory).glob(
                "recipe_smeval_*.yml"
            )
        ).read_text()
    )
    assert set(recipe["diagnostics"]) == {
        "soil_moisture",
        "skill",
        "evaluation",
    }
    models = {
        d["dataset"]
        for group in recipe["diagnostics"]["soil_moisture"][
            "variables"
        ].values()
        for d in group["additional_datasets"]
        if d["project"] == "CMIP6"
    }
    assert models == {"PLANTED-1"}


def test_recipe_run_writes_valid_cmec_bundles(e2e):
    # The plain `esmvaltool run` of the recipe (no Climate-REF) writes both bundles.
    import json

    import pandas as pd
    from climate_ref_core.pycmec.metric import CMECMetric
    from climate_ref_core.pycmec.output import CMECOutput

    run = e2e["run"]
    metrics = run / "work" / "skill" / "metrics"
    metric = CMECMetric.load_from_json(metrics / "metrics_cmec.json")
    table = pd.read_csv(metrics / "metrics.csv")
    assert sum(1 for _ in metric.iter_results()) == len(table)
    output = CMECOutput.model_validate(
        json.loads(
            (
                run / "work" / "evaluation" / "report" / "cmec_output.json"
            ).read_text()
        )
    )
    assert (run / output.index).is_file() and output.index.endswith(
        "smeval_report.html"
    )
    figures = {
        p.relative_to(run).as_posix() for p in run.glob("plots/*/*/fig*.png")
    }
    assert figures and figures <= set(output.plots)
    assert all(
        (run / name).is_file() for name in [*output.plots, *output.data]
    )


@pytest.fixture(scope="module")
def ref_cli(e2e, tmp_path_factory):
    """The `ref` command line, offline: ingest the archive's CMIP6 files, solve and run one execution."""
    import os
    import subprocess
    import sys

    root = _ref_configuration(
        tmp_path_factory.mktemp("ref-cli"), e2e["archive"]
    )
    env = {
        **os.environ,
        "REF_CONFIGURATION": str(root),
        "PYTHONWARNINGS": "ignore",
    }
    ref = str(Path(sys.executable).with_name("ref"))
    commands = [
        [
            ref,
            "datasets",
            "ingest",
            "--source-type",
            "cmip6",
            str(e2e["archive"] / "CMIP6"),
        ],
        [
            ref,
            "solve",
            "--provider",
            "smeval",
            "--diagnostic",
            "soil-moisture-pme-correlation",
            "--dataset-filter",
            "source_id=MPI-ESM1-2-LR",
            "--limit",
            "1",
            "--timeout",
            "3000",
        ],
    ]
    for cmd in commands:
        process = subprocess.run(
            cmd,
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        assert process.returncode == 0, (
            process.stdout[-3000:] + process.stderr[-3000:]
        )
    return root


def test_ref_command_line_runs_the_correlation_and_stores_its_values(ref_cli):
    import sqlite3

    import pandas as pd
    from climate_ref_core.pycmec.output import CMECOutput

    (execution,) = ref_cli.glob(
        "results/smeval/soil-moisture-pme-correlation/*/*/"
    )
    output = CMECOutput.load_from_json(execution / "output.json")
    names = [*output.plots, *output.data]
    assert any(n.endswith("fig11_correlation_sm_pme.png") for n in names)
    assert any(n.endswith("correlation_CMIP6-MMEM.nc") for n in names)
    # Climate-REF validated the metric bundle against its vocabulary and stored
    # every value of the run's metrics table, NaN as NULL.
    (metrics_csv,) = execution.glob(
        "executions/*/work/skill/metrics/metrics.csv"
    )
    table = pd.read_csv(metrics_csv)
    assert {"pr", "evspsbl", "mrros", "snm", "sm_shallow"} <= set(
        table.variable
    )
    with sqlite3.connect(ref_cli / "db" / "climate_ref.db") as db:
        stored = pd.read_sql(
            "select experiment_id, source_id, reference_source_id, variable_id, region, "
            "statistic, value from metric_value where type = 'SCALAR'",
            db,
        )
    assert set(stored.experiment_id) == {"historical"}
    merged = table.merge(
        stored,
        left_on=["dataset", "reference", "variable", "region", "statistic"],
        right_on=[
            "source_id",
            "reference_source_id",
            "variable_id",
            "region",
            "statistic",
        ],
        suffixes=("_csv", "_ref"),
    )
    assert len(merged) == len(table) == len(stored)
    assert (
        (merged.value_csv - merged.value_ref).abs() < 1e-12
    ).sum() + merged.value_csv.isna().sum() == len(merged)
    assert (merged.value_csv.isna() == merged.value_ref.isna()).all()
