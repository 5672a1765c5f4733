"""Each script's "Script options (recipe)" list says what its options dataclass holds.

The dataclass (``option(default, doc, units)``) is the one home of each
option's default, description and units; the list in the docstring of
``diagnostics/<script>.py`` is what users read. This test parses the list
and compares it with the dataclass: the names, each default (written as
YAML, e.g. ``default [ERA5, GLDAS-NOAH]``; ``optional`` for an empty one),
the ``doc`` (the start of the description) and the units (named in the
entry). A line of names without `` : `` lists the evaluation options the
script shares with the metrics script, which documents them.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from smeval.check.core import _script_options
from smeval.diag.metrics import EvaluationOptions

SCRIPTS = Path(__file__).resolve().parents[2] / "diagnostics"
HEADING = "Script options (recipe)"
#: Units that need not be named (dimensionless).
UNNAMED_UNITS = {"", "1"}


def option_entries(
    docstring: str,
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The documented options (name -> header, default text, description) and the names of a shared-names line."""
    lines = docstring.splitlines()
    start = lines.index(HEADING) + 2  # the heading and its underline
    entries: dict[str, dict[str, str]] = {}
    shared: list[str] = []
    current = None
    for line in lines[start:]:
        if line and not line.startswith(" "):
            if " : " not in line and not re.fullmatch(r"\w+(, \w+)*", line):
                break  # the prose after the list
            current = None
            if " : " in line:
                name, header = line.split(" : ", 1)
                current = entries[name.strip()] = {
                    "header": header,
                    "description": "",
                }
            else:
                shared += [n.strip() for n in line.split(",")]
        elif current is not None:
            current["description"] += " " + line.strip()
    for entry in entries.values():
        _split_default(entry)
    return entries, shared


def _split_default(entry: dict[str, str]) -> None:
    """Move a YAML default that continues on the next lines (unclosed brackets) out of the description."""
    header = entry["header"]
    if ", default " not in header:
        entry["default"] = ""
        return
    entry["type"], text = header.split(", default ", 1)
    words = entry["description"].split(" ")
    while (
        text.count("[") + text.count("{") > text.count("]") + text.count("}")
        and words
    ):
        text += " " + words.pop(1)
    entry["default"], entry["description"] = text, " ".join(words)


def _plain(value):
    """``value`` as YAML loads it: tuples as lists, read-only mappings as dicts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _normal(text: str) -> str:
    """Lower case, single spaces, no rst literal marks: the words of ``text``."""
    return " ".join(text.replace("``", "").split()).lower()


def problems(cls: type, docstring: str) -> list[str]:
    """What the docstring's option list says differently from ``cls``, one line each."""
    entries, shared = option_entries(docstring)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    inherited = (
        {f.name for f in dataclasses.fields(EvaluationOptions)}
        if issubclass(cls, EvaluationOptions)
        else set()
    )
    out += [
        f"`{n}` in the shared-names line is not an evaluation option"
        for n in shared
        if n not in inherited
    ]
    documented = set(entries) | set(shared)
    out += [
        f"option `{n}` is not documented"
        for n in fields
        if n not in documented
    ]
    out += [
        f"documented `{n}` is no option"
        for n in sorted(documented)
        if n not in fields
    ]
    for name, entry in entries.items():
        if name in fields:
            out += [
                f"`{name}`: {p}" for p in _entry_problems(fields[name], entry)
            ]
    return out


def _entry_problems(
    field: dataclasses.Field, entry: dict[str, str]
) -> list[str]:
    out = []
    default = _plain(field.default)
    if entry["default"]:
        try:
            written = yaml.safe_load(entry["default"])
        except yaml.YAMLError as exc:
            written = f"<not YAML: {exc.problem}>"
        if written != default:
            out.append(
                f"default {entry['default']!r} (YAML {written!r}) is not the dataclass's {default!r}"
            )
    elif not entry["header"].endswith("optional"):
        out.append(
            f"header {entry['header']!r} gives neither `default <YAML>` nor `optional`"
        )
    elif default not in (None, [], {}):
        out.append(
            f"`optional`, but the dataclass default is {default!r}: write it"
        )
    doc = field.metadata.get("doc", "")
    if not doc or not _normal(entry["description"]).startswith(_normal(doc)):
        out.append(
            f"description should start with the dataclass doc {doc!r}; it is "
            f"{entry['description'].strip()[: len(doc) + 20]!r}"
        )
    units = field.metadata.get("units", "")
    if (
        units not in UNNAMED_UNITS
        and units not in entry["header"] + entry["description"]
    ):
        out.append(f"units {units!r} of the dataclass are not named")
    return out


def _docstring(script: Path) -> str:
    return ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))


@pytest.mark.parametrize("script", sorted(_script_options()))
def test_docstring_option_list_matches_the_dataclass(script):
    cls = _script_options()[script]
    found = problems(cls, _docstring(SCRIPTS / script))
    assert not found, (
        f"diagnostics/{script} vs {cls.__module__}.{cls.__name__}:\n"
        + "\n".join(found)
    )


def test_every_script_has_an_options_dataclass():
    assert sorted(p.name for p in SCRIPTS.glob("*.py")) == sorted(
        _script_options()
    )


SAMPLE = """Intro.

Script options (recipe)
-----------------------
references : list of str, default [ERA5, ERA-Interim, GLDAS-NOAH]
    Reference data sets, in order.
r0 : float, default 2
    R0 of the Taylor skill score.
tss_threshold : float, optional
    Something else.
period, high_resolution_min_nlat, nonsense

Options are checked.
"""


def test_the_comparison_finds_each_kind_of_mismatch():
    found = problems(EvaluationOptions, SAMPLE)
    assert found == [
        "`nonsense` in the shared-names line is not an evaluation option",
        "documented `nonsense` is no option",
        "`r0`: default '2' (YAML 2) is not the dataclass's 1.0",
        "`tss_threshold`: `optional`, but the dataclass default is 0.6: write it",
        "`tss_threshold`: description should start with the dataclass doc 'TSS above which a model reproduces a "
        "region'; it is 'Something else.'",
    ], "\n".join(difflib.unified_diff([], found, lineterm=""))


def test_a_default_may_continue_on_the_next_lines():
    entries, _ = option_entries(
        "Script options (recipe)\n---\nsteps : mapping, default {a: {b: [1,\n"
        "        2]}, c: null}\n    The steps.\n"
    )
    assert yaml.safe_load(entries["steps"]["default"]) == {
        "a": {"b": [1, 2]},
        "c": None,
    }
    assert entries["steps"]["description"].strip() == "The steps."
