"""Recipes pass yamllint with ESMValTool's rules (.yamllint), including those smeval writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from smeval import runner
from smeval.check.core import CheckResult, write_restricted_recipe

CONFIG = YamlLintConfig(file=str(runner.ROOT / ".yamllint"))


def _problems(path: Path) -> list[str]:
    return [
        f"{path.name}:{p.line}: {p.desc} ({p.rule})"
        for p in linter.run(path.read_text(encoding="utf-8"), CONFIG)
    ]


def test_the_configuration_is_esmvaltools():
    # 160-character lines; the rest of yamllint's defaults as ESMValTool keeps them.
    assert CONFIG.rules["line-length"]["max"] == 160
    assert CONFIG.rules["document-start"] is False
    assert CONFIG.rules["commas"] is False


@pytest.mark.parametrize(
    "path",
    sorted(
        [
            *(runner.ROOT / "recipes").glob("*.yml"),
            *(runner.ROOT / "benchmarks").glob("*.yml"),
        ]
    ),
    ids=lambda p: p.name,
)
def test_the_repositorys_recipes_pass(path):
    assert _problems(path) == []


def test_a_long_flow_list_is_a_finding(tmp_path):
    # The check can fail: the former one-line data set lists were 488 characters long.
    path = tmp_path / "recipe.yml"
    path.write_text(
        "datasets: [" + ", ".join(f"dataset_{i}" for i in range(40)) + "]\n",
        encoding="utf-8",
    )
    assert any("line too long" in p for p in _problems(path))


def test_the_recipes_smeval_writes_pass(tmp_path):
    # runner.write_recipe (tests, benchmarks) and `smeval check --write-recipe`.
    written = runner.write_recipe(
        tmp_path / "written.yml", timerange="1979/1981"
    )
    restricted = write_restricted_recipe(
        runner.RECIPE, CheckResult(), tmp_path / "restricted.yml"
    )
    for path in (written, restricted):
        assert _problems(path) == []
        assert (
            yaml.safe_load(path.read_text(encoding="utf-8"))[
                "diagnostics"
            ].keys()
            == yaml.safe_load(runner.RECIPE.read_text(encoding="utf-8"))[
                "diagnostics"
            ].keys()
        )
