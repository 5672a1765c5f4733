"""The work of ``diagnostics/regional_series.py`` (see its docstring)."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import dask
import iris.cube
import iris.exceptions
import numpy as np

from smeval.core.depth import DEEP_DEPTH, SHALLOW_DEPTH, DepthNotReachedError

from .climatology import climatology_path, label, member_stem
from .io import EXCLUDED_COLUMNS, load_cube, save_cube, series_cube, write_csv
from .preprocess import MapClimatology
from .provenance import period, record, series_record
from .regional import depth_columns, regional_mean_series, weights_for
from .shared import ProvenanceLogger, family_of

logger = logging.getLogger(__name__)

#: Fixed fields used as weights rather than evaluated.
FX_NAMES = ("sftlf", "areacella")
#: Global attributes that make a series file self-describing for the metrics.
SERIES_ATTRIBUTES = ("smeval_dataset", "smeval_project", "smeval_member", "smeval_variable",
                     "smeval_native_nlat", "smeval_family")
#: Long names of the derived variables.
LONG_NAMES = {
    "sm_shallow": "shallow soil moisture (0-{:g} m)",
    "sm_deep": "deep soil moisture (0-{:g} m)",
}


def _member(meta: dict[str, Any]) -> str:
    return str(meta.get("ensemble") or "")


def _key(meta: dict[str, Any]) -> tuple[str, str]:
    return str(meta["project"]), str(meta["dataset"])


class _Writer:
    """Writes series files, their provenance, and collects exclusions."""

    def __init__(self, cfg: dict[str, Any], provlog: ProvenanceLogger) -> None:
        self.cfg = cfg
        self.provlog = provlog
        self.excluded: list[dict[str, str]] = []
        self.written: list[Path] = []

    def write(self, meta: dict[str, Any], ancestor: str, variable: str, values: np.ndarray,
              cube: iris.cube.Cube, weights, long_name: str) -> None:
        out = Path(self.cfg["work_dir"]) / variable / f"{member_stem(meta)}.nc"
        values_of = (meta["dataset"], meta["project"], _member(meta), variable,
                     np.int32(cube.coord("latitude").shape[0]), family_of(meta))
        attributes = dict(zip(SERIES_ATTRIBUTES, values_of, strict=True))
        series = series_cube(values, cube.coord("time"), weights.region_ids, cube,
                             f"regional mean of {long_name}", attributes)
        if variable.startswith("sm_"):
            series.var_name = variable
            series.standard_name = "mass_content_of_water_in_soil_layer"
        save_cube(series, out)
        record = series_record({**meta, "long_name": long_name}, ancestor, weights.region_ids)
        self.provlog.log(out, record)
        self.written.append(out)

    def write_climatology(self, meta: dict[str, Any], ancestor: str, cube: iris.cube.Cube,
                          maps: MapClimatology, name: str, column: str | None = None) -> None:
        """Write one member's climatology of ``name``.

        ``column`` is the long name of a depth column made from the layers of
        ``meta``'s variable (``name`` is then e.g. ``sm_deep``); None when the
        climatology is of the variable itself.
        """
        short_name = meta["short_name"]
        if column is None:
            what, source = f"{meta.get('long_name', short_name)} ({short_name})", "the preprocessed data"
        else:
            what = f"{column} ({name})"
            source = f"the soil water of that column computed from the layers of the preprocessed {short_name}"
        meta = {**meta, "short_name": name}
        out = climatology_path(self.cfg["work_dir"], meta)
        save_cube(label(cube, meta), out)
        member = f" member {meta['ensemble']}" if meta.get("ensemble") else ""
        self.provlog.log(out, record(
            f"Climatology of {what} of {meta['dataset']}{member}, {period(meta)}, for the maps: "
            f"ESMValCore's {', '.join(maps.steps)} applied to {source}, from the read that gives "
            "the regional series.",
            [ancestor], [meta["dataset"]], domains=["global"], statistics=["clim", "mean"]))
        self.written.append(out)

    def exclude(self, meta: dict[str, Any], variable: str, reason: str) -> None:
        logger.warning("Excluding %s %s from %s: %s", meta["dataset"], _member(meta), variable, reason)
        self.excluded.append({"dataset": str(meta["dataset"]), "member": _member(meta),
                              "project": str(meta.get("project", "")), "variable": variable,
                              "reason": reason})


def _fixed_fields(input_data: dict[str, dict]) -> dict[tuple[str, str], dict[str, iris.cube.Cube]]:
    fields: dict[tuple[str, str], dict[str, iris.cube.Cube]] = defaultdict(dict)
    for filename, meta in input_data.items():
        if meta["short_name"] in FX_NAMES:
            # Any member's fixed field describes the model's grid.
            fields[_key(meta)].setdefault(meta["short_name"], load_cube(filename))
    return fields


def write_regional_series(cfg: dict[str, Any]) -> list[Path]:
    """Write the regional series of every input; returns the files written.

    With the ``map_climatology`` option, the climatology of each member of
    its variables is computed from the same read and written too (see
    :mod:`smeval.diag.climatology`).
    """
    regions = tuple(cfg["regions"]) if cfg.get("regions") else None
    shallow = float(cfg.get("shallow_depth", SHALLOW_DEPTH))
    deep = float(cfg.get("deep_depth", DEEP_DEPTH))
    from_mrsol = bool(cfg.get("shallow_from_mrsol", True))
    maps = MapClimatology.from_options(cfg.get("map_climatology"))
    input_data = cfg["input_data"]
    fixed = _fixed_fields(input_data)
    has_mrsos = {_key(m) for m in input_data.values() if m["short_name"] == "mrsos"}

    with ProvenanceLogger(cfg) as provlog:
        writer = _Writer(cfg, provlog)
        for filename, meta in sorted(input_data.items()):
            short_name = meta["short_name"]
            if short_name in FX_NAMES:
                continue
            try:
                cube = load_cube(filename)
                fx = fixed.get(_key(meta), {})
                weights = weights_for(cube, regions, fx.get("areacella"), fx.get("sftlf"))
            except (OSError, ValueError) as exc:
                writer.exclude(meta, short_name, f"failed to load {filename}: {exc}")
                continue
            if short_name == "mrsol":
                depths = {"sm_deep": deep}
                if from_mrsol and _key(meta) not in has_mrsos:
                    depths["sm_shallow"] = shallow
                long_names = {v: LONG_NAMES[v].format(d) for v, d in depths.items()}
                fields = depth_columns(cube, depths, meta["dataset"])
                for variable in [v for v, f in fields.items() if isinstance(f, DepthNotReachedError)]:
                    writer.exclude(meta, variable, str(fields.pop(variable)))
                products = {v: regional_mean_series(f, weights) for v, f in fields.items()}
            else:
                variable = "sm_shallow" if short_name == "mrsos" else short_name
                fields = {short_name: cube}
                products = {variable: regional_mean_series(cube, weights)}
                long_names = {variable: (LONG_NAMES["sm_shallow"].format(shallow) if short_name == "mrsos"
                                         else str(meta.get("long_name", short_name)))}
            # The maps of mrsol are those of its depth columns: the
            # climatology of a column is cheaper than that of its layers.
            climatologies: dict[str, tuple[iris.cube.Cube, Any]] = {}
            if maps is not None and short_name in maps.variables:
                for name, field in fields.items():
                    try:
                        climatologies[name] = maps.lazy(field, filename)
                    except (ValueError, iris.exceptions.IrisError) as exc:
                        writer.exclude(meta, f"{name} climatology (maps)", str(exc))
            # One pass over the member's data for all its products.
            series, computed = dask.compute(products, {n: (c.core_data(), redo)
                                                       for n, (c, redo) in climatologies.items()})
            for variable, values in series.items():
                writer.write(meta, filename, variable, np.asarray(values), cube, weights, long_names[variable])
            for name, (field, redo) in computed.items():
                climatology = climatologies[name][0]
                if redo:
                    # Some cells are masked at some time steps only: ESMValCore
                    # averages their valid steps on the masked data (one more read).
                    logger.info("%s: cells masked at some time steps only; %s climatology from masked data",
                                filename, name)
                    climatology = maps.lazy(fields[name], filename, masked_arithmetic=True)[0]
                else:
                    climatology.data = field
                writer.write_climatology(meta, filename, climatology, maps, name,
                                         None if name == short_name else long_names[name])
        evaluated = sorted(f for f, m in input_data.items() if m["short_name"] not in FX_NAMES)
        if not evaluated:
            logger.warning("No input data: no regional series written")
            return writer.written
        excluded = Path(cfg["work_dir"]) / "excluded.csv"
        write_csv(excluded, writer.excluded, EXCLUDED_COLUMNS)
        provlog.log(excluded, record("Data sets and members excluded from the regional series and the "
                                     "maps' climatologies, and why.", evaluated))
    return writer.written

