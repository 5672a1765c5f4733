"""Helpers of the converter tests: real-data path, checksums, ESMValCore loader."""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path


REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
if not REALDATA.is_dir():  # the checkout may live elsewhere; the data stay here
    REALDATA = Path("/work/shared/realdata")


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def load_obs6(out: Path, *, dataset: str, mip: str, short_name: str, tier: int = 3,
              type: str = "reanaly", version: str = "1", timerange: str | None = None):
    """Load a converted variable through ESMValCore (CMOR checks on).

    Returns ``(cube, warnings)``; ESMValCore raises on CMOR errors.
    """
    from esmvalcore.config import CFG
    from esmvalcore.dataset import Dataset

    session = CFG.start_session("smeval-cmorize-test")
    session["projects"]["OBS6"]["data"] = {
        "local": {
            "type": "esmvalcore.io.local.LocalDataSource",
            "rootpath": str(out),
            "dirname_template": "Tier{tier}/{dataset}",
            "filename_template": "{project}_{dataset}_{type}_{version}_{mip}_{short_name}[_.]*nc",
        },
    }
    facets = dict(short_name=short_name, mip=mip, project="OBS6", dataset=dataset, type=type,
                  version=version, tier=tier)
    if timerange:
        facets["timerange"] = timerange
    ds = Dataset(**facets)
    ds.session = session
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("esmvalcore")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cube = ds.load()
            cube.data  # noqa: B018 - realise inside the warning filter
    finally:
        logger.removeHandler(handler)
    return cube, [str(w.message) for w in caught] + [r.getMessage() for r in records]
