"""Restored provenance documents stay out of ESMValCore's pickles, and nothing is lost (smeval.provenance_transfer)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from esmvalcore._provenance import TrackedFile
from prov.model import ProvDocument
from provenance_helpers import activity, saved

from smeval import provenance_transfer


@pytest.fixture(autouse=True)
def patched():
    assert provenance_transfer.install()


def _records(tracked: TrackedFile) -> set[str]:
    return {
        str(r)
        for r in ProvDocument.deserialize(
            tracked.provenance_file, format="xml"
        ).get_records()
    }


def _chain(tmp_path: Path) -> tuple[TrackedFile, TrackedFile]:
    """Series <- metrics, with the series' document restored while metrics was recorded."""
    series = saved(tmp_path / "series.csv", realm="land")
    restored = TrackedFile(
        series.filename, {}, None
    )  # how a later task sees the product
    metrics = saved(tmp_path / "metrics.csv", [restored])
    assert (
        restored.provenance is not None
    )  # ESMValCore restored it while recording metrics
    return restored, metrics


def test_a_restored_document_does_not_travel(tmp_path):
    restored, _ = _chain(tmp_path)
    received = pickle.loads(pickle.dumps(restored))
    assert received.provenance is None
    assert received.entity is None
    assert received.provenance_file == restored.provenance_file


def test_the_ancestors_of_a_saved_document_do_not_travel(tmp_path):
    _, metrics = _chain(tmp_path)
    assert metrics.provenance is None  # saved
    assert metrics._ancestors
    received = pickle.loads(pickle.dumps(metrics))
    assert received._ancestors == []
    assert received.attributes == metrics.attributes


def test_the_ancestors_of_an_unsaved_file_travel(tmp_path):
    # A preprocessing task's product, sent to its worker before it is made.
    path = tmp_path / "preproc.nc"
    inputs = [TrackedFile(tmp_path / "in.nc", {"realm": "land"}, [])]
    product = TrackedFile(path, {"caption": "p"}, inputs)
    [ancestor] = pickle.loads(pickle.dumps(product))._ancestors
    assert ancestor.filename == inputs[0].filename


def test_a_document_being_built_travels(tmp_path):
    path = tmp_path / "figure.png"
    path.write_text("png")
    building = TrackedFile(path, {"caption": "figure"}, [])
    building.initialize_provenance(activity("figures"))
    received = pickle.loads(pickle.dumps(building))
    assert received.provenance is not None
    assert {str(r) for r in received.provenance.get_records()} == {
        str(r) for r in building.provenance.get_records()
    }


def test_a_document_whose_file_is_gone_travels(tmp_path):
    restored, metrics = _chain(tmp_path)
    restored.provenance_file.unlink()
    metrics.provenance_file.unlink()  # else metrics travels without ancestors
    [ancestor] = pickle.loads(pickle.dumps(metrics))._ancestors
    assert ancestor.provenance is not None


def test_the_next_product_has_the_same_lineage_as_without_the_pickle(tmp_path):
    # The receiving process restores the dropped document from its file: the
    # report made from the received metrics has every record it has without
    # any pickling in between.
    _, metrics = _chain(tmp_path)
    direct = TrackedFile(metrics.filename, {}, None)
    # The product itself, as the task's result carries it: saved, so it
    # travels without its ancestors.
    received = pickle.loads(pickle.dumps(metrics))
    assert received._ancestors == []
    for folder in "ab":
        (tmp_path / folder).mkdir()
    one = saved(tmp_path / "a" / "report.html", [direct])
    two = saved(tmp_path / "b" / "report.html", [received])
    assert {r.replace("/a/", "/") for r in _records(one)} == {
        r.replace("/b/", "/") for r in _records(two)
    }
    assert any("series.csv" in r for r in _records(two))
