"""The CMEC output bundle the report script writes, checked with Climate-REF's validator."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from climate_ref_core.pycmec.output import CMECOutput

from smeval.diag.report import write_report
from smeval.outputs import OUTPUT_BUNDLE
from smeval.report.locate import REPORT_NAME


def _records(session: Path) -> dict[str, dict]:
    records = {}
    for path in session.glob("run/*/*/diagnostic_provenance.yml"):
        records.update(yaml.safe_load(path.read_text()))
    return records


def test_output_bundle_lists_report_figures_and_data_with_captions(fake_run):
    write_report(fake_run["cfg"])
    session = fake_run["session"]
    bundle = CMECOutput.model_validate(
        json.loads(
            (Path(fake_run["cfg"]["work_dir"]) / OUTPUT_BUNDLE).read_text()
        )
    )
    report = (
        (fake_run["plot_dir"] / REPORT_NAME).relative_to(session).as_posix()
    )
    assert bundle.index == report
    assert bundle.html[report].long_name.startswith(
        "HTML report of the evaluation"
    )
    records = _records(session)
    listed = {**bundle.plots, **bundle.data}
    # Every recorded output but the report itself, each once, with its own caption.
    expected = {
        Path(f).relative_to(session).as_posix(): r for f, r in records.items()
    }
    expected.pop(report)
    assert set(listed) == set(expected)
    assert not set(bundle.plots) & set(bundle.data)
    for name, record in expected.items():
        assert listed[name].filename == name
        assert (session / name).is_file()
        assert listed[name].long_name == record["caption"].strip() != ""
    assert {Path(p).suffix for p in bundle.plots} <= {".png", ".pdf"}
    assert any(p.endswith("fig12_tss_sm_shallow.png") for p in bundle.plots)
    assert any(p.endswith("fig12_tss_sm_shallow.csv") for p in bundle.data)
    assert list(bundle.metrics) == [
        "work/evaluation/metrics/metrics_cmec.json"
    ]
    assert bundle.provenance.obsdata
    assert bundle.provenance.modeldata
    assert bundle.provenance.environment["smeval"]
