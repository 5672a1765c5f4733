"""How the sample archive's multi-model mean compares with its reanalyses.

A quick check of the synthetic physics, not part of the recipe: from a
generated archive, shallow soil moisture (``mrsos``, kg m-2) of the first
member of every model that has it is averaged over the 13 regions of SPEC
section 3 and the two hemispheres on the model's own grid
(:func:`smeval.core.regional.region_weight_matrix` with the model's
``sftlf``), the models are averaged with equal weights (a simple
multi-model mean, not the family-weighted CMIP6-MMEM), and R, sigma, E' and
TSS (:func:`smeval.core.taylor.taylor_statistics`) are computed against the
OBS6 ERA5 and GLDAS-NOAH files, monthly series 1979-2014 with the seasonal
cycle. The paper (Fig. 7) finds weak or negative NH agreement against ERA5
and good SH agreement; the sample archive is built to show the same.

Usage::

    .venv/bin/python -m smeval.sample.realism ARCHIVE [--deep]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import netCDF4
import numpy as np

from smeval.core.depth import DepthNotReachedError, deep_from_layers
from smeval.core.regional import region_weight_matrix, regional_means
from smeval.core.taylor import taylor_statistics

REGION_ORDER = (
    "NH",
    "SH",
    "SIB",
    "M-AS",
    "EUR",
    "WNA",
    "ENA",
    "TIB",
    "L-AS",
    "NA-WA",
    "C-AF",
    "S-AF",
    "NSA",
    "SSA",
    "AUS",
)
REFERENCES = ("ERA5", "GLDAS-NOAH")


def _read(paths: list[Path], var: str):
    data, grid = [], None
    for path in sorted(paths):
        with netCDF4.Dataset(path) as ds:
            data.append(np.ma.filled(ds[var][:].astype(np.float64), np.nan))
            if grid is None:
                grid = (
                    np.asarray(ds["lat_bnds"][:]),
                    np.asarray(ds["lon_bnds"][:]),
                )
    return np.concatenate(data), grid


def _column(data: np.ndarray, var: str, depth_bounds=None) -> np.ndarray:
    if var == "mrsos":
        return data
    # 0-200 cm from layers (SPEC section 2); NaN where the layers stop short
    try:
        return np.ma.filled(deep_from_layers(data, depth_bounds), np.nan)
    except DepthNotReachedError:
        return np.full(data[:, 0].shape, np.nan)


def regional_series(
    paths: list[Path], var: str, sftlf_path: Path | None
) -> np.ndarray:
    """(n_time, n_regions) regional means in :data:`REGION_ORDER`, kg m-2."""
    data, (lat_b, lon_b) = _read(paths, var)
    depth_b = None
    if var == "mrsol":
        with netCDF4.Dataset(paths[0]) as ds:
            depth_b = np.asarray(ds["depth_bnds"][:])
    frac = None
    if sftlf_path is not None and sftlf_path.exists():
        with netCDF4.Dataset(sftlf_path) as ds:
            frac = np.ma.filled(ds["sftlf"][:].astype(np.float64), 0.0) / 100.0
    weights = region_weight_matrix(
        lat_b, lon_b, REGION_ORDER, land_fraction=frac
    )
    return regional_means(_column(data, var, depth_b), weights)


def model_series(root: Path, var: str = "mrsos") -> dict[str, np.ndarray]:
    """Model name -> regional series of its first member."""
    table = "Lmon" if var == "mrsos" else "Emon"
    out = {}
    for folder in sorted(
        root.glob(f"CMIP6/CMIP/*/*/historical/r1i1p1f*/{table}/{var}/*/*")
    ):
        model = folder.parts[-7]
        if model == "PLANTED-1":
            continue
        fx = next(folder.parents[2].glob("fx/sftlf/*/*/*.nc"), None)
        out[model] = regional_series(sorted(folder.glob("*.nc")), var, fx)
    return out


def reference_series(root: Path, name: str, var: str = "mrsos") -> np.ndarray:
    """Return the regional series of ``var`` of reference ``name`` in the archive."""
    folder = root / "OBS6" / "Tier3" / name
    table = "Lmon" if var == "mrsos" else "Emon"
    paths = sorted(folder.glob(f"OBS6_{name}_reanaly_1_{table}_{var}_*.nc"))
    return regional_series(
        paths, var, folder / f"OBS6_{name}_reanaly_1_fx_sftlf.nc"
    )


def mmem_statistics(
    root: str | Path, var: str = "mrsos"
) -> dict[str, dict[str, dict[str, float]]]:
    """Return reference -> region -> {R, sigma, E', TSS} of the simple multi-model mean."""
    root = Path(root)
    models = model_series(root, var)
    mmem = np.nanmean(np.stack(list(models.values())), axis=0)  # (nt, nreg)
    out = {}
    for ref in REFERENCES:
        x = reference_series(root, ref, var)
        st = taylor_statistics(mmem.T, x.T).as_dict()
        out[ref] = {
            rid: {k: float(v[i]) for k, v in st.items()}
            for i, rid in enumerate(REGION_ORDER)
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Compare the archive's multi-model mean with its reanalyses; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path)
    parser.add_argument(
        "--deep",
        action="store_true",
        help="0-200 cm from mrsol instead of mrsos",
    )
    args = parser.parse_args(argv)
    var = "mrsol" if args.deep else "mrsos"
    stats = mmem_statistics(args.archive, var)
    print(
        f"simple multi-model mean of {'deep (0-200 cm)' if args.deep else 'shallow (mrsos)'} "
        "soil moisture, monthly 1979-2014 regional series"
    )
    print(
        f"{'region':7s}"
        + "".join(f"  {ref:>10s}  R  sigma     E'" for ref in REFERENCES)
    )
    for rid in REGION_ORDER:
        cells = "".join(
            f"  {s['R']:>13.2f} {s['sigma']:6.2f} {s["E'"]:6.2f}"
            for s in (stats[ref][rid] for ref in REFERENCES)
        )
        print(f"{rid:7s}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
