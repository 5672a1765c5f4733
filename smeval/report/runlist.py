"""The first page of a run: which data sets ran and what each produced."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from .locate import REPORT_NAME
from .render import render


def write_run_page(cfg: dict[str, Any], rows: list[dict[str, Any]], templates: Path) -> Path:
    """Write ``plot_dir/smeval_report.html`` listing ``rows`` (one per input)."""
    import esmvalcore

    import smeval

    references = sorted({r["dataset"] for r in rows if r.get("project") != "CMIP6"})
    models = sorted({r["dataset"] for r in rows if r.get("project") == "CMIP6"})
    return render(
        templates,
        "runlist.html.j2",
        Path(cfg["plot_dir"]) / REPORT_NAME,
        rows=sorted(rows, key=lambda r: (r.get("project", ""), r["dataset"], r.get("ensemble", ""))),
        models=models,
        references=references,
        synthetic=any(r.get("synthetic") for r in rows),
        recipe=Path(cfg.get("recipe", "")).name,
        versions={
            "smeval": smeval.__version__,
            "ESMValCore": esmvalcore.__version__,
            "Python": platform.python_version(),
        },
    )
