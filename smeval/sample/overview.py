"""Overview figures of a sample archive: one model against one reference.

``python -m smeval.sample.overview ARCHIVE --model MODEL --reference ERA5 --out DIR
[--years 1979-2014] [--member r1i1p1f1]`` reads, from the archive's files,

- the model's CMIP6 ``mrsos`` (Lmon, first member unless ``--member``), with
  its ``sftlf`` and ``areacella`` (fx) where present, and
- the reference's OBS6 ``mrsos`` (ERA5, ERA-Interim or GLDAS; OBS6 names
  ERA5, ERA-Interim, GLDAS-NOAH) with its ``sftlf``,

and draws

- ``DIR/overview_mrsos_maps_<MODEL>_<REF>.png``: the annual-mean shallow soil
  moisture (0-10 cm, kg m-2) of both over the years, on their own grids, with
  one colour scale (cf. the paper's Fig. 2);
- ``DIR/overview_mrsos_cycles_<MODEL>_<REF>.png``: the mean annual cycle of
  both in the 13 regions (cf. Fig. 5), regional means weighted by cell area
  (areacella, or computed on the sphere) x land fraction (sftlf / 100) x
  the fraction of the cell in the region, Antarctica and Greenland removed.

The science comes from :mod:`smeval.core` (``regional``, ``fields``) and the
figures from :mod:`smeval.plot`; this module only reads files. Nothing here
is a metric of the paper: it is a look at what the generator wrote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

#: Reference names accepted on the command line -> OBS6 data set name.
OBS6_NAMES = {
    "ERA5": "ERA5",
    "ERA-Interim": "ERA-Interim",
    "GLDAS": "GLDAS-NOAH",
    "GLDAS-NOAH": "GLDAS-NOAH",
}
VARIABLE = "sm_shallow"  # smeval.variables name of mrsos (0-10 cm)
UNITS = "kg m-2"


def _read_series(paths: list[Path], years: tuple[int, int] | None):
    """Mrsos (time, lat, lon) with NaN where missing, its months and grid, from ``paths``."""
    import cftime
    import netCDF4

    blocks, months, year_list = [], [], []
    grid = None
    for path in sorted(paths):
        with netCDF4.Dataset(path) as ds:
            t = ds["time"]
            dates = cftime.num2date(
                t[:], t.units, calendar=getattr(t, "calendar", "standard")
            )
            yr = np.array([d.year for d in dates])
            mo = np.array([d.month for d in dates])
            keep = (
                np.ones(yr.size, bool)
                if years is None
                else (yr >= years[0]) & (yr <= years[1])
            )
            if not keep.any():
                continue
            idx = np.flatnonzero(keep)
            values = ds["mrsos"][idx[0] : idx[-1] + 1]
            blocks.append(
                np.ma.filled(values.astype(np.float64), np.nan)[
                    keep[idx[0] : idx[-1] + 1]
                ]
            )
            months.append(mo[keep])
            year_list.append(yr[keep])
            if grid is None:
                grid = {
                    k: np.asarray(ds[k][:], dtype=np.float64)
                    for k in ("lat", "lon", "lat_bnds", "lon_bnds")
                }
    if not blocks:
        msg = (
            f"no mrsos values in {years[0]}-{years[1]} in {len(paths)} files"
            if years
            else "no mrsos files"
        )
        raise ValueError(msg)
    years_read = np.concatenate(year_list)
    return (
        np.concatenate(blocks),
        np.concatenate(months),
        (int(years_read.min()), int(years_read.max())),
        grid,
    )


def _read_fx(path: Path | None, name: str):
    import netCDF4

    if path is None or not path.exists():
        return None
    with netCDF4.Dataset(path) as ds:
        return np.ma.filled(ds[name][:].astype(np.float64), np.nan)


def model_files(archive: Path, model: str, member: str | None = None):
    """(mrsos files, sftlf path or None, areacella path or None, variant) of ``model``."""
    from smeval.cmorio import parse_variant_label

    base = archive / "CMIP6"
    found = sorted(base.glob(f"*/*/{model}/historical/*/Lmon/mrsos/*/*/*.nc"))
    variants = sorted({p.parts[-6] for p in found}, key=parse_variant_label)
    if not variants:
        msg = f"no CMIP6 mrsos files of {model} under {base}"
        raise ValueError(msg)
    variant = member or variants[0]
    files = [p for p in found if p.parts[-6] == variant]
    if not files:
        msg = (
            f"{model} has no member {variant}; members: {', '.join(variants)}"
        )
        raise ValueError(msg)
    fx = {}
    for name in ("sftlf", "areacella"):
        hits = sorted(
            base.glob(f"*/*/{model}/historical/{variant}/fx/{name}/*/*/*.nc")
        )
        fx[name] = hits[0] if hits else None
    return files, fx["sftlf"], fx["areacella"], variant


def reference_files(archive: Path, reference: str):
    """(mrsos files, sftlf path or None, OBS6 name) of a reference in ``archive/OBS6``."""
    name = OBS6_NAMES.get(reference, reference)
    folder = archive / "OBS6" / "Tier3" / name
    files = sorted(folder.glob(f"OBS6_{name}_*_Lmon_mrsos_*.nc"))
    if not files:
        msg = f"no OBS6 mrsos files of {name} in {folder}"
        raise ValueError(msg)
    sftlf = sorted(folder.glob(f"OBS6_{name}_*_fx_sftlf*.nc"))
    return files, (sftlf[0] if sftlf else None), name


def dataset_summary(files, sftlf_path, areacella_path, years):
    """Annual-mean map (lat, lon, kg m-2), regional annual cycles (12, 13) and the years read."""
    from smeval.core import regional
    from smeval.core.fields import annual_cycle, annual_mean_climatology
    from smeval.core.regions import REGIONS

    data, months, years_read, grid = _read_series(files, years)
    sftlf = _read_fx(sftlf_path, "sftlf")
    areacella = _read_fx(areacella_path, "areacella")
    weights = regional.region_weight_matrix(
        grid["lat_bnds"],
        grid["lon_bnds"],
        regions=REGIONS,
        areacella=areacella,
        land_fraction=None if sftlf is None else sftlf / 100.0,
    )
    series = regional.regional_means(data, weights)  # (time, 13), kg m-2
    cycles = np.asarray(annual_cycle(series, months))  # (12, 13)
    climatology = np.asarray(annual_mean_climatology(data))  # (lat, lon)
    return (
        (grid["lat"], grid["lon"], climatology),
        cycles,
        weights.region_ids,
        years_read,
    )


def _cycle_table(datasets, region_ids):
    """Return the annual cycles as a table of smeval.plot: (name, kind, cycles (12, nregion)) -> rows."""
    import pandas as pd

    from smeval.metrics.table import CYCLE_COLUMNS

    rows = []
    for name, kind, cyc in datasets:
        for j, region in enumerate(region_ids):
            for month in range(12):
                rows.append(
                    (
                        name,
                        kind,
                        VARIABLE,
                        region,
                        month + 1,
                        float(cyc[month, j]),
                        UNITS,
                    )
                )
    return pd.DataFrame(
        rows,
        columns=list(CYCLE_COLUMNS),
    )


def overview(
    archive: str | Path,
    model: str,
    reference: str = "ERA5",
    out: str | Path = ".",
    years: tuple[int, int] | None = (1979, 2014),
    member: str | None = None,
) -> list[Path]:
    """Draw the two overview figures; return the PNG paths (maps, cycles).

    Parameters
    ----------
    archive
        Root of a sample archive (``smeval sample-data --out``).
    model
        CMIP6 ``source_id`` in the archive.
    reference
        ERA5, ERA-Interim or GLDAS (needs the archive's OBS6 files).
    out
        Output folder (created).
    years
        (first, last) year averaged; None = every year in the files.
    member
        Variant label; default the first member of the model.
    """
    from smeval import plot

    archive, out = Path(archive), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mfiles, msftlf, marea, variant = model_files(archive, model, member)
    rfiles, rsftlf, rname = reference_files(archive, reference)
    mfield, mcyc, region_ids, myears = dataset_summary(
        mfiles, msftlf, marea, years
    )
    rfield, rcyc, _, ryears = dataset_summary(rfiles, rsftlf, None, years)
    span = (
        f"{myears[0]}-{myears[1]}"
        if myears == ryears
        else f"{model} {myears[0]}-{myears[1]}, {rname} {ryears[0]}-{ryears[1]}"
    )

    maps = plot.plot_field_panels(
        {f"{model} ({variant})": mfield, f"{rname} (OBS6)": rfield},
        title=f"Annual-mean shallow soil moisture (mrsos, 0-10 cm), {span} (synthetic sample archive)",
        units=UNITS,
        cmap="YlGnBu",
        levels=None,
        out_stem=out / f"overview_mrsos_maps_{model}_{rname}",
        ncols=2,
    )
    table = _cycle_table(
        ((model, "model", mcyc), (rname, "reference", rcyc)), region_ids
    )
    cycles = plot.plot_annual_cycles(
        table,
        VARIABLE,
        out / f"overview_mrsos_cycles_{model}_{rname}",
        regions=region_ids,
        period=f"{span} (synthetic sample archive)",
    )
    return [p for p in (*maps, *cycles) if p.suffix == ".png"]


def main(argv: list[str] | None = None) -> int:
    """Draw the overview figure of a sample archive; return the exit code."""
    from smeval.sample.cli import parse_years

    parser = argparse.ArgumentParser(
        prog="python -m smeval.sample.overview",
        description="Maps of the annual-mean mrsos and the 13 regional annual cycles of one model "
        "and one reference of a sample archive.",
    )
    parser.add_argument(
        "archive", metavar="ARCHIVE", help="root of the sample archive"
    )
    parser.add_argument(
        "--model", required=True, help="CMIP6 source_id, e.g. MPI-ESM1-2-LR"
    )
    parser.add_argument(
        "--reference",
        default="ERA5",
        choices=sorted(OBS6_NAMES),
        help="OBS6 reference (default ERA5)",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="output folder"
    )
    parser.add_argument(
        "--years",
        default="1979-2014",
        metavar="FIRST-LAST",
        help="years averaged (default 1979-2014)",
    )
    parser.add_argument(
        "--member",
        metavar="VARIANT",
        help="variant label (default: first member)",
    )
    args = parser.parse_args(argv)
    try:
        paths = overview(
            args.archive,
            args.model,
            args.reference,
            args.out,
            parse_years(args.years),
            args.member,
        )
    except ValueError as exc:
        print(f"overview: error: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
