"""Regional-mean monthly series of every data set (SPEC section 3).

ESMValCore runs this script with the ``settings.yml`` of its task. For each
preprocessed file (one data set and member of one variable, on the common
grid, land only) it writes the area-weighted mean over each of the 13
regions and both hemispheres as a (time, region) NetCDF file in
``work_dir``, with a provenance record, and a first HTML page listing what
ran.

Script options (recipe)
-----------------------
regions : list of str, optional
    Region ids (default: the 13 regions, NH and SH).
"""

from __future__ import annotations

import logging
from pathlib import Path

from smeval.diag.provenance import series_record
from smeval.diag.regional import regional_mean_series
from smeval.diag.io import is_synthetic, load_cube, save_cube, series_cube
from smeval.diag.shared import ProvenanceLogger, run_diagnostic
from smeval.report.runlist import write_run_page

logger = logging.getLogger(Path(__file__).stem)
TEMPLATES = Path(__file__).resolve().parents[1] / "reports"


def main(cfg: dict) -> None:
    regions = cfg.get("regions")
    rows = []
    with ProvenanceLogger(cfg) as provlog:
        for filename, meta in sorted(cfg["input_data"].items()):
            cube = load_cube(filename)
            values, weights = regional_mean_series(cube, regions)
            name = "_".join(str(meta[k]) for k in ("project", "dataset", "ensemble", "short_name") if meta.get(k))
            out = Path(cfg["work_dir"]) / f"regional_series_{name}.nc"
            long_name = f"regional mean of {meta.get('long_name', cube.long_name)}"
            save_cube(series_cube(values, cube.coord("time"), weights.region_ids, cube, long_name), out)
            provlog.log(out, series_record(meta, filename, weights.region_ids))
            rows.append({**meta, "output": out.name, "synthetic": is_synthetic(cube)})
            logger.info("Wrote %s", out)
        page = write_run_page(cfg, rows, TEMPLATES)
        provlog.log(page, {
            "caption": "List of the data sets and outputs of this run of recipe_soilmoisture.yml.",
            "ancestors": sorted(cfg["input_data"]),
            "authors": ["smeval_team"],
            "references": ["qiao22jcli"],
            "domains": ["global"],
            "realms": ["land"],
            "themes": ["soil"],
        })


if __name__ == "__main__":
    with run_diagnostic() as config:
        main(config)
