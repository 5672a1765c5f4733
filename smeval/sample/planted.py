"""PLANTED-1: a model whose regional statistics against a reference are known.

Construction (``--planted REF``):

1. The reference's shallow soil moisture (``mrsos`` of ERA5, ERA-Interim or
   GLDAS, as written to the OBS6 files) is averaged over each of the 13
   regions of SPEC section 3 on the reference's own grid: weights are cell
   area x land fraction x the fraction of the cell inside the box (latitude
   overlap in sin(lat), longitude overlap in degrees). This gives x_R(t).
2. For each region a target correlation R* and standardised deviation s*
   (:data:`TARGETS`) are chosen. With x~ = x_R - mean(x_R) and
   sigma_x = std(x_R) (ddof 0), a noise series z is drawn, made exactly
   orthogonal to the constant and to x~, and scaled to
   std(z) = s* sigma_x sqrt(1 - R*^2). The planted series is
   y_R = m_R + R* s* x~ + z, with m_R = 1.1 mean(x_R) (plus a constant
   offset if needed to keep y_R >= 1 kg m-2). Then, exactly (ddof 0):
   corr(y_R, x_R) = R*, std(y_R) / std(x_R) = s*,
   E' = sqrt(s*^2 + 1 - 2 s* R*), TSS = 4 (1 + R*) / ((s* + 1/s*)^2 * 2).
3. PLANTED-1 is written on a 1-degree regular grid (cell edges on whole
   degrees, so every region box is a union of whole cells): every land cell
   whose centre lies in box R carries y_R(t), uniformly, so its regional
   mean is y_R exactly whatever the weights. Land cells outside every box
   carry 20 kg m-2. Land = Natural Earth land fraction > 0 on that grid.

The promised values are exact for the reference series of step 1; a
pipeline that regrids the reference to another grid first, or weights
cells differently, gets slightly different x_R and so R, sigma within a
small tolerance. ``planted_<REF>.json`` records targets, the reference
series and the construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from smeval import cmorio
from smeval.catalogue import grid_coordinates
from smeval.core.regional import cell_areas
from smeval.sample import physics as ph

NAME = "PLANTED-1"
INSTITUTION = "SMEVAL"
FAMILY = "PLANTED"
VARIANT = "r1i1p1f1"
VERSION = "v20240101"
GRID_LABEL = "gn"
CALENDAR = "standard"
#: Facets of every PLANTED-1 file (cmorio's CMIP6 path and attribute names).
COMMON = {
    "institution_id": INSTITUTION,
    "source_id": NAME,
    "variant_label": VARIANT,
    "grid_label": GRID_LABEL,
    "version": VERSION,
}

#: SPEC section 3: id -> (south, north, west, east), degrees (east positive).
#: Deliberately written out here and used with this module's own weights, so
#: that the promised statistics come by a route independent of smeval.core;
#: tests/sample checks these boxes equal smeval.core.regions.
REGIONS = {
    "SIB": (50.0, 75.0, 60.0, 140.0),
    "M-AS": (38.0, 50.0, 60.0, 112.0),
    "TIB": (30.0, 38.0, 75.0, 100.0),
    "L-AS": (10.0, 30.0, 70.0, 120.0),
    "NA-WA": (10.0, 35.0, -20.0, 60.0),
    "EUR": (35.0, 70.0, -10.0, 60.0),
    "C-AF": (-15.0, 10.0, -20.0, 50.0),
    "S-AF": (-35.0, -15.0, 10.0, 40.0),
    "WNA": (20.0, 60.0, -125.0, -98.0),
    "ENA": (30.0, 60.0, -98.0, -60.0),
    "NSA": (-12.0, 10.0, -80.0, -40.0),
    "SSA": (-40.0, -12.0, -65.0, -40.0),
    "AUS": (-40.0, -10.0, 112.0, 155.0),
}

#: Target (R, sigma) per region; TIB and NA-WA are the paper's MMEM values vs ERA5.
TARGETS = {
    "SIB": (0.90, 0.80),
    "M-AS": (0.80, 1.20),
    "TIB": (0.48, 0.33),
    "L-AS": (0.95, 1.00),
    "NA-WA": (0.70, 0.76),
    "EUR": (0.60, 1.40),
    "C-AF": (0.85, 0.60),
    "S-AF": (0.30, 1.10),
    "WNA": (0.75, 0.90),
    "ENA": (0.50, 0.50),
    "NSA": (0.92, 1.30),
    "SSA": (0.65, 1.00),
    "AUS": (0.20, 0.70),
}


def taylor_stats(r: float, sigma: float) -> dict[str, float]:
    """R, sigma, E' and TSS (R0 = 1) of SPEC section 5."""
    e_prime = float(np.sqrt(sigma**2 + 1.0 - 2.0 * sigma * r))
    tss = float(4.0 * (1.0 + r) / ((sigma + 1.0 / sigma) ** 2 * 2.0))
    return {"R": float(r), "sigma": float(sigma), "E'": e_prime, "TSS": tss}


def box_weights(lat_b: np.ndarray, lon_b: np.ndarray, box) -> np.ndarray:
    """Area of each cell inside ``box`` (unit sphere), (nlat, nlon)."""
    south, north, west, east = box
    s = np.sin(np.radians(np.clip(lat_b, south, north)))
    wlat = np.clip(s[:, 1] - s[:, 0], 0.0, None)
    lo = np.asarray(lon_b, dtype=np.float64)
    wlon = np.zeros(lo.shape[0])
    for shift in (-360.0, 0.0, 360.0):
        a = np.maximum(lo[:, 0] + shift, west)
        b = np.minimum(lo[:, 1] + shift, east)
        wlon += np.clip(b - a, 0.0, None)
    return np.outer(wlat, np.radians(wlon))


def regional_series(
    data: np.ndarray, lat_b, lon_b, land_frac
) -> dict[str, np.ndarray]:
    """Area x land-fraction x box-fraction weighted means, (nt, nlat, nlon) -> {id: (nt,)}."""
    values = np.ma.masked_invalid(np.ma.asarray(data, dtype=np.float64))
    out = {}
    for rid, box in REGIONS.items():
        w = box_weights(lat_b, lon_b, box) * land_frac
        w = np.where(np.ma.getmaskarray(values[0]), 0.0, w)
        out[rid] = (values.filled(0.0) * w).sum(axis=(1, 2)) / w.sum()
    return out


def planted_series(
    x: np.ndarray, r: float, s: float, rng: np.random.Generator
) -> np.ndarray:
    """Return a series with corr = r and std ratio = s against ``x`` exactly (ddof 0)."""
    xt = x - x.mean()
    sx = xt.std()
    z = rng.standard_normal(x.size)
    z -= z.mean()
    z -= (z @ xt) / (xt @ xt) * xt
    z *= s * sx * np.sqrt(max(1.0 - r * r, 0.0)) / z.std() if r < 1.0 else 0.0
    y = 1.1 * x.mean() + r * s * xt + z
    if y.min() < 1.0:
        y += 1.0 - y.min()
    return y


def _planted_paths(root: Path, period) -> dict[str, Path]:
    """Return the CMIP6 file of each variable of PLANTED-1 (mrsos, sftlf, areacella)."""
    tr = f"{period.first:04d}01-{period.last:04d}12"
    return {
        "mrsos": cmorio.cmip6_path(
            root, table_id="Lmon", variable_id="mrsos", time_range=tr, **COMMON
        ),
        "sftlf": cmorio.cmip6_path(
            root, table_id="fx", variable_id="sftlf", **COMMON
        ),
        "areacella": cmorio.cmip6_path(
            root, table_id="fx", variable_id="areacella", **COMMON
        ),
    }


def _planted_field(planted: dict[str, np.ndarray], period) -> np.ndarray:
    """Return mrsos (kg m-2, (nt, 180, 360)): y_R in every 1-degree cell centred in box R, 20 elsewhere."""
    lat, lon, _, _ = grid_coordinates("regular", 180, 360)
    data = np.full((period.n, 180, 360), 20.0)
    clon = np.where(lon > 180.0, lon - 360.0, lon)
    for rid, (south, north, west, east) in REGIONS.items():
        inside = ((lat > south) & (lat < north))[:, None] & (
            (clon > west) & (clon < east)
        )[None, :]
        data[:, inside] = planted[rid][:, None]
    return data


def _write_planted_file(
    var: str, path: Path, reference: str, values: np.ndarray, kwargs: dict
) -> None:
    """Write one PLANTED-1 file on the 1-degree grid (mrsos masked to land)."""
    from smeval.sample.generate import CREATION_DATE, SYNTHETIC

    lat, lon, lat_b, lon_b = grid_coordinates("regular", 180, 360)
    table = "Lmon" if var == "mrsos" else "fx"
    attrs = cmorio.cmip6_global_attributes(
        table_id=table,
        variable_id=var,
        creation_date=CREATION_DATE,
        grid="1x1 degree regular grid, cell edges on whole degrees",
        nominal_resolution="100 km",
        extra={
            "synthetic": SYNTHETIC,
            "planted": f"regional mrsos series with known R and sigma against {reference}; "
            f"see planted_{reference}.json",
        },
        **COMMON,
    )
    # land of the planted grid: Natural Earth land fraction on the 1-degree grid
    has_land = ph.land_fraction(180, 360, supersample=4) > 0.0
    cmorio.write_variable(
        path,
        values,
        project="CMIP6",
        mip=table,
        short_name=var,
        lat=lat,
        lon=lon,
        lat_bounds=lat_b,
        lon_bounds=lon_b,
        attributes=attrs,
        land_mask=has_land if var == "mrsos" else None,
        **kwargs,
    )


def _planted_doc(
    reference: str, period, ref_series: dict, planted: dict
) -> dict:
    """Return the content of ``planted_<REF>.json``: targets, series and construction."""
    return {
        "dataset": NAME,
        "institute": INSTITUTION,
        "family": FAMILY,
        "ensemble": VARIANT,
        "grid": GRID_LABEL,
        "reference": reference,
        "variable": "mrsos",
        "period": [period.first, period.last],
        "weights": "cell area x land fraction x fraction of the cell inside the box, "
        "on the reference's grid (OBS6 file), ddof = 0",
        "construction": (__doc__ or "").strip(),
        "regions": {
            rid: {**taylor_stats(*TARGETS[rid]), "box": list(REGIONS[rid])}
            for rid in REGIONS
        },
        "reference_series": {
            rid: [round(float(v), 6) for v in ref_series[rid]]
            for rid in REGIONS
        },
        "planted_series": {
            rid: [round(float(v), 6) for v in planted[rid]] for rid in REGIONS
        },
    }


def write_planted(
    root: Path,
    reference: str,
    ref_mrsos: np.ndarray,
    ref_grid: dict,
    period,
    seed: int,
) -> int:
    """Write PLANTED-1 (mrsos, sftlf, areacella) and ``planted_<REF>.json``."""
    root = Path(root)
    paths = _planted_paths(root, period)
    json_path = root / f"planted_{reference}.json"
    if all(p.exists() for p in paths.values()) and json_path.exists():
        return 0

    ref_series = regional_series(
        ref_mrsos, ref_grid["lat_b"], ref_grid["lon_b"], ref_grid["frac"]
    )
    rng = np.random.default_rng(ph.stable_seed(seed, "planted", reference))
    planted = {
        rid: planted_series(ref_series[rid], *TARGETS[rid], rng)
        for rid in REGIONS
    }
    _, _, lat_b, lon_b = grid_coordinates("regular", 180, 360)
    tp, tb = cmorio.monthly_time_axis(period.first, period.last, CALENDAR)
    written = 0
    for var, path in paths.items():
        if path.exists():
            continue
        kwargs = {}
        if var == "mrsos":
            values = _planted_field(planted, period)
            kwargs = {
                "time_points": tp,
                "time_bounds": tb,
                "calendar": CALENDAR,
            }
        elif var == "sftlf":
            values = 100.0 * ph.land_fraction(180, 360, supersample=4)
        else:
            values = cell_areas(lat_b, lon_b)
        _write_planted_file(var, path, reference, values, kwargs)
        written += 1

    doc = _planted_doc(reference, period, ref_series, planted)
    with cmorio.atomic_output(json_path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    return written + 1
