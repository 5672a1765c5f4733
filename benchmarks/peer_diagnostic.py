"""Minimal diagnostic of benchmarks/peer_recipe.yml: the peer's Taylor statistics.

ESMValCore runs it as ``peer_diagnostic.py settings.yml``. Its inputs are
the (shape_id, time) regional means that ESMValCore's stock preprocessors
made on the common grid. It forms the same ensemble means (members -> model
-> family -> CMIP6-MMEM, high/low groups) and Taylor statistics as
``diagnostics/metrics.py``, with smeval's own functions, so that any
difference between the two ``metrics.csv`` comes from the preprocessing
route alone; it writes ``metrics.csv`` (same columns) to its work folder.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import iris
import numpy as np
import pandas as pd
import yaml

from smeval.catalogue import load_catalogue
from smeval.diag.shared import family_of
from smeval.metrics.series import RegionalSeries, months_of
from smeval.metrics.table import COLUMNS, ensemble_series, taylor_table

#: The peer's CMIP6 variable -> smeval's evaluated variable.
EVALUATED = {"mrsos": "sm_shallow", "mrsol": "sm_deep"}


def regional_series(path: str, meta: dict) -> RegionalSeries:
    """One preprocessed (shape_id, time) file as a RegionalSeries."""
    cube = iris.load_cube(path)
    regions = tuple(str(r) for r in cube.coord("shape_id").points)
    values = np.ma.filled(np.ma.asarray(cube.data, dtype=np.float64), np.nan)
    if cube.coord_dims("shape_id")[0] == 0:
        values = values.T  # to (time, region)
    short_name = meta["short_name"]
    return RegionalSeries(
        dataset=meta["dataset"],
        member=str(meta.get("ensemble", "")),
        variable=EVALUATED.get(short_name, short_name),
        units=str(cube.units),
        months=months_of(cube.coord("time")),
        region_ids=regions,
        values=values,
        project=meta["project"],
        family=str(meta.get("family", "")),
    )


def main(settings_file: str) -> None:
    cfg = yaml.safe_load(Path(settings_file).read_text(encoding="utf-8"))
    references = list(cfg["references"])
    by_variable: dict[str, list[RegionalSeries]] = defaultdict(list)
    for metadata_file in cfg["input_files"]:
        for path, meta in yaml.safe_load(
            Path(metadata_file).read_text(encoding="utf-8")
        ).items():
            series = regional_series(path, meta)
            by_variable[series.variable].append(series)
    catalogue = load_catalogue()
    tables = []
    for variable, items in sorted(by_variable.items()):
        months = np.arange(
            min(int(s.months.min()) for s in items),
            max(int(s.months.max()) for s in items) + 1,
        )
        region_ids = items[0].region_ids
        refs = {
            s.dataset: s.on(months, region_ids)
            for s in items
            if s.dataset in references
        }
        models: dict[str, list[RegionalSeries]] = defaultdict(list)
        for s in items:
            if s.dataset not in references:
                models[s.dataset].append(s)
        families = {
            m: family_of({"dataset": m, "family": s[0].family})
            for m, s in models.items()
        }
        n_lat = {m: catalogue.models[m].grid.nlat for m in models}
        series, info, _ = ensemble_series(
            models, months, region_ids, families, n_lat
        )
        tables.append(taylor_table(series, info, refs, variable, region_ids))
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=COLUMNS)
    )
    work = Path(cfg["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    table.to_csv(work / "metrics.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1])
