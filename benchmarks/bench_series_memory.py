r"""Peak memory and time of the series script on one model's members, by number of members.

The series script computes a data set of its ``correlation_variables`` (the
recipe: ``mrsos``; ``pr``, ``evspsbl``) member by member into a running
ensemble mean (``smeval.diag.running_mean``), so its peak memory should not
grow with the number of members. This runs ``write_regional_series`` with
the recipe's options of the script that has the variable, in a fresh process
for each number of members, on the model's files of an archive (the
archive's CMIP6 files stand in for ESMValCore's preprocessed files: same
layout, no land mask and no fixes applied), and prints one row per run::

    python benchmarks/bench_series_memory.py ARCHIVE --model MIROC6 \
        --variable pr --members 1 10 50

``--model`` may also name a reference of the archive's OBS6 tree (e.g.
ERA5, one data set: ``--members 1``). For the growth with the years, run it
on archives of several lengths; ``benchmarks/tile_years.py`` makes a long
stand-in of one file.

Wall and CPU time are those of ``write_regional_series`` alone; peak RSS
is the process' (Python, iris, dask and ESMValCore imported: about 0.5 GB).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "recipe_soilmoisture.yml"
FIXED = ("sftlf", "areacella")


def script_options(variable: str) -> dict:
    """Return the recipe's options of the series script whose variable groups hold ``variable``."""
    recipe = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    for diagnostic in recipe["diagnostics"].values():
        script = diagnostic.get("scripts", {}).get("regional_series")
        if script and variable in diagnostic.get("variables", {}):
            return {
                k: v
                for k, v in script.items()
                if k not in ("script", "ancestors")
            }
    msg = f"no series script of {RECIPE.name} has the variable {variable}"
    raise ValueError(msg)


def input_data(archive: Path, model: str, variable: str, members: int) -> dict:
    """Return ESMValCore's metadata of the model's first ``members`` members of ``variable`` and its fixed fields, by file."""
    files = sorted(
        archive.glob(f"CMIP6/*/*/{model}/*/*/*/{variable}/*/*/*.nc")
    )
    if not files:  # a reference of the OBS6 tree: one data set, no members
        return _reference_data(archive, model, variable)
    chosen = sorted({f.parts[-6] for f in files})[:members]
    if len(chosen) < members:
        msg = f"{archive}: {model} has {len(chosen)} members of {variable}, not {members}"
        raise ValueError(msg)
    data = {}
    for path in files:
        if path.parts[-6] not in chosen:
            continue
        data[str(path)] = _meta(
            model, variable, **_cmip6(path), timerange=_timerange(path)
        )
    for name in FIXED:
        for path in sorted(
            archive.glob(f"CMIP6/*/*/{model}/*/*/fx/{name}/*/*/*.nc")
        )[:1]:
            data[str(path)] = _meta(model, name, **_cmip6(path))
    return data


def _timerange(path: Path) -> str:
    """Return ESMValCore's timerange (``YYYY/YYYY``) of a file named ``..._YYYYMM-YYYYMM.nc``."""
    first, last = re.search(
        r"_(\d{4})\d\d-(\d{4})\d\d\.nc$", path.name
    ).groups()
    return f"{first}/{last}"


def _cmip6(path: Path) -> dict[str, str]:
    """Return the project, member and table of a file of the CMIP6 tree (ESGF layout)."""
    return {
        "project": "CMIP6",
        "ensemble": path.parts[-6],
        "mip": path.parts[-5],
    }


def _reference_data(archive: Path, name: str, variable: str) -> dict:
    """Return ESMValCore's metadata of a reference's file of ``variable`` and its land fraction (OBS6 tree)."""
    data = {}
    for path in sorted(archive.glob(f"OBS6/Tier*/{name}/*.nc")):
        # OBS6_<dataset>_<type>_<version>_<mip>_<short_name>[_<YYYYMM-YYYYMM>]
        mip, short_name = path.stem.split("_")[4:6]
        if short_name == variable:
            data[str(path)] = _meta(
                name,
                short_name,
                project="OBS6",
                mip=mip,
                timerange=_timerange(path),
            )
        elif short_name == "sftlf":
            data[str(path)] = _meta(name, short_name, project="OBS6", mip=mip)
    if not any(m["short_name"] == variable for m in data.values()):
        msg = f"{archive}: no CMIP6 model or OBS6 reference {name} with {variable}"
        raise ValueError(msg)
    return data


def _meta(dataset: str, short_name: str, **facets: str) -> dict:
    """Return ESMValCore's metadata of one file of ``dataset`` (its own family) with ``facets``."""
    return {
        "dataset": dataset,
        "alias": dataset,
        "family": dataset,
        "short_name": short_name,
        "long_name": short_name,
        **facets,
    }


def child(archive: Path, model: str, variable: str, members: int) -> dict:
    """Run the series script once in this process; return its measurements."""
    from smeval.diag.regional_series import write_regional_series

    inputs = input_data(archive, model, variable, members)
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            f"{n}_dir": str(Path(tmp) / n) for n in ("work", "run", "plot")
        }
        for folder in folders.values():
            Path(folder).mkdir()
        cfg = {**script_options(variable), **folders, "input_data": inputs}
        wall, cpu = time.perf_counter(), time.process_time()
        written = write_regional_series(cfg)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    return {
        "members": members,
        "files": len(inputs),
        "written": len(written),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_gb": round(peak, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "archive", type=Path, help="a sample archive (has CMIP6/)"
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a Table 1 model, or an OBS6 reference, of the archive",
    )
    parser.add_argument(
        "--variable", default="mrsos", help="CMOR variable (default: mrsos)"
    )
    parser.add_argument(
        "--members",
        type=int,
        nargs="+",
        default=[1],
        help="numbers of members, one run each",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(
            args.archive, args.model, args.variable, args.members[0]
        )
        print(json.dumps(result))
        return 0
    print("members | files | files written | wall s | CPU s | peak RSS GB")
    for members in args.members:
        command = [
            sys.executable,
            __file__,
            str(args.archive),
            "--child",
            "--model",
            args.model,
            "--variable",
            args.variable,
            "--members",
            str(members),
        ]
        out = subprocess.run(
            command, check=True, capture_output=True, text=True
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            " | ".join(
                str(row[k])
                for k in (
                    "members",
                    "files",
                    "written",
                    "wall_s",
                    "cpu_s",
                    "peak_rss_gb",
                )
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
