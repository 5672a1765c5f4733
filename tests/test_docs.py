"""docs/recipe_soilmoisture.rst (ESMValTool's recipe documentation template) stays true.

It must be valid reStructuredText; the options it lists per script are
exactly the fields of that script's options dataclass, with the defaults
they state; its variables are the recipe's, with the number of models the
recipe lists; it cites every reference of ``references/``; every figure it
shows exists, is small and is labelled synthetic.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import yaml

docutils_core = pytest.importorskip(
    "docutils.core", reason="docutils is a test dependency (pyproject [test])"
)
from docutils import nodes, utils  # noqa: E402

from smeval.check.core import _script_options  # noqa: E402
from smeval.core.bootstrap import BootstrapOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RST = DOCS / "recipe_soilmoisture.rst"
RECIPE = ROOT / "recipes" / "recipe_soilmoisture.yml"
#: Options whose nested list documents the fields of another dataclass.
SUB_OPTIONS = {"bootstrap": BootstrapOptions}
#: Caption label of every example plot.
SYNTHETIC_LABEL = "synthetic sample data, not a result"
MAX_FIGURE_BYTES = 200_000
#: The sections of ESMValTool's recipe documentation template, in order.
TEMPLATE_SECTIONS = [
    "Overview",
    "Available recipes and diagnostics",
    "User settings in recipe",
    "Variables",
    "Observations and reformat scripts",
    "References",
    "Example plots",
]


def parse(text: str, source: str = str(RST)) -> nodes.document:
    """The doctree of ``text``; any docutils warning or error raises (halt level 2)."""
    return docutils_core.publish_doctree(
        text,
        source_path=source,
        settings_overrides={
            "halt_level": 2,
            "report_level": 2,
            "warning_stream": False,
            "doctitle_xform": False,
            "file_insertion_enabled": False,
            "raw_enabled": False,
        },
    )


@pytest.fixture(scope="module")
def doctree() -> nodes.document:
    return parse(RST.read_text(encoding="utf-8"))


def section(doctree: nodes.document, title: str) -> nodes.section:
    for node in doctree.findall(nodes.section):
        if node[0].astext() == title:
            return node
    msg = f"{RST.name}: no section {title!r}"
    raise AssertionError(msg)


def own_items(
    node: nodes.Node, kind=nodes.bullet_list
) -> list[nodes.list_item]:
    """Items of the lists of ``kind`` directly inside ``node`` (not those nested in items)."""
    return [
        item
        for child in node.children
        if isinstance(child, kind)
        for item in child.children
    ]


def first_literal(item: nodes.list_item) -> str:
    return item[0].next_node(nodes.literal).astext()


def stated_default(item: nodes.list_item):
    """The value of ````X```` after the words "default " in the item's first paragraph, or None."""
    paragraph = item[0]
    for before, after in itertools.pairwise(paragraph.children):
        if (
            isinstance(after, nodes.literal)
            and isinstance(before, nodes.Text)
            and before.endswith("default ")
        ):
            return yaml.safe_load(after.astext())
    return None


def plain(value):
    """``value`` with tuples as lists and read-only mappings as dicts (as YAML reads them)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def script_settings(entry: nodes.list_item) -> list[nodes.list_item]:
    """Items of the bullet lists under the template's "*Optional settings for script*" in ``entry``."""
    items, heading = [], ""
    for child in entry.children:
        if isinstance(child, nodes.paragraph) and isinstance(
            child[0], nodes.emphasis
        ):
            heading = child[0].astext()
        elif isinstance(child, nodes.bullet_list) and heading.startswith(
            "Optional settings for script"
        ):
            items += child.children
    return items


def documented_options(doctree) -> dict[str, dict[str, nodes.list_item]]:
    """Script file -> option name -> its list item, from "User settings in recipe"."""
    documented: dict[str, dict[str, nodes.list_item]] = {}
    for entry in own_items(
        section(doctree, "User settings in recipe"), nodes.enumerated_list
    ):
        scripts = [
            lit.astext()
            for lit in entry[0].findall(nodes.literal)
            if lit.astext().endswith(".py")
        ]
        assert scripts, (
            f"a numbered item of 'User settings in recipe' names no script: {entry[0].astext()!r}"
        )
        for item in script_settings(entry):
            for script in scripts:
                options = documented.setdefault(script, {})
                name = first_literal(item)
                assert name not in options, (
                    f"{script}: option {name} documented twice"
                )
                options[name] = item
    return documented


def test_the_rst_is_valid_restructuredtext(doctree):
    titles = [s[0].astext() for s in doctree.findall(nodes.section)]
    assert titles[1:] == TEMPLATE_SECTIONS
    assert "recipes_soilmoisture" in doctree.nameids


def test_the_validity_check_catches_bad_markup():
    with pytest.raises(utils.SystemMessage):
        parse("Title\n=====\n\n* ``unclosed literal\n")


def test_every_option_of_every_script_is_documented_and_no_other(doctree):
    documented = documented_options(doctree)
    classes = _script_options()
    assert set(documented) == set(classes)
    for script, cls in classes.items():
        fields = [f.name for f in dataclasses.fields(cls)]
        assert sorted(documented[script]) == sorted(fields), script


def test_the_stated_defaults_are_the_dataclasses(doctree):
    checked = 0
    for script, options in documented_options(doctree).items():
        fields = {
            f.name: f for f in dataclasses.fields(_script_options()[script])
        }
        for name, item in options.items():
            default = plain(fields[name].default)
            stated = stated_default(item)
            if stated is None:
                # Long mappings (steps) may be described in words; everything else states its default.
                assert isinstance(default, dict), (
                    f"{script}: option {name} does not state its default"
                )
                continue
            assert stated == default, (
                f"{script}: option {name}: documented default {stated!r}, code {default!r}"
            )
            checked += 1
    assert checked > 20


def test_the_nested_options_are_their_dataclasses(doctree):
    items = documented_options(doctree)["metrics.py"]
    for option, cls in SUB_OPTIONS.items():
        nested = {
            first_literal(item): item for item in own_items(items[option])
        }
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        assert sorted(nested) == sorted(fields)
        for name, item in nested.items():
            assert stated_default(item) == fields[name], f"{option}: {name}"


def test_the_variables_are_the_recipes(doctree):
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    groups = {
        name: group
        for diagnostic in recipe["diagnostics"].values()
        for name, group in (diagnostic.get("variables") or {}).items()
    }
    items = {
        first_literal(item): item
        for item in own_items(section(doctree, "Variables"))
    }
    assert sorted(items) == sorted(groups)
    for name, group in groups.items():
        text = items[name].astext()
        literals = [lit.astext() for lit in items[name].findall(nodes.literal)]
        assert group["mip"] in literals, name
        models = [
            d for d in group["additional_datasets"] if d["project"] == "CMIP6"
        ]
        assert re.search(rf"\b{len(models)} models\b", text), (
            f"{name}: recipe lists {len(models)} models"
        )
        for reference in (
            d["dataset"]
            for d in group["additional_datasets"]
            if d["project"] != "CMIP6"
        ):
            assert reference in text, f"{name}: {reference}"


def test_every_recipe_and_diagnostic_script_is_listed(doctree):
    listed = {
        lit.astext()
        for lit in section(
            doctree, "Available recipes and diagnostics"
        ).findall(nodes.literal)
    }
    assert {p.name for p in (ROOT / "recipes").glob("*.yml")} <= listed
    assert {p.name for p in (ROOT / "diagnostics").glob("*.py")} <= listed


def test_every_reference_is_cited(doctree):
    text = section(doctree, "References").astext()
    for path in sorted((ROOT / "references").glob("*.bibtex")):
        doi = re.search(
            r"doi\s*=\s*\{([^}]*)\}", path.read_text(encoding="utf-8")
        ).group(1)
        assert doi in text, f"{path.name}: doi {doi} is not in the References"


def test_every_figure_exists_is_small_and_labelled_synthetic(doctree):
    figures = list(section(doctree, "Example plots").findall(nodes.figure))
    assert len(figures) >= 4
    shown = set()
    for figure in figures:
        path = DOCS / figure.next_node(nodes.image)["uri"]
        assert path.is_file(), path
        assert path.stat().st_size <= MAX_FIGURE_BYTES, path
        caption = " ".join(
            figure.next_node(nodes.caption).astext().lower().split()
        )
        assert SYNTHETIC_LABEL in caption, path
        shown.add(path.resolve())
    # Every target of a figure is an ESMValTool-style label.
    assert sum(
        name.startswith("fig_soilmoisture_") for name in doctree.nameids
    ) == len(figures)
    kept = {
        p.resolve() for p in (DOCS / "figures" / "soilmoisture").glob("*.png")
    }
    assert kept == shown, "figures kept but not shown, or shown but missing"


def test_the_readme_names_the_rst():
    assert "docs/recipe_soilmoisture.rst" in (ROOT / "README.md").read_text(
        encoding="utf-8"
    )


@pytest.fixture(scope="module")
def example_plots():
    """docs/make_example_plots.py as a module (it is a script, not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_example_plots", DOCS / "make_example_plots.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _provenance(path: Path, run: Path, inputs: dict[str, bool]) -> None:
    """A provenance record like ESMValCore's: an output of ``run`` and input files (name -> synthetic)."""
    entities = [f'<prov:entity prov:id="file:{run}/work/x/series.nc"/>']
    for name, synthetic in inputs.items():
        mark = (
            "<attribute:synthetic>yes</attribute:synthetic>"
            if synthetic
            else ""
        )
        entities.append(
            f'<prov:entity prov:id="file:/archive/{name}"><attribute:tier>3</attribute:tier>{mark}'
            "</prov:entity>"
        )
    path.write_text(
        '<prov:document xmlns:prov="http://www.w3.org/ns/prov#" '
        'xmlns:attribute="https://www.esmvaltool.org/attribute">'
        + "".join(entities)
        + "</prov:document>",
        encoding="utf-8",
    )


def test_the_example_plots_come_only_from_synthetic_inputs(
    example_plots, tmp_path
):
    run = tmp_path / "recipe_soilmoisture_20261206_000000"
    figure = run / "plots" / "fig.png"
    figure.parent.mkdir(parents=True)
    _provenance(
        figure.with_name("fig_provenance.xml"),
        run,
        {"a.nc": True, "b.nc": True},
    )
    example_plots.check_synthetic(figure, run)  # accepted
    _provenance(
        figure.with_name("fig_provenance.xml"),
        run,
        {"a.nc": True, "b.nc": False},
    )
    with pytest.raises(
        SystemExit, match=r"fig.png: 1 of 2 input files .*b.nc"
    ):
        example_plots.check_synthetic(figure, run)
    _provenance(figure.with_name("fig_provenance.xml"), run, {})
    with pytest.raises(SystemExit, match="0 of 0 input files"):
        example_plots.check_synthetic(figure, run)


def test_the_example_plots_follow_the_chain_of_provenance_files(
    example_plots, tmp_path
):
    # smeval's figure names only the series it was made from; the input
    # files are in the series' own provenance file (smeval.provenance_chain).
    run = tmp_path / "recipe_soilmoisture_20261206_000000"
    figure = run / "plots" / "fig.png"
    series = run / "work" / "x" / "series.nc"
    for path in (figure, series):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    _provenance(figure.with_name("fig_provenance.xml"), run, {})
    _provenance(series.with_name("series_provenance.xml"), run, {"a.nc": True})
    example_plots.check_synthetic(figure, run)  # accepted
    _provenance(
        series.with_name("series_provenance.xml"),
        run,
        {"a.nc": True, "b.nc": False},
    )
    with pytest.raises(SystemExit, match=r"1 of 2 input files .*b.nc"):
        example_plots.check_synthetic(figure, run)


def test_the_example_plots_are_shrunk_below_the_limit(example_plots, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    path = tmp_path / "noise.png"
    Image.fromarray(rng.integers(0, 256, (600, 800, 3), dtype="uint8")).save(
        path
    )
    assert path.stat().st_size > 100_000
    shrunk = example_plots.shrunk_png(path, max_bytes=100_000)
    assert len(shrunk) <= 100_000
    assert shrunk.startswith(b"\x89PNG")
