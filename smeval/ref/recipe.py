"""The recipe and ESMValCore configuration of one Climate-REF execution (docs/climate_ref.md).

A Climate-REF execution hands smeval a table of CMIP files (one row per
file; Climate-REF's facet names). From it this module

- links the files into a CMIP6 (or CMIP7) directory tree that ESMValCore
  reads, as climate-ref-esmvaltool does;
- writes a restricted copy of ``recipes/recipe_soilmoisture.yml``: only the
  diagnostics and scripts of the smeval diagnostic being run, every
  variable group reading the execution's data sets plus the reanalyses
  found in the reference folder, the period cut to the years all of them
  cover;
- checks the reference folder (OBS6 files written by ``smeval cmorize``)
  and says in one line what is missing and which command makes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from smeval import defaults, runner

#: Climate-REF facet (column) -> ESMValCore facet, per project.
FACETS = {
    "CMIP6": {
        "dataset": "source_id",
        "ensemble": "member_id",
        "institute": "institution_id",
        "exp": "experiment_id",
        "grid": "grid_label",
    },
    "CMIP7": {
        "dataset": "source_id",
        "ensemble": "variant_label",
        "institute": "institution_id",
        "exp": "experiment_id",
        "grid": "grid_label",
        "branding_suffix": "branding_suffix",
        "region": "region",
        "frequency": "frequency",
    },
}
#: CMIP7 branded variables of the CMIP6 variables (Climate-REF's CMIP6 -> CMIP7
#: map, climate_ref_core/data/cmip6_cmip7_variable_map.json); mrros and snm have none.
CMIP7_BRANDED = {
    "mrsos": "mrsol_tavg-d10cm-hxy-lnd",
    "mrsol": "mrsol_tavg-sl-hxy-lnd",
    "pr": "pr_tavg-u-hxy-u",
    "evspsbl": "evspsbl_tavg-u-hxy-u",
    "sftlf": "sftlf_ti-u-hxy-u",
    "areacella": "areacella_ti-u-hxy-u",
}
#: Reanalysis name in the recipe -> the name ``smeval cmorize`` takes.
CMORIZE_NAMES = {
    "ERA5": "ERA5",
    "ERA-Interim": "ERA-Interim",
    "GLDAS-NOAH": "GLDAS",
}
#: Years of the evaluation (the recipe's timerange).
PERIOD = (defaults.FIRST_YEAR, defaults.LAST_YEAR)


class MissingReferenceData(FileNotFoundError):  # noqa: N818 - public name
    """Reanalysis files the diagnostic needs are not in the reference folder."""


def link_files(datasets: pd.DataFrame, root: Path) -> None:
    """Symlink each file of ``datasets`` into ``root`` under its instance id's directories."""
    for row in datasets.itertuples():
        target = (
            Path(root).joinpath(*str(row.instance_id).split("."))
            / Path(row.path).name
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(row.path)


def recipe_datasets(datasets: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Variable group (CMIP6 name) -> the recipe entries of the execution's data sets, one per instance id.

    A CMIP7 entry goes to the group of its branded variable's CMIP6 name
    (``mrsol_tavg-d10cm-hxy-lnd`` to ``mrsos``) and carries its realm as
    ``mip``, as climate-ref-esmvaltool writes CMIP7 entries (untested here:
    no CMIP7 file was at hand).
    """
    cmip6_name = {branded: name for name, branded in CMIP7_BRANDED.items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for instance_id, group in datasets.groupby("instance_id", sort=True):
        parts = str(instance_id).split(".")
        project = parts[0]
        first = group.iloc[0]
        entry = {"project": project, "activity": parts[1]}
        entry.update(
            {
                facet: str(first[column])
                for facet, column in FACETS[project].items()
                if column in group and pd.notna(first[column])
            }
        )
        variable = str(first["variable_id"])
        if project == "CMIP7":
            entry["short_name"], entry["mip"] = variable, str(first["realm"])
            variable = cmip6_name.get(str(first["branded_variable"]), variable)
        out.setdefault(variable, []).append(entry)
    return out


def common_years(
    datasets: pd.DataFrame, period: tuple[int, int] = PERIOD
) -> tuple[int, int]:
    """Return the years of ``period`` that every time-dependent data set covers."""
    timed = datasets.dropna(subset=["start_time", "end_time"])
    start, end = period
    for _, group in timed.groupby("instance_id"):
        start = max(start, min(_year(t) for t in group["start_time"]))
        end = min(end, max(_year(t) for t in group["end_time"]))
    if start > end:
        msg = f"the data sets of this execution share no year of {period[0]}-{period[1]}"
        raise ValueError(msg)
    return start, end


def _year(time: Any) -> int:
    """Year of a catalogue time: a datetime or cftime object, or its ISO text (any calendar)."""
    return (
        int(time.year) if hasattr(time, "year") else int(str(time).strip()[:4])
    )


def missing_references(
    obs6: Path,
    needs: Mapping[str, Iterable[str]],
    present: set[tuple[str, str]] | None = None,
) -> str | None:
    """One line naming the reanalysis files missing from ``obs6`` and the commands that make them.

    ``needs`` maps each reanalysis (recipe name) to the variables the
    diagnostic reads from it; ``present`` is :func:`smeval.runner.obs6_present`
    of ``obs6`` if the caller has it already. Returns None if nothing is missing.
    """
    if present is None:
        present = runner.obs6_present(obs6)
    missing = {
        ref: sorted(v for v in variables if (ref, v) not in present)
        for ref, variables in needs.items()
    }
    missing = {
        ref: variables for ref, variables in missing.items() if variables
    }
    if not missing:
        return None
    what = "; ".join(f"{ref} {', '.join(v)}" for ref, v in missing.items())
    commands = " and ".join(
        f"`smeval cmorize {CMORIZE_NAMES.get(ref, ref)} --raw RAW_{ref.upper().replace('-', '_')}"
        f" --out {obs6}`"
        for ref in missing
    )
    return (
        f"reference data missing in {obs6}: {what}; make them with {commands}"
    )


def _restrict(
    recipe: dict[str, Any], scripts: Mapping[str, Mapping[str, Any]]
) -> None:
    """Keep only the diagnostics and scripts in ``scripts`` (diagnostic -> script -> option changes)."""
    for name in list(recipe["diagnostics"]):
        if name not in scripts:
            del recipe["diagnostics"][name]
            continue
        kept = recipe["diagnostics"][name].get("scripts") or {}
        for script in list(kept):
            if script not in scripts[name]:
                del kept[script]
                continue
            for option, value in scripts[name][script].items():
                if value is None:
                    kept[script].pop(option, None)
                else:
                    kept[script][option] = value


def edit_recipe(
    recipe: dict[str, Any],
    scripts: Mapping[str, Mapping[str, Any]],
    variables: Iterable[str],
    datasets: Mapping[str, list[dict[str, Any]]],
    references: set[tuple[str, str]],
) -> None:
    """Restrict the repository recipe to one diagnostic on the execution's data sets (in place).

    ``scripts`` lists the diagnostics and scripts kept with their option
    changes (None removes an option), ``variables`` the variable groups
    kept; each group reads ``datasets[variable]`` and the recipe's
    reanalyses that ``references`` (dataset, variable) holds.
    """
    _restrict(recipe, scripts)
    variables = set(variables)
    for diagnostic in recipe["diagnostics"].values():
        groups = diagnostic.get("variables") or {}
        for name in list(groups):
            refs = [
                d
                for d in groups[name].get("additional_datasets", [])
                if d["project"] == "OBS6"
                and (d["dataset"], name) in references
            ]
            models = datasets.get(name, [])
            if name not in variables or not models:
                del groups[name]
                continue
            groups[name]["additional_datasets"] = [*models, *refs]
        scripts = diagnostic.get("scripts") or {}
        for script in scripts.values():
            # Ancestors among removed variable groups would stop ESMValCore.
            if "ancestors" in script:
                script["ancestors"] = [
                    a for a in script["ancestors"] if _kept(a, recipe)
                ]


def _kept(ancestor: str, recipe: dict[str, Any]) -> bool:
    diagnostic, _, item = ancestor.rpartition("/")
    if not diagnostic:
        return True  # a variable group of the same diagnostic; checked by ESMValCore
    kept = recipe["diagnostics"].get(diagnostic)
    return bool(kept) and (
        item in (kept.get("variables") or {})
        or item in (kept.get("scripts") or {})
    )


def config_overrides(
    cmip_root: Path, obs6: Path, project: str
) -> dict[str, Any]:
    """Return the ``projects`` section of the ESMValCore configuration: the linked CMIP files and the OBS6 folder."""
    templates = {
        "CMIP6": (
            "{project}/{activity}/{institute}/{dataset}/{exp}/{ensemble}/{mip}/{short_name}/{grid}/{version}",
            "{short_name}_{mip}_{dataset}_{exp}_{ensemble}_{grid}*.nc",
        ),
        "CMIP7": (
            "{project}/{activity}/{institute}/{dataset}/{exp}/{ensemble}/{region}/{frequency}/{short_name}"
            "/{branding_suffix}/{grid}/{version}",
            "{short_name}_{branding_suffix}_{frequency}_{region}_{grid}_{dataset}_{exp}_{ensemble}*.nc",
        ),
    }
    dirname, filename = templates[project]
    local = "esmvalcore.io.local.LocalDataSource"
    return {
        "projects": {
            project: {
                "data": {
                    "ref": {
                        "type": local,
                        "rootpath": str(cmip_root),
                        "dirname_template": dirname,
                        "filename_template": filename,
                    }
                }
            },
            "OBS6": {
                "data": {
                    "ref": {
                        "type": local,
                        "rootpath": str(obs6),
                        "dirname_template": "Tier{tier}/{dataset}",
                        "filename_template": "{project}_{dataset}_{type}_{version}_{mip}_{short_name}[_.]*nc",
                    }
                }
            },
        }
    }
