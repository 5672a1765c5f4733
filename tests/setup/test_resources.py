"""Where ESMValCore and the report find smeval's files (smeval.resources, smeval.plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smeval import plugin, resources


def _tree(root: Path) -> Path:
    (root / "diagnostics").mkdir(parents=True)
    (root / "config-references.yml").write_text("authors: {}\n")
    (root / "reports").mkdir()
    return root


def test_source_folder_first():
    assert resources.root() == resources.SOURCE_ROOT
    assert (resources.root() / "recipes" / "recipe_soilmoisture.yml").is_file()
    assert resources.folder("reports") == resources.SOURCE_ROOT / "reports"


def test_installed_share_folder_without_a_source_folder(tmp_path, monkeypatch):
    # A non-editable install: the files are in <prefix>/share/smeval.
    monkeypatch.setattr(resources, "SOURCE_ROOT", tmp_path / "site-packages")
    share = _tree(tmp_path / "share" / "smeval")
    monkeypatch.setattr(resources, "installed_root", lambda: share)
    assert resources.root() == share
    assert resources.folder("reports") == share / "reports"


def test_neither_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "SOURCE_ROOT", tmp_path / "a")
    monkeypatch.setattr(resources, "installed_root", lambda: tmp_path / "b")
    with pytest.raises(FileNotFoundError, match="reinstall smeval"):
        resources.root()


def test_fallback_folder(tmp_path):
    primary, fallback = (
        tmp_path / "esmvaltool" / "references",
        tmp_path / "smeval" / "references",
    )
    primary.mkdir(parents=True)
    fallback.mkdir(parents=True)
    (primary / "both.bibtex").write_text("esmvaltool's")
    (fallback / "both.bibtex").write_text("smeval's")
    (fallback / "ours.bibtex").write_text("smeval's")
    folder = plugin._FallbackDir(primary, fallback)
    assert (
        folder / "both.bibtex" == primary / "both.bibtex"
    )  # the installed file wins
    assert folder / "ours.bibtex" == fallback / "ours.bibtex"
    assert (
        folder / "none.bibtex" == primary / "none.bibtex"
    )  # ESMValCore's own warning names it
    assert folder == primary
    assert type(folder.parent) is type(Path())


def test_activate_adds_tags_without_replacing_any():
    from esmvalcore.config import _diagnostics

    plugin.activate()
    tags = _diagnostics.TAGS
    assert tags["authors"]["smeval_team"]["name"] == "smeval developers"
    assert tags["themes"]["phys"] == "physics"
    assert (
        _diagnostics.DIAGNOSTICS.references / "qiao22jcli.bibtex"
        == resources.root() / "references" / "qiao22jcli.bibtex"
    )
    assert (
        _diagnostics.DIAGNOSTICS.scripts / "diagnostics/metrics.py"
        == resources.root() / "diagnostics" / "metrics.py"
    )
