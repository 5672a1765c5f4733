"""Run ``recipe_soilmoisture.yml`` with ESMValCore on a chosen archive.

Used by the end-to-end tests and the pipeline benchmark: it writes a
configuration directory derived from the repository's ``config-user.yml``
(data sources pointed at another archive, another output folder) and,
where asked, a copy of the recipe with another period, then runs the real
``esmvaltool run`` from the repository root, as users do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

#: The repository root: ESMValCore's diagnostics root when run from there.
ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "recipe_soilmoisture.yml"


def write_config(
    config_dir: Path,
    archive: Path,
    output_dir: Path,
    obs6: Path | None = None,
    **overrides: Any,
) -> Path:
    """Write ``config_dir/config-user.yml`` for ``archive``; returns the folder.

    The CMIP6 data source reads ``archive`` (which holds ``CMIP6/``), the
    OBS6 source reads ``obs6`` (default ``archive/OBS6``); any other
    top-level option can be overridden by keyword.
    """
    config = yaml.safe_load(
        (ROOT / "config-user.yml").read_text(encoding="utf-8")
    )
    config["output_dir"] = str(Path(output_dir).absolute())
    config["projects"]["CMIP6"]["data"]["sample"]["rootpath"] = str(
        Path(archive).absolute()
    )
    config["projects"]["OBS6"]["data"]["sample"]["rootpath"] = str(
        Path(obs6 if obs6 is not None else Path(archive) / "OBS6").absolute()
    )
    config.update(overrides)
    config_dir = Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config-user.yml").write_text(
        yaml.safe_dump(config, sort_keys=False), encoding="utf-8"
    )
    return config_dir


class _RecipeDumper(yaml.SafeDumper):
    """YAML as ESMValTool's yamllint rules want it: list items indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: ARG002 - PyYAML's signature
        return super().increase_indent(flow, False)


def dump_recipe(recipe: dict, width: int = 120) -> str:
    """``recipe`` as YAML text that passes the repository's ``.yamllint`` (ESMValTool's recipe rules)."""
    return yaml.dump(
        recipe,
        Dumper=_RecipeDumper,
        sort_keys=False,
        width=width,
        allow_unicode=True,
    )


def write_recipe(
    path: Path, timerange: str | None = None, edit=None, source: Path = RECIPE
) -> Path:
    """Copy the recipe (or ``source``) to ``path``, changing every ``timerange`` if given.

    ``edit`` may be a callable that changes the loaded recipe dict in place
    (e.g. to restrict the data sets of a test).
    """
    recipe = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    if timerange:
        for diagnostic in recipe.get("diagnostics", {}).values():
            for variable in (diagnostic.get("variables") or {}).values():
                if "timerange" in variable:
                    variable["timerange"] = timerange
            for script in (diagnostic.get("scripts") or {}).values():
                if "period" in script:
                    start, end = timerange.split("/")
                    script["period"] = f"{start[:4]}-{end[:4]}"
    if edit is not None:
        edit(recipe)
    path = Path(path)
    path.write_text(dump_recipe(recipe), encoding="utf-8")
    return path


def run_recipe(
    recipe: Path,
    config_dir: Path,
    extra_args: list[str] | None = None,
    check: bool = True,
    venv: Path | None = None,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess:
    """Run ``esmvaltool run`` (default: from the repository root); returns the process.

    ``venv`` is the environment whose ``esmvaltool`` runs (default: this
    one). The returned process also carries ``max_rss_gb``: the largest
    resident set of any process of the run (esmvaltool, its workers and the
    diagnostic scripts), from ``wait4``.
    """
    exe = (
        Path(venv) / "bin" / "esmvaltool" if venv else esmvaltool_executable()
    )
    cmd = [
        str(exe),
        "run",
        f"--config_dir={config_dir}",
        str(recipe),
        *(extra_args or []),
    ]
    process = run_measured(
        cmd, cwd, {**os.environ, "PYTHONWARNINGS": "ignore"}
    )
    if check:
        process.check_returncode()
    return process


def esmvaltool_executable() -> Path:
    """Return the ``esmvaltool`` command of this Python environment."""
    return Path(sys.executable).with_name("esmvaltool")


def run_measured(
    cmd: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess:
    """Run ``cmd`` capturing its output; the result carries ``max_rss_gb`` and ``cpu_seconds``.

    ``max_rss_gb`` is the largest resident set of the process or of any of
    its descendants that it waited for (Linux ``wait4``), in GiB; unlike
    ``getrusage(RUSAGE_CHILDREN)`` it does not include earlier commands. Linux
    carries the calling process's own high-water mark over to the command it
    starts, so the figure is at least the caller's peak: measure from a
    process that holds little memory.
    """
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
    ):
        child = subprocess.Popen(
            cmd, cwd=cwd, stdout=out, stderr=err, text=True, env=env
        )
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # e.g. Ctrl-C: do not leave the run behind
            child.kill()
            child.wait()
            raise
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        process = subprocess.CompletedProcess(
            cmd, child.returncode, out.read(), err.read()
        )
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    process.max_rss_gb = usage.ru_maxrss / (
        1024**3 if sys.platform == "darwin" else 1024**2
    )
    # CPU time of the command and its waited-for descendants: unlike the wall
    # time, barely changed by other work on the machine.
    process.cpu_seconds = usage.ru_utime + usage.ru_stime
    return process


def latest_run_dir(output_dir: Path, recipe_name: str) -> Path:
    """Return the newest run folder of ``recipe_name`` (file name) in ``output_dir``."""
    runs = sorted(Path(output_dir).glob(f"{Path(recipe_name).stem}_*"))
    if not runs:
        msg = f"no run of {recipe_name} in {output_dir}"
        raise FileNotFoundError(msg)
    return runs[-1]


def available(archive: Path, obs6: Path | None = None) -> set[tuple[str, str]]:
    """(dataset, short_name) pairs present in an archive (CMIP6 DRS and OBS6 layouts)."""
    archive = Path(archive)
    found = set()
    for path in archive.glob("CMIP6/*/*/*/*/*/*/*"):
        # CMIP6/<activity>/<institute>/<dataset>/<exp>/<member>/<mip>/<variable>
        if path.is_dir():
            found.add((path.parts[-5], path.name))
    return found | obs6_present(obs6 if obs6 is not None else archive / "OBS6")


def obs6_present(obs6: Path) -> set[tuple[str, str]]:
    """(dataset, short_name) pairs of the OBS6 files in ``obs6`` (``Tier*/<dataset>/OBS6_*.nc``)."""
    found = set()
    for path in Path(obs6).glob("Tier*/*/OBS6_*.nc"):
        dataset = path.parent.name
        rest = path.name[len(f"OBS6_{dataset}_") :].split("_")
        # <type>_<version>_<mip>_<short_name>[_<timerange>].nc
        if len(rest) >= 4:
            found.add((dataset, rest[3].removesuffix(".nc")))
    return found


def variable_groups(recipe: dict):
    """(short name, variable group) of every variable group of a loaded recipe."""
    for diagnostic in recipe.get("diagnostics", {}).values():
        for name, group in (diagnostic.get("variables") or {}).items():
            yield group.get("short_name", name), group


def recipe_inputs(recipe: dict) -> list[tuple[str, str, str, str]]:
    """(project, dataset, short name, MIP table) of every data set each variable group reads, with repeats."""
    return [
        (dataset["project"], dataset["dataset"], short_name, group["mip"])
        for short_name, group in variable_groups(recipe)
        for dataset in group.get("additional_datasets", [])
    ]


def restrict_to(recipe: dict, present: set[tuple[str, str]]) -> None:
    """Keep in each variable group only the data sets present in the archive.

    A variable group left without data sets is dropped. Used by tests and
    benchmarks on archives that hold a subset of Table 1.
    """
    for diagnostic in recipe.get("diagnostics", {}).values():
        variables = diagnostic.get("variables") or {}
        for name in list(variables):
            group = variables[name]
            short_name = group.get("short_name", name)
            kept = [
                d
                for d in group.get("additional_datasets", [])
                if (d["dataset"], short_name) in present
            ]
            if kept:
                group["additional_datasets"] = kept
            else:
                del variables[name]
