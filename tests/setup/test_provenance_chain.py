"""Outputs of smeval's scripts refer to each other's provenance files, and the chain is ESMValCore's whole document (smeval.provenance_chain)."""

from __future__ import annotations

from pathlib import Path

import esmvalcore._task
import pytest
from esmvalcore._provenance import TrackedFile
from prov.model import ProvDocument
from provenance_helpers import activity, use

from smeval import provenance_chain, resources

AUTHORS = [{"name": "smeval developers", "institute": "smeval project"}]


def _script(name: str) -> str:
    return str(resources.root() / "diagnostics" / name)


def _product(path: Path, ancestors, **attributes) -> TrackedFile:
    """An output as ``DiagnosticTask._collect_provenance`` records it: citation files, then the document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("data")
    tracked = TrackedFile(
        path,
        {"caption": path.stem, "authors": AUTHORS, **attributes},
        set(ancestors),
    )
    tracked.initialize_provenance(activity(path.stem))
    esmvalcore._task._write_citation_files(
        tracked.filename, tracked.provenance
    )
    tracked.save_provenance()
    return tracked


def _run(folder: Path, other_script: str | None = None) -> dict[str, Path]:
    """Inputs -> series -> metrics table -> figure -> report, as smeval's recipe makes them."""
    cmip6 = {
        "mip_era": "CMIP6",
        "activity_id": "CMIP",
        "institution_id": "INST",
        "experiment_id": "historical",
    }
    inputs = [
        _product(folder / "in" / f"m{i}.txt", [], source_id=f"M{i}", **cmip6)
        for i in (1, 2)
    ]
    inputs.append(
        _product(folder / "in" / "era5.txt", [], references="Hersbach 2020")
    )
    series = [
        _product(
            folder / "work" / f"series{i}.txt",
            [tracked],
            script_file=_script("regional_series.py"),
            references=["rodell04bams"],
        )
        for i, tracked in enumerate(inputs)
    ]
    metrics = _product(
        folder / "work" / "metrics.csv",
        series,
        script_file=_script("metrics.py"),
        references=["taylor01jgr"],
    )
    figure = _product(
        folder / "plots" / "fig.txt",
        [metrics],
        script_file=other_script or _script("figures.py"),
        references=["qiao22jcli"],
    )
    report = _product(
        folder / "plots" / "index.html",
        [figure, metrics],
        script_file=_script("report.py"),
        references=["qiao22jcli"],
    )
    return {
        t: tracked.filename
        for t, tracked in zip(
            ("metrics", "figure", "report"),
            (metrics, figure, report),
            strict=True,
        )
    }


def _records(document: ProvDocument, folder: Path) -> set[str]:
    return {str(r).replace(str(folder), "RUN") for r in document.get_records()}


def _saved(path: Path) -> ProvDocument:
    return ProvDocument.deserialize(
        provenance_chain.provenance_file(path), format="xml"
    )


@pytest.fixture
def both(tmp_path, monkeypatch):
    """The same run recorded by ESMValCore's functions and by smeval's."""
    use(monkeypatch, ours=False)
    theirs = _run(tmp_path / "a")
    use(monkeypatch, ours=True)
    ours = _run(tmp_path / "b")
    return tmp_path, theirs, ours


@pytest.mark.parametrize("output", ["metrics", "figure", "report"])
def test_the_chain_holds_esmvalcores_whole_document(both, output):
    tmp_path, theirs, ours = both
    expected = _records(_saved(theirs[output]), tmp_path / "a")
    got = _records(
        provenance_chain.full_document(
            provenance_chain.provenance_file(ours[output])
        ),
        tmp_path / "b",
    )
    assert got == expected
    # Every input file is in the lineage, as ESMValCore records it.
    assert sum("RUN/in/" in r and "entity(" in r for r in got) == 3


def test_a_chained_document_holds_its_own_step_only(both):
    tmp_path, theirs, ours = both
    own = _records(_saved(ours["report"]), tmp_path / "b")
    whole = _records(_saved(theirs["report"]), tmp_path / "a")
    assert not any("RUN/in/" in r for r in own)
    assert any("RUN/in/" in r for r in whole)
    assert len(own) < len(whole) / 3
    # The derivations name the report's direct ancestors, chained.
    files = provenance_chain.lineage_files(
        provenance_chain.provenance_file(ours["report"])
    )
    assert [f.name for f in files[:1]] == ["index_provenance.xml"]
    assert {f.name for f in files} >= {
        "fig_provenance.xml",
        "metrics_provenance.xml",
        "series0_provenance.xml",
    }


@pytest.mark.parametrize("output", ["figure", "report"])
def test_chained_outputs_cite_what_their_lineage_cites(both, output):
    _, theirs, ours = both

    def citations(path: Path) -> tuple[list[str], str]:
        stem = path.with_suffix("")
        bibtex = Path(f"{stem}_citation.bibtex").read_text("utf-8")
        info = Path(f"{stem}_data_citation_info.txt").read_text("utf-8")
        return provenance_chain.bibtex_entries(bibtex), info

    their_bibtex, their_info = citations(theirs[output])
    our_bibtex, our_info = citations(ours[output])
    assert our_bibtex == their_bibtex
    assert our_info == their_info
    keys = "".join(our_bibtex)
    assert all(k in keys for k in ("righi20gmd", "taylor", "rodell", "qiao"))
    assert "M1" in our_info
    assert "Hersbach 2020" in our_info


def test_other_scripts_copy_what_they_are_made_from(tmp_path, monkeypatch):
    # A figure of another script (not in smeval's diagnostics/) copies the
    # metrics table's document whole, as ESMValCore does, and is copied whole
    # into the report; the chains still give ESMValCore's whole documents.
    other = str(tmp_path / "their_figures.py")
    use(monkeypatch, ours=False)
    theirs = _run(tmp_path / "a", other_script=other)
    use(monkeypatch, ours=True)
    ours = _run(tmp_path / "b", other_script=other)
    figure = _records(_saved(ours["figure"]), tmp_path / "b")
    assert _records(_saved(ours["metrics"]), tmp_path / "b") <= figure
    assert figure <= _records(_saved(ours["report"]), tmp_path / "b")
    for output in ("figure", "report"):
        got = provenance_chain.full_document(
            provenance_chain.provenance_file(ours[output])
        )
        assert _records(got, tmp_path / "b") == _records(
            _saved(theirs[output]), tmp_path / "a"
        )


def test_chains_only_smeval_outputs_with_their_file():
    script = {"script_file": _script("figures.py")}
    product = TrackedFile(Path("/x/fig.txt"), script)
    assert provenance_chain.by_smeval_script(script)
    assert not provenance_chain.by_smeval_script(
        {"script_file": "/else/figures.py"}
    )
    assert not provenance_chain.by_smeval_script({})
    missing = TrackedFile(Path("/nowhere/metrics.csv"), script)
    assert not provenance_chain.chains(product, missing)


def test_install_is_idempotent():
    assert provenance_chain.install()
    wrapped = esmvalcore._task._write_citation_files
    assert provenance_chain.install()
    assert esmvalcore._task._write_citation_files is wrapped


def test_the_lineage_command_writes_the_whole_document(both, capsys):
    from smeval.cli import main

    tmp_path, theirs, ours = both
    out = tmp_path / "whole.xml"
    assert (
        main(["report", "lineage", str(ours["report"]), "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("index_provenance.xml")
    assert any(line.endswith("series2_provenance.xml") for line in printed)
    whole = ProvDocument.deserialize(out, format="xml")
    assert _records(whole, tmp_path / "b") == _records(
        _saved(theirs["report"]), tmp_path / "a"
    )
    # The lineage's own files are never overwritten.
    own = provenance_chain.provenance_file(ours["metrics"])
    before = own.read_bytes()
    assert (
        main(["report", "lineage", str(ours["report"]), "--out", str(own)])
        == 2
    )
    assert own.read_bytes() == before
    assert main(["report", "lineage", str(tmp_path / "nothing.png")]) == 1
