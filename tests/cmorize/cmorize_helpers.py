"""Helpers of the converter tests: checksums, ESMValCore loader."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _obs6_facets(
    dataset: str,
    mip: str,
    short_name: str,
    tier: int = 3,
    type: str = "reanaly",
    version: str = "1",
    timerange: str | None = None,
) -> dict:
    facets = {
        "short_name": short_name,
        "mip": mip,
        "project": "OBS6",
        "dataset": dataset,
        "type": type,
        "version": version,
        "tier": tier,
    }
    if timerange:
        facets["timerange"] = timerange
    return facets


_OBS6_TEMPLATES = {
    "dirname_template": "Tier{tier}/{dataset}",
    "filename_template": "{project}_{dataset}_{type}_{version}_{mip}_{short_name}[_.]*nc",
}


def load_obs6(
    out: Path,
    *,
    dataset: str,
    mip: str,
    short_name: str,
    tier: int = 3,
    type: str = "reanaly",
    version: str = "1",
    timerange: str | None = None,
):
    """Load a converted variable through ESMValCore (CMOR checks on).

    Returns ``(cube, messages)``: the loaded cube and every warning (Python
    warnings and ESMValCore log records at WARNING or above); ESMValCore
    raises on CMOR errors. The load runs in a child process that leaves with
    ``os._exit``: importing ``esmvalcore.dataset`` loads iris-grib/ecCodes,
    and in this environment that combination can abort the interpreter at
    exit (see ``smeval/cmorize/_gribworker.py``), which would turn a passing
    pytest run into a crash.
    """
    facets = _obs6_facets(
        dataset, mip, short_name, tier, type, version, timerange
    )
    return load_dataset(out, facets, **_OBS6_TEMPLATES)


def load_obs6_variables(
    out: Path, dataset: str, variables: list[tuple[str, str, str | None]]
) -> dict:
    """:func:`load_obs6` of each ``(mip, short_name, timerange)`` of ``dataset``, with one ESMValCore import.

    Returns ``{(mip, short_name): (cube, messages)}``; each load is as
    separate from the others as in :func:`load_obs6` (see :func:`load_datasets`).
    """
    facets = [
        _obs6_facets(dataset, mip, short, timerange=timerange)
        for mip, short, timerange in variables
    ]
    loaded = load_datasets(out, facets, **_OBS6_TEMPLATES)
    return {
        (mip, short): result
        for (mip, short, _), result in zip(variables, loaded, strict=True)
    }


def load_dataset(
    root: Path, facets: dict, *, dirname_template: str, filename_template: str
):
    """Load one data set through ESMValCore's ``Dataset.load`` in a child process.

    ``root`` is the rootpath of ``facets["project"]``, with the given
    templates; returns ``(cube, messages)`` as :func:`load_obs6`.
    """
    return load_datasets(
        root,
        [facets],
        dirname_template=dirname_template,
        filename_template=filename_template,
    )[0]


def load_datasets(
    root: Path,
    facets: list[dict],
    *,
    dirname_template: str,
    filename_template: str,
) -> list:
    """:func:`load_dataset` of each of ``facets``; a list of ``(cube, messages)``.

    One child process imports ESMValCore (seconds), then forks a fresh
    process for each load: no load sees the state an earlier one left (a
    warning shown once, a cache), exactly as with one process per load.
    """
    data = {
        "local": {
            "type": "esmvalcore.io.local.LocalDataSource",
            "rootpath": str(root),
            "dirname_template": dirname_template,
            "filename_template": filename_template,
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        results = [Path(tmp) / f"cube{i}.pkl" for i in range(len(facets))]
        requests = [[f, str(r)] for f, r in zip(facets, results, strict=True)]
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                _LOADER,
                json.dumps(data),
                json.dumps(requests),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=300 + 120 * len(facets),
        )
        loaded = []
        for one, result in zip(facets, results, strict=True):
            if proc.returncode != 0 or not result.exists():
                msg = f"ESMValCore load of {one} failed ({proc.returncode}):\n{proc.stderr}"
                raise AssertionError(msg)
            with result.open("rb") as f:
                loaded.append(pickle.load(f))
    return loaded


_LOADER = """
import json, logging, os, pickle, sys, traceback, warnings
from esmvalcore.config import CFG
from esmvalcore.dataset import Dataset


def load(data, facets, result):
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


# The only threads here are the idle native pools the imports start (BLAS);
# forking them is what multiprocessing's default "fork" does with numpy loaded.
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
data, requests = json.loads(sys.argv[1]), json.loads(sys.argv[2])
failed = 0
for facets, result in requests:
    pid = os.fork()
    if pid == 0:  # a fresh copy of this process, in which nothing was loaded yet
        code = 1
        try:
            load(data, facets, result)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    failed |= os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0
sys.stdout.flush()
sys.stderr.flush()
os._exit(1 if failed else 0)
"""
