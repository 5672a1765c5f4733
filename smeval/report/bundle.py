"""The CMEC output bundle of a run (docs/results.md).

Lists the HTML report, every figure and every data file the run's scripts
recorded in provenance, each with its caption, in the CMEC / EMDS output
format that Climate-REF validates (``climate_ref_core.pycmec.output.CMECOutput``).
The report script writes it last, when every other script has finished.
File names are relative to the run folder (``<session>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .inputs import rebase

#: Outputs listed under ``plots``; every other output is ``data``.
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".gif", ".ps")


def provenance_records(session: Path) -> dict[Path, dict[str, Any]]:
    """Every output recorded in the run's ``diagnostic_provenance.yml`` files -> its record."""
    records = {}
    for path in sorted(
        Path(session).glob("run/*/*/diagnostic_provenance.yml")
    ):
        for filename, record in (
            yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        ).items():
            records[rebase(filename, session)] = record or {}
    return records


def _entry(
    path: Path, session: Path, long_name: str, description: str
) -> tuple[str, dict[str, str]]:
    name = Path(path).relative_to(session).as_posix()
    return name, {
        "filename": name,
        "long_name": long_name,
        "description": description,
    }


def output_bundle(
    session: Path,
    report: Path,
    report_caption: str,
    metric_bundle: Path | None,
    environment: dict[str, str],
    modeldata: list[str],
    obsdata: list[str],
) -> dict[str, Any]:
    """Return the output bundle of the run in ``session`` (a JSON-ready dict).

    Parameters
    ----------
    session
        The run folder.
    report, report_caption
        The HTML report (the bundle's ``index``) and its caption.
    metric_bundle
        The run's CMEC metric bundle, or None if there is none.
    environment
        Software versions.
    modeldata, obsdata
        Names of the model and reference data sets evaluated.
    """
    session = Path(session)
    plots: dict[str, dict[str, str]] = {}
    data: dict[str, dict[str, str]] = {}
    for path, record in provenance_records(session).items():
        if path == report or not path.is_relative_to(session):
            continue
        caption = str(record.get("caption", "")).strip()
        script = "/".join(path.relative_to(session).parts[1:3])
        description = (
            f"{record['figure']}, written by {script}"
            if record.get("figure")
            else f"written by {script}"
        )
        target = plots if path.suffix.lower() in PLOT_SUFFIXES else data
        key, entry = _entry(path, session, caption, description)
        target[key] = entry
    index, html = _entry(
        report, session, report_caption, "the report of the evaluation"
    )
    bundle: dict[str, Any] = {
        "index": index,
        "provenance": {
            "environment": environment,
            "modeldata": sorted(modeldata),
            "obsdata": sorted(obsdata),
            "log": "run/main_log.txt",
        },
        "data": data,
        "plots": plots,
        "html": {index: html},
        "metrics": None,
    }
    if metric_bundle is not None:
        key, entry = _entry(
            metric_bundle,
            session,
            "CMEC metric bundle of the metrics table",
            "R, sigma, E', TSS by data set, reference, variable and region",
        )
        bundle["metrics"] = {key: entry}
    return bundle
