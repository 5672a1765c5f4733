"""Helpers of the converter tests: checksums, ESMValCore loader."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path




def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def load_obs6(out: Path, *, dataset: str, mip: str, short_name: str, tier: int = 3,
              type: str = "reanaly", version: str = "1", timerange: str | None = None):
    """Load a converted variable through ESMValCore (CMOR checks on).

    Returns ``(cube, messages)``: the loaded cube and every warning (Python
    warnings and ESMValCore log records at WARNING or above); ESMValCore
    raises on CMOR errors. The load runs in a child process that leaves with
    ``os._exit``: importing ``esmvalcore.dataset`` loads iris-grib/ecCodes,
    and in this environment that combination can abort the interpreter at
    exit (see ``smeval/cmorize/_gribworker.py``), which would turn a passing
    pytest run into a crash.
    """
    facets = dict(short_name=short_name, mip=mip, project="OBS6", dataset=dataset, type=type,
                  version=version, tier=tier)
    if timerange:
        facets["timerange"] = timerange
    return load_dataset(out, facets, dirname_template="Tier{tier}/{dataset}",
                        filename_template="{project}_{dataset}_{type}_{version}_{mip}_"
                                          "{short_name}[_.]*nc")


def load_dataset(root: Path, facets: dict, *, dirname_template: str,
                 filename_template: str):
    """Load one data set through ESMValCore's ``Dataset.load`` in a child process.

    ``root`` is the rootpath of ``facets["project"]``, with the given
    templates; returns ``(cube, messages)`` as :func:`load_obs6`.
    """
    data = {"local": {"type": "esmvalcore.io.local.LocalDataSource", "rootpath": str(root),
                      "dirname_template": dirname_template,
                      "filename_template": filename_template}}
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "cube.pkl"
        proc = subprocess.run(
            [sys.executable, "-c", _LOADER, json.dumps(data), json.dumps(facets), str(result)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0 or not result.exists():
            raise AssertionError(f"ESMValCore load failed ({proc.returncode}):\n{proc.stderr}")
        with open(result, "rb") as f:
            cube, messages = pickle.load(f)
    return cube, messages


_LOADER = """
import json, logging, os, pickle, sys, warnings
from esmvalcore.config import CFG
from esmvalcore.dataset import Dataset

data, facets, result = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
code = 1
try:
    session = CFG.start_session("smeval-cmorize-test")
    session["projects"][facets["project"]]["data"] = data
    ds = Dataset(**facets)
    ds.session = session
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logging.getLogger("esmvalcore").addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cube = ds.load()
        cube.data
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in records]
    with open(result, "wb") as f:
        pickle.dump((cube, messages), f)
    code = 0
except BaseException:
    import traceback
    traceback.print_exc()
finally:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
"""
