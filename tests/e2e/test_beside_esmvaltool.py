"""End-to-end: the recipe beside an installed ESMValTool (issue 15, point 1).

A second environment (``make venv-esmvaltool``: smeval plus
``esmvaltool==2.15.0`` from PyPI, its wheel cached outside the repository)
runs the same recipe on the same tiny archive as tests/e2e/conftest.py,
from a folder other than the repository root with the recipe given by path.
Its metrics table must be that of the run without ESMValTool, byte for byte.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from smeval import runner

pytestmark = pytest.mark.e2e

VENV = runner.ROOT / ".venv-esmvaltool"


def _site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages"))


@pytest.fixture(scope="session")
def esmvaltool_venv() -> Path:
    """The environment with esmvaltool installed (built here when missing; reused after)."""
    process = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "venv-esmvaltool",
            f"VENV_ESMVALTOOL={VENV}",
        ],
        check=False,
        cwd=runner.ROOT,
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0, (
        process.stdout[-3000:] + process.stderr[-3000:]
    )
    return VENV


@pytest.fixture(scope="session")
def beside(e2e, esmvaltool_venv, tmp_path_factory):
    root = tmp_path_factory.mktemp("beside")
    elsewhere = (
        root / "elsewhere"
    )  # neither the repository nor ESMValTool's folder
    elsewhere.mkdir()
    config = runner.write_config(
        root / "config",
        e2e["archive"],
        root / "output",
        remove_preproc_dir=False,
    )
    process = runner.run_recipe(
        e2e["recipe"], config, check=False, venv=esmvaltool_venv, cwd=elsewhere
    )
    assert process.returncode == 0, (
        process.stdout[-5000:] + process.stderr[-5000:]
    )
    return {
        "run": runner.latest_run_dir(root / "output", e2e["recipe"].name),
        "venv": esmvaltool_venv,
        "elsewhere": elsewhere,
    }


def _metrics(run: Path) -> Path:
    return run / "work" / "skill" / "metrics" / "metrics.csv"


def test_esmvalcore_used_the_installed_esmvaltool(beside):
    # The run had ESMValTool installed, and ESMValCore takes the installed
    # package as its diagnostics root there (logged before the run's log starts).
    log = (beside["run"] / "run" / "main_log.txt").read_text()
    assert "ESMValTool: 2.15.0" in log and "smeval: " in log
    code = "from esmvalcore.config._diagnostics import DIAGNOSTICS; print(DIAGNOSTICS.path)"
    out = subprocess.run(
        [str(beside["venv"] / "bin" / "python"), "-c", code],
        cwd=beside["elsewhere"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        Path(out.stdout.strip().splitlines()[-1])
        == _site_packages(beside["venv"]) / "esmvaltool"
    )


def test_metrics_identical_to_the_run_without_esmvaltool(e2e, beside):
    assert (
        _metrics(beside["run"]).read_bytes()
        == _metrics(e2e["run"]).read_bytes()
    )


def test_citations_keep_smeval_references(e2e, beside):
    def entries(run):
        text = (
            run / "work" / "skill" / "metrics" / "metrics_citation.bibtex"
        ).read_text()
        return sorted(re.findall(r"^@\w+\{([^,]+),", text, flags=re.MULTILINE))

    got = entries(beside["run"])
    assert got == entries(e2e["run"])
    assert any("qiao" in key.lower() or "0827" in key for key in got), got


def test_provenance_names_smeval_authors(beside):
    xml = next(
        (beside["run"] / "work" / "skill" / "metrics").glob(
            "metrics_provenance.xml"
        )
    ).read_text()
    assert "smeval developers" in xml


def test_bare_recipe_name_from_the_repository_root_and_elsewhere(beside):
    # The README's `esmvaltool run recipe_soilmoisture.yml`: ESMValCore looks a
    # bare name up in the installed package's recipes/ when it is not a file
    # in the working folder; smeval's recipe is found there from any folder.
    code = (
        "from esmvalcore._main import ESMValTool; "
        "print(ESMValTool()._get_recipe('recipe_soilmoisture.yml'))"
    )
    python = beside["venv"] / "bin" / "python"
    for cwd in (runner.ROOT, beside["elsewhere"]):
        out = subprocess.run(
            [str(python), "-c", code],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
        assert Path(out.stdout.strip().splitlines()[-1]) == runner.RECIPE, (
            cwd,
            out.stdout,
            out.stderr,
        )


def test_installed_packages_unchanged(beside):
    # Every file pip installed for esmvaltool and esmvalcore still has the
    # hash pip recorded (RECORD): smeval changes nothing on disk.
    site = _site_packages(beside["venv"])
    checked = 0
    for record in [
        *site.glob("esmvaltool-*.dist-info/RECORD"),
        *site.glob("esmvalcore-*.dist-info/RECORD"),
    ]:
        for name, digest, _size in csv.reader(record.read_text().splitlines()):
            if not digest:
                continue
            algorithm, _, expected = digest.partition("=")
            data = (site / name).read_bytes()
            got = (
                base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest())
                .rstrip(b"=")
                .decode()
            )
            assert got == expected, name
            checked += 1
    assert checked > 500


def test_vocabulary_is_esmvaltools(beside):
    # Themes, realms, statistics, domains and plot types: ESMValTool's own
    # entries and wording; only authors and projects are smeval's.
    ours = yaml.safe_load((runner.ROOT / "config-references.yml").read_text())
    upstream = yaml.safe_load(
        (
            _site_packages(beside["venv"])
            / "esmvaltool"
            / "config-references.yml"
        ).read_text()
    )
    for section in ("realms", "themes", "statistics", "domains", "plot_types"):
        for tag, value in ours[section].items():
            assert upstream[section].get(tag) == value, (section, tag)


def _script_settings(e2e, folder: Path) -> Path:
    """The metrics script's settings.yml of the standalone run, writing into ``folder``."""
    settings = yaml.safe_load(
        (e2e["run"] / "run" / "skill" / "metrics" / "settings.yml").read_text()
    )
    for key in ("run_dir", "work_dir", "plot_dir"):
        settings[key] = str(folder / key)
    Path(settings["run_dir"]).mkdir(parents=True)
    path = folder / "run_dir" / "settings.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.parametrize(
    "chosen", ["esmvaltool.diag_scripts.shared", "smeval.diag.standalone"]
)
def test_same_script_through_both_interfaces(e2e, beside, tmp_path, chosen):
    # The metrics script, run by hand as ESMValCore runs it, in the
    # environment with esmvaltool: through ESMValTool's interface (default
    # there) and through smeval's (SMEVAL_DIAG_INTERFACE=smeval).
    settings = _script_settings(e2e, tmp_path)
    env = {
        **os.environ,
        "SMEVAL_DIAG_INTERFACE": "smeval"
        if chosen.startswith("smeval")
        else "",
    }
    python = beside["venv"] / "bin" / "python"
    process = subprocess.run(
        [
            str(python),
            str(runner.ROOT / "diagnostics" / "metrics.py"),
            str(settings),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert process.returncode == 0, (
        process.stdout[-3000:] + process.stderr[-3000:]
    )
    assert f"Diagnostic interface: {chosen}" in process.stdout + process.stderr
    work = tmp_path / "work_dir"
    assert (work / "metrics.csv").read_bytes() == _metrics(
        e2e["run"]
    ).read_bytes()
    records = yaml.safe_load(
        (tmp_path / "run_dir" / "diagnostic_provenance.yml").read_text()
    )
    ours = yaml.safe_load(
        (
            e2e["run"]
            / "run"
            / "skill"
            / "metrics"
            / "diagnostic_provenance.yml"
        ).read_text()
    )
    assert {Path(k).name: v for k, v in records.items()} == {
        Path(k).name: v for k, v in ours.items()
    }
    # Run again over its output: refused as ESMValTool refuses, unless forced.
    again = subprocess.run(
        [
            str(python),
            str(runner.ROOT / "diagnostics" / "metrics.py"),
            str(settings),
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert again.returncode != 0 and "-f or --force" in again.stderr
