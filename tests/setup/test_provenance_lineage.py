"""Each lineage record is copied once, and the saved provenance is ESMValCore's (smeval.provenance_lineage)."""

from __future__ import annotations

from pathlib import Path

import pytest
from esmvalcore._provenance import TrackedFile
from prov.model import ProvDocument
from provenance_helpers import ESMVALCORE, activity, saved, use

from smeval import provenance_lineage


def _restored(tracked: TrackedFile) -> TrackedFile:
    """The product as a later task sees it: its document is read from its file."""
    return TrackedFile(tracked.filename, {}, None)


def _diamond(folder: Path) -> TrackedFile:
    """Two inputs, two tables made from both, a report made from both tables."""
    inputs = [saved(folder / f"input{i}.txt", realm="land") for i in (1, 2)]
    tables = [
        saved(folder / f"table{i}.csv", [_restored(t) for t in inputs])
        for i in (1, 2)
    ]
    return saved(folder / "report.html", [_restored(t) for t in tables])


def _records(tracked: TrackedFile, folder: Path) -> set[str]:
    document = ProvDocument.deserialize(tracked.provenance_file, format="xml")
    return {str(r).replace(str(folder), "RUN") for r in document.get_records()}


def test_the_saved_lineage_is_esmvalcores(tmp_path, monkeypatch):
    use(monkeypatch, ours=False)
    theirs = _records(_diamond(tmp_path / "a"), tmp_path / "a")
    use(monkeypatch, ours=True)
    ours = _records(_diamond(tmp_path / "b"), tmp_path / "b")
    assert ours == theirs
    # The report names both tables, and through them both inputs.
    for name in ("table1.csv", "table2.csv", "input1.txt", "input2.txt"):
        assert any(name in r for r in ours), name


def test_a_document_with_duplicates_is_saved_without_them(
    tmp_path, monkeypatch
):
    use(monkeypatch, ours=True)
    path = tmp_path / "table.csv"
    path.write_text("data")
    tracked = TrackedFile(path, {"caption": "table"}, [])
    tracked.initialize_provenance(activity("table"))
    records = list(tracked.provenance.get_records())
    for record in records:  # every record twice
        tracked.provenance.add_record(record)
    tracked.save_provenance()
    saved = ProvDocument.deserialize(tracked.provenance_file, format="xml")
    assert len(list(saved.get_records())) == len(set(records))


@pytest.mark.parametrize("patched", [False, True])
def test_the_document_holds_each_shared_record_once(
    tmp_path, monkeypatch, patched
):
    # Before it is saved: ESMValCore's copy holds the inputs' records once per
    # table and again per derivation; the patched one once.
    function = (
        provenance_lineage._initialize_ancestors if patched else ESMVALCORE
    )
    monkeypatch.setattr(TrackedFile, "_initialize_ancestors", function)
    inputs = [saved(tmp_path / f"input{i}.txt") for i in (1, 2)]
    tables = [
        saved(tmp_path / f"table{i}.csv", [_restored(t) for t in inputs])
        for i in (1, 2)
    ]
    (tmp_path / "report.html").write_text("html")
    report = TrackedFile(
        tmp_path / "report.html", {}, [_restored(t) for t in tables]
    )
    report.initialize_provenance(activity("report"))
    records = list(report.provenance.get_records())
    assert (len(records) == len(set(records))) == patched


def test_install_is_idempotent_and_replaces_the_function():
    assert provenance_lineage.install()
    assert provenance_lineage.install()
    assert (
        TrackedFile._initialize_ancestors
        is provenance_lineage._initialize_ancestors
    )


def test_an_ancestor_document_is_released_after_its_last_use(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(
        TrackedFile,
        "_initialize_ancestors",
        provenance_lineage._initialize_ancestors,
    )
    table = _restored(saved(tmp_path / "table.csv", realm="land"))
    outputs = [tmp_path / f"figure{i}.txt" for i in (1, 2)]
    provenance_yml = {
        str(o): {"ancestors": [str(table.filename)]} for o in outputs
    }
    with provenance_lineage.counting_uses(provenance_yml) as uses:
        first = saved(outputs[0], [table])
        assert table.provenance is not None  # the second figure needs it
        second = saved(outputs[1], [table])
        assert table.provenance is None  # read back from its file if needed
        assert uses[str(table.filename)] == 0
    # Both figures carry the table's lineage.
    for figure in (first, second):
        assert any("table.csv" in r for r in _records(figure, tmp_path))
        assert any("realm" in r for r in _records(figure, tmp_path))


def test_nothing_is_released_outside_a_task(tmp_path, monkeypatch):
    monkeypatch.setattr(
        TrackedFile,
        "_initialize_ancestors",
        provenance_lineage._initialize_ancestors,
    )
    table = _restored(saved(tmp_path / "table.csv"))
    saved(tmp_path / "figure.txt", [table])
    assert table.provenance is not None
