"""Generate the synthetic CMIP6 + reanalysis sample archive.

``generate(out, scale="default", models=None, members=None, years=None,
seed=0, planted=None, reanalyses="both", progress=True)`` writes

- ``OUT/CMIP6/CMIP/<institution_id>/<source_id>/historical/<variant_label>/
  <table_id>/<variable_id>/<grid_label>/<version>/<variable_id>_<table_id>_
  <source_id>_historical_<variant_label>_<grid_label>[_YYYYMM-YYYYMM].nc``
  for mrsos (Lmon), mrsol (Emon), pr and evspsbl (Amon), mrros (Lmon), snm
  (LImon) where Table 1 lists members, and sftlf, areacella (fx);
- ``OUT/OBS6/Tier3/<dataset>/OBS6_<dataset>_reanaly_1_<mip>_<var>_<range>.nc``
  (``reanalyses`` "obs6" or "both"): ERA5, ERA-Interim, GLDAS-NOAH, made by
  running smeval's converters (:mod:`smeval.cmorize`) on the raw files, so
  they are exactly what ``smeval cmorize`` gives (for "obs6" the raw files
  are written to a temporary folder and removed);
- ``OUT/raw/ERA5/``, ``OUT/raw/ERA-Interim/``, ``OUT/raw/GLDAS/``
  (``reanalyses`` "raw" or "both"): the distributors' formats, through
  :mod:`smeval.cmorize.rawformats`;
- ``OUT/planted_<REF>.json`` and the ``PLANTED-1`` model with ``planted=REF``
  (see :mod:`smeval.sample.planted`);
- ``OUT/sample_archive.json``: what was generated (scale, seed, models,
  members, years, file count).

Memory: every data set's bucket runs once on the world grid (1 degree at
the paper scale, about 1 GB); regridding to the model or reanalysis grid,
the distribution over soil layers and the writing then go block by block
along time (:data:`BLOCK_BYTES` per variable block; the files of one period
open together through :func:`smeval.cmorio.variable_writer`; raw reanalysis
files one year at a time). Every step is per month, so the data and the
bytes do not depend on the blocks; peak RSS stays near 2-2.5 GB even for
CNRM-CM6-1-HR or ERA5 at 0.25 degrees.

Every file carries the global attribute ``synthetic``. Files are written
atomically and skipped when they exist, so re-running completes a partial
archive and leaves a complete one untouched. Output is deterministic for a
given seed: the generator's own files are byte-identical, the converted
OBS6 files identical in data (their metadata records when they were made).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from functools import cache
from pathlib import Path

import numpy as np

from smeval import cmorio
from smeval.catalogue import (
    FX_VARIABLES,
    VARIABLE_TABLES,
    ModelEntry,
    grid_coordinates,
    load_catalogue,
)
from smeval.core.regional import cell_areas
from smeval.sample import physics as ph
from smeval.sample.regrid import Regridder

SYNTHETIC = "yes: smeval sample archive, not real model output"
CREATION_DATE = "2024-01-01T00:00:00Z"
KG_PER_MM_DAY = 1.0 / 86400.0  # mm/day -> kg m-2 s-1
#: float32 mantissa bits kept in the archive (relative precision 1.2e-4);
#: synthetic noise in all 23 bits would not compress at all.
SIGNIFICANT_BITS = 12


@dataclasses.dataclass(frozen=True)
class Scale:
    """A preset of the archive: which models, how many members, how coarse."""

    name: str
    models: tuple[str, ...] | None  # None = every catalogue model
    members: int | None  # cap per variable; None = Table 1 counts
    years: tuple[int, int]
    coarsen: float  # native rows / written rows (1 = native)
    min_rows: int
    world_resolution: float  # degrees of the synthetic truth grid
    reanalysis_resolution: (
        float | None
    )  # degrees; None = the distributors' grids
    #: models whose member cap is raised (still never above Table 1's counts)
    extra_members: tuple[tuple[str, int], ...] = ()

    def member_cap(self, model: str) -> int | None:
        """Return the member cap of ``model`` at this scale (None = Table 1 counts)."""
        return dict(self.extra_members).get(model, self.members)


#: Models written with two members at the default scale: five families, both
#: resolution groups (CESM2 and MRI-ESM2-0 high, the others low), so that
#: model ensemble means and ``ensemble: "*"`` see more than one member.
DEFAULT_TWO_MEMBERS = (
    "CESM2",
    "MRI-ESM2-0",
    "CNRM-CM6-1",
    "MIROC6",
    "GISS-E2-1-G",
)

SCALES = {
    "tiny": Scale(
        "tiny",
        ("MPI-ESM1-2-LR", "MPI-ESM1-2-HR", "CNRM-CM6-1"),
        2,
        (1979, 1981),
        coarsen=6.0,
        min_rows=12,
        world_resolution=4.0,
        reanalysis_resolution=4.0,
    ),
    "default": Scale(
        "default",
        None,
        1,
        (1979, 2014),
        coarsen=6.0,
        min_rows=12,
        world_resolution=2.0,
        reanalysis_resolution=2.5,
        extra_members=tuple((name, 2) for name in DEFAULT_TWO_MEMBERS),
    ),
    "paper": Scale(
        "paper",
        None,
        None,
        (1979, 2014),
        coarsen=1.0,
        min_rows=1,
        world_resolution=1.0,
        reanalysis_resolution=None,
    ),
}

#: OBS6 names of the reanalyses (ESMValTool: ERA5, ERA-Interim, GLDAS).
REANALYSES = ("ERA5", "ERA-Interim", "GLDAS")


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Period:
    """Months from January of ``first`` to December of ``last``."""

    first: int
    last: int

    @property
    def n(self) -> int:
        """Number of months of the period."""
        return 12 * (self.last - self.first + 1)

    @property
    def months(self) -> np.ndarray:
        """Month number (1-12) of each month of the period."""
        return np.tile(np.arange(1, 13), self.last - self.first + 1)

    def days(self, calendar: str) -> np.ndarray:
        """Return the length in days of each month in ``calendar``."""
        _, bounds = cmorio.monthly_time_axis(self.first, self.last, calendar)
        return np.diff(bounds, axis=1)[:, 0]

    def chunks(
        self, split_years: int, split_start: int
    ) -> list[tuple[int, int]]:
        """(first, last) year of each file, as the real archive splits it."""
        if split_years <= 0:
            return [(self.first, self.last)]
        out = []
        y = self.first
        while y <= self.last:
            end = (
                split_start
                + ((y - split_start) // split_years + 1) * split_years
                - 1
            )
            out.append((y, min(end, self.last)))
            y = min(end, self.last) + 1
        return out


# ---------------------------------------------------------------------------
# planning: which files belong to which unit of work
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class ModelPlan:
    """What the sample archive writes for one model: grid size and members."""

    model: ModelEntry
    nlat: int
    nlon: int
    members: dict[str, int]  # variable -> number of members written

    @property
    def n_members(self) -> int:
        """Largest number of members written of any variable."""
        return max(self.members.values(), default=0)


def coarse_rows(model: ModelEntry, scale: Scale) -> tuple[int, int]:
    """Rows and columns written at ``scale`` (native divided by ``coarsen``)."""
    if scale.coarsen <= 1.0:
        return model.grid.nlat, model.grid.nlon
    f = scale.coarsen
    if model.grid.kind == "poles":
        nlat = round((model.grid.nlat - 1) / f) + 1
    else:
        nlat = round(model.grid.nlat / f)
    nlat = max(nlat, scale.min_rows)
    nlon = max(round(model.grid.nlon / f), 2 * scale.min_rows)
    return nlat, nlon


def plan_models(
    scale: Scale, models: Sequence[str] | None, members: int | None
) -> list[ModelPlan]:
    """Return the plan of each model to write at ``scale``."""
    cat = load_catalogue()
    names = list(models) if models else list(scale.models or cat.models)
    unknown = [n for n in names if n not in cat.models]
    if unknown:
        msg = f"models not in the catalogue: {', '.join(unknown)}"
        raise ValueError(msg)
    plans = []
    for name in names:
        model = cat.models[name]
        cap = members if members is not None else scale.member_cap(name)
        counts = {
            v: (min(c, cap) if cap else c)
            for v, c in model.members.items()
            if c > 0
        }
        nlat, nlon = coarse_rows(model, scale)
        plans.append(ModelPlan(model, nlat, nlon, counts))
    return plans


def model_files(
    root: Path, plan: ModelPlan, member: int, period: Period
) -> dict[str, list[tuple[Path, tuple[int, int] | None]]]:
    """Variable -> [(path, (first, last year) or None for fx)] of one member."""
    m = plan.model
    variant = m.variant_label(member)
    out: dict[str, list] = {}
    common = {
        "institution_id": m.institution_id,
        "source_id": m.name,
        "variant_label": variant,
        "grid_label": m.grid.label,
        "version": m.version,
    }
    for var, count in plan.members.items():
        if member > count:
            continue
        table = VARIABLE_TABLES[var]
        out[var] = [
            (
                cmorio.cmip6_path(
                    root,
                    table_id=table,
                    variable_id=var,
                    time_range=f"{a:04d}01-{b:04d}12",
                    **common,
                ),
                (a, b),
            )
            for a, b in period.chunks(m.split_years, m.split_start)
        ]
    if member == 1:
        for var in FX_VARIABLES:
            out[var] = [
                (
                    cmorio.cmip6_path(
                        root, table_id="fx", variable_id=var, **common
                    ),
                    None,
                )
            ]
    return out


# ---------------------------------------------------------------------------
# the shared world
# ---------------------------------------------------------------------------


@cache
def _world(resolution: float) -> ph.World:
    return ph.make_world(resolution)


@dataclasses.dataclass
class Fields:
    """One data set run on the world's land cells (and pr/evspsbl everywhere)."""

    theta: np.ndarray  # (nland, 5, nt) m3 m-3 (cell-major, see BucketOutput)
    pr: np.ndarray  # (ncell, nt) mm/day
    evspsbl: np.ndarray  # (ncell, nt) mm/day
    mrros: np.ndarray  # (nland, nt) mm/day
    snm: np.ndarray  # (nland, nt) mm/day


def run_dataset(
    world,
    period: Period,
    calendar: str,
    flavour: ph.Flavour,
    weather_seed,
    bias_seed,
    enso=None,
    own_noise: float = 0.0,
) -> Fields:
    """Return forcing + bucket of one data set (one model member or one reanalysis)."""
    months = period.months
    weather = np.random.default_rng(weather_seed)
    forcing = ph.make_forcing(
        world,
        months,
        flavour,
        weather,
        np.random.default_rng(bias_seed),
        enso=enso,
        own_noise=own_noise,
    )
    out = ph.run_bucket(world, forcing, period.days(calendar), flavour)
    pr, ev = ph.ocean_fluxes(world, months, flavour)
    pr[world.land] = forcing.precip.T
    ev[world.land] = out.evap
    # ice sheets have no soil: models report (near) zero soil water there
    out.theta[world.ice_sheet] = 0.0
    return Fields(out.theta, pr, ev, out.runoff, out.melt)


def _tracking_id(seed: int, path: Path) -> str:
    return "hdl:21.14100/" + str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"smeval-sample/{seed}/{path.name}")
    )


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------

#: Budget (bytes of float64) of one time block of the largest variable on a
#: model or reanalysis grid: files are computed and written block by block
#: along time, so peak memory does not grow with the grid or the period.
BLOCK_BYTES = 256 * 2**20


def block_months(ncell: int, nlayer: int, budget: int = BLOCK_BYTES) -> int:
    """Months per time block for ``ncell`` cells and at most ``nlayer`` layers (>= 1)."""
    per_month = ncell * max(nlayer, len(ph.BUCKET_LAYERS)) * 8
    return max(1, budget // per_month)


def time_blocks(i0: int, i1: int, months: int) -> list[tuple[int, int]]:
    """[start, stop) month indices covering i0..i1 in blocks of ``months``."""
    return [(a, min(a + months, i1)) for a in range(i0, i1, months)]


@dataclasses.dataclass(frozen=True)
class _MemberWriter:
    """What every file of one model member shares: grid, fields, attributes."""

    plan: ModelPlan
    member: int
    seed: int
    #: lat, lon, lat_b, lon_b of the written grid (degrees)
    coords: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    rg: Regridder
    fields: Fields
    months_per_block: int

    def options(self, var: str, path: Path) -> dict:
        """Keyword arguments of :mod:`smeval.cmorio`'s writers for ``var`` at ``path``."""
        m = self.plan.model
        lat, lon, lat_b, lon_b = self.coords
        table = "fx" if var in FX_VARIABLES else VARIABLE_TABLES[var]
        grid_text = (
            f"synthetic stand-in for the native {m.grid.nlat} x {m.grid.nlon} "
            f"({m.grid.kind}) grid, written at {self.plan.nlat} x {self.plan.nlon}"
        )
        attrs = cmorio.cmip6_global_attributes(
            source_id=m.name,
            institution_id=m.institution_id,
            variant_label=m.variant_label(self.member),
            grid_label=m.grid.label,
            table_id=table,
            variable_id=var,
            grid=grid_text,
            nominal_resolution=_nominal_resolution(self.plan.nlat),
            creation_date=CREATION_DATE,
            tracking_id=_tracking_id(self.seed, path),
            version=m.version,
            extra={
                "synthetic": SYNTHETIC,
                "license": "Synthetic data generated by smeval for testing; no licence restrictions.",
                "land_model": m.land_model.name,
            },
        )
        land_only = var not in ("pr", "evspsbl", "areacella", "sftlf")
        kwargs = {
            "project": "CMIP6",
            "mip": table,
            "short_name": var,
            "lat": lat,
            "lon": lon,
            "lat_bounds": lat_b,
            "lon_bounds": lon_b,
            "attributes": attrs,
            "land_mask": self.rg.has_land if land_only else None,
            "significant_bits": SIGNIFICANT_BITS,
        }
        if var == "mrsol":
            kwargs["depth_bounds"] = m.land_model.layer_bounds
        return kwargs

    def write_fixed(self, var: str, path: Path) -> None:
        """Write a fixed field (sftlf in %, areacella in m2): small, written whole."""
        _, _, lat_b, lon_b = self.coords
        data = (
            100.0 * self.rg.land_fraction
            if var == "sftlf"
            else cell_areas(lat_b, lon_b)
        )
        cmorio.write_variable(path, data, **self.options(var, path))

    def write_period(
        self, period: Period, years: tuple[int, int], items
    ) -> int:
        """Write the files ``items`` [(var, path)] of ``years`` block by block; return their count."""
        m = self.plan.model
        tp, tb = cmorio.monthly_time_axis(
            period.first, period.last, m.calendar
        )
        a, b = years
        i0 = (a - period.first) * 12
        i1 = (b - period.first + 1) * 12
        with ExitStack() as stack:
            writers = [
                (
                    var,
                    stack.enter_context(
                        cmorio.variable_writer(
                            path,
                            time_points=tp[i0:i1],
                            time_bounds=tb[i0:i1],
                            calendar=m.calendar,
                            **self.options(var, path),
                        )
                    ),
                )
                for var, path in items
            ]
            for t0, t1 in time_blocks(i0, i1, self.months_per_block):
                cache: dict = {}
                for var, writer in writers:
                    block = _grid_variable(
                        var,
                        self.fields,
                        self.rg,
                        m.land_model.layer_bounds,
                        slice(t0, t1),
                        cache,
                    )
                    writer.write(block, start=t0 - i0)
                    del block
        return len(items)


def _missing_files(
    files: dict[str, list[tuple[Path, tuple[int, int] | None]]],
) -> dict[str, list[tuple[Path, tuple[int, int] | None]]]:
    """Return the files of :func:`model_files` that do not exist yet (variables with none left out)."""
    todo = {
        v: [(p, c) for p, c in lst if not p.exists()]
        for v, lst in files.items()
    }
    return {v: lst for v, lst in todo.items() if lst}


def write_model_member(
    root: Path,
    plan: ModelPlan,
    member: int,
    period: Period,
    seed: int,
    world: ph.World,
    months_per_block: int | None = None,
) -> int:
    """Compute and write the files of one member that are missing; return count written.

    The bucket runs once on the world grid (small); regridding, layer
    distribution and writing go block by block along time
    (``months_per_block``, default from :data:`BLOCK_BYTES`), all files of
    one period open at once, so peak memory is a few blocks whatever the
    grid. Every step is per month, so the data do not depend on the blocks.
    """
    m = plan.model
    todo = _missing_files(model_files(root, plan, member, period))
    if not todo:
        return 0
    coords = m.grid.coordinates(plan.nlat, plan.nlon)
    rg = _regridder(world.nlat, world.nlon, m.grid.kind, plan.nlat, plan.nlon)
    flavour = ph.model_flavour(m.name, m.skill, seed)
    fields = run_dataset(
        world,
        period,
        m.calendar,
        flavour,
        weather_seed=ph.stable_seed(seed, "weather", m.name, member),
        bias_seed=ph.stable_seed(seed, "bias", m.name),
    )
    if months_per_block is None:
        months_per_block = block_months(
            plan.nlat * plan.nlon, len(m.land_model.layer_bounds)
        )
    writer = _MemberWriter(
        plan, member, seed, coords, rg, fields, months_per_block
    )
    written = 0
    periods: dict[tuple[int, int], list[tuple[str, Path]]] = {}
    for var, lst in todo.items():
        for path, chunk in lst:
            if chunk is None:
                writer.write_fixed(var, path)
                written += 1
            else:
                periods.setdefault(chunk, []).append((var, path))
    for years, items in periods.items():
        written += writer.write_period(period, years, items)
    return written


def _grid_variable(
    var,
    fields: Fields,
    rg: Regridder,
    layer_bounds: np.ndarray,
    times: slice,
    cache: dict,
):
    """Months ``times`` of a variable on the target grid of ``rg`` in CMOR units.

    ``layer_bounds`` are the data set's soil layers (mrsol); ``cache`` holds
    the regridded bucket layers of these months (shared by mrsos and mrsol).
    """
    if var == "pr":
        return rg.mean(fields.pr[:, times]) * KG_PER_MM_DAY
    if var == "evspsbl":
        return rg.mean(fields.evspsbl[:, times]) * KG_PER_MM_DAY
    if var == "mrros":
        return rg.land_mean(fields.mrros[:, times]) * KG_PER_MM_DAY
    if var == "snm":
        return rg.land_mean(fields.snm[:, times]) * KG_PER_MM_DAY
    bounds = np.array([[0.0, 0.1]]) if var == "mrsos" else layer_bounds
    # layer distribution is linear in theta, so regrid the 5 bucket layers first
    if "theta" not in cache:
        cache["theta"] = rg.land_mean(
            fields.theta[:, :, times]
        )  # (5, nt, my, mx)
    out = np.einsum("kj,jtyx->tkyx", ph.layer_matrix(bounds), cache["theta"])
    return out[:, 0] if var == "mrsos" else out


@cache
def _regridder(wnlat, wnlon, kind, nlat, nlon) -> Regridder:
    world = _world(180.0 / wnlat)
    _, _, wlat_b, wlon_b = grid_coordinates("regular", world.nlat, world.nlon)
    _, _, lat_b, lon_b = grid_coordinates(kind, nlat, nlon)
    return Regridder(wlat_b, wlon_b, lat_b, lon_b, world.frac, world.land)


def _nominal_resolution(nlat: int) -> str:
    km = 20000.0 / nlat
    for nominal in (25, 50, 100, 250, 500, 1000):
        if km <= nominal * 1.4:
            return f"{nominal} km"
    return "1000 km"


# ---------------------------------------------------------------------------
# reanalyses
# ---------------------------------------------------------------------------

#: OBS6 variables of every reanalysis and their tables: those of Table 1.
OBS6_VARIABLES = VARIABLE_TABLES
#: OBS6 data set names, as the converters write them (smeval.cmorize.convert).
OBS6_NAMES = {
    "ERA5": "ERA5",
    "ERA-Interim": "ERA-Interim",
    "GLDAS": "GLDAS-NOAH",
}


def reanalysis_grid(name: str, scale: Scale):
    """(kind, nlat, nlon) of a reanalysis at ``scale``."""
    res = scale.reanalysis_resolution
    if res is None:
        res = 0.25 if name != "ERA-Interim" else 0.75
    return "regular", round(180 / res), round(360 / res)


def reanalysis_fields(
    name: str, period: Period, seed: int, world: ph.World, scale: Scale
):
    """Return the reanalysis on its grid: ``(fields_of, grid)``.

    ``fields_of(i0, i1)`` gives the dict of CMOR-unit arrays of months
    ``i0:i1`` (mrsol, mrsos, pr, evspsbl, mrros, snm); ``grid`` the grid and
    land mask. The bucket runs once on the world grid; regridding and layer
    distribution are per call, so callers bound memory by asking for a year
    (one raw file) at a time.
    """
    cat = load_catalogue()
    info = cat.reanalyses[name]
    flavour = ph.REANALYSIS_FLAVOURS[name]
    obs_weather = ph.stable_seed(seed, "weather", "observed")
    enso = ph.enso_index(
        np.random.default_rng(ph.stable_seed(seed, "enso", "observed")),
        period.n,
    )
    fields = run_dataset(
        world,
        period,
        "standard",
        flavour,
        weather_seed=obs_weather,
        bias_seed=ph.stable_seed(seed, "bias", name),
        enso=enso,
        own_noise=0.08,
    )
    kind, nlat, nlon = reanalysis_grid(name, scale)
    rg = _regridder(world.nlat, world.nlon, kind, nlat, nlon)
    lat, lon, lat_b, lon_b = grid_coordinates(kind, nlat, nlon)
    layers = info.layer_bounds

    def fields_of(i0: int, i1: int) -> dict[str, np.ndarray]:
        cache: dict = {}
        return {
            var: _grid_variable(var, fields, rg, layers, slice(i0, i1), cache)
            for var in VARIABLE_TABLES
        }

    return fields_of, {
        "lat": lat,
        "lon": lon,
        "lat_b": lat_b,
        "lon_b": lon_b,
        "has_land": rg.has_land,
        "frac": rg.land_fraction,
        "layers": layers,
    }


def obs6_files(root: Path, name: str, period: Period) -> dict[str, Path]:
    """Return the OBS6 file of each variable of reference ``name``."""
    tr = f"{period.first:04d}01-{period.last:04d}12"
    files = {
        var: cmorio.obs6_path(
            root / "OBS6",
            dataset=OBS6_NAMES[name],
            mip=mip,
            short_name=var,
            time_range=tr,
        )
        for var, mip in OBS6_VARIABLES.items()
    }
    files["sftlf"] = cmorio.obs6_path(
        root / "OBS6", dataset=OBS6_NAMES[name], mip="fx", short_name="sftlf"
    )
    return files


def convert_to_obs6(
    raw_root: Path, root: Path, name: str, period: Period
) -> int:
    """CMORize the raw files of reanalysis ``name`` into ``root/OBS6`` with smeval's converter.

    The sample archive's OBS6 files are always made this way, never written
    directly, so they are exactly what a user gets from ``smeval cmorize``
    (same 0-10 cm rule, land mask and units), and the planted model is built
    on the very files the recipe reads.
    """
    from smeval.cmorize.convert import Options, cmorize

    missing = [
        var
        for var, path in obs6_files(root, name, period).items()
        if not path.exists()
    ]
    if not missing:
        return 0
    # Only the missing variables: a resumed archive keeps its complete files.
    written = cmorize(
        name,
        raw_root / name,
        root / "OBS6",
        Options(
            start=period.first,
            end=period.last,
            variables=missing,
            progress=False,
        ),
    )
    return len(written)


def read_obs6_mrsos(
    root: Path, name: str, period: Period
) -> tuple[np.ndarray, dict]:
    """``mrsos`` (kg m-2, NaN where missing) and its grid from the converted OBS6 files."""
    import netCDF4

    files = obs6_files(root, name, period)
    with netCDF4.Dataset(files["mrsos"]) as ds:
        mrsos = np.ma.filled(ds["mrsos"][:].astype(np.float64), np.nan)
        grid = {
            k: np.asarray(ds[v][:], dtype=np.float64)
            for k, v in (
                ("lat", "lat"),
                ("lon", "lon"),
                ("lat_b", "lat_bnds"),
                ("lon_b", "lon_bnds"),
            )
        }
    with netCDF4.Dataset(files["sftlf"]) as ds:
        grid["frac"] = (
            np.ma.filled(ds["sftlf"][:].astype(np.float64), 0.0) / 100.0
        )
    return mrsos, grid


def raw_targets(root: Path, name: str, period: Period) -> list[Path]:
    """Return the raw files of a reanalysis (existence = complete)."""
    from smeval.cmorize import rawformats

    if name == "GLDAS":
        return [
            root
            / "raw"
            / "GLDAS"
            / rawformats.GLDAS_MONTHLY_NAME.format(year=y, month=mo)
            for y in range(period.first, period.last + 1)
            for mo in range(1, 13)
        ]
    return [
        root / "raw" / name / f"{name}_monthly_{y}.nc"
        for y in range(period.first, period.last + 1)
    ]


def write_raw(
    root: Path, name: str, fields_of, grid: dict, period: Period
) -> int:
    """Write the distributors' formats (one ERA file per year, GLDAS one per month).

    ``fields_of(i0, i1)``: the CMOR-unit fields of months ``i0:i1`` (see
    :func:`reanalysis_fields`); asked for one year at a time.
    """
    targets = raw_targets(root, name, period)
    if all(p.exists() for p in targets):
        return 0
    if name == "GLDAS":
        return _write_gldas_raw(targets, fields_of, grid, period)
    return _write_ecmwf_raw(name, targets, fields_of, grid, period)


def _raw_times(period: Period) -> list:
    """First day of every month of ``period`` (datetime), the raw files' times."""
    import datetime as dt

    return [
        dt.datetime(y, mo, 1)
        for y in range(period.first, period.last + 1)
        for mo in range(1, 13)
    ]


def _ocean_to_nan(grid: dict):
    """Return a function that sets the cells without land of ``grid`` to NaN."""
    mask = ~grid["has_land"]

    def land(a):
        return np.where(mask[None], np.nan, a)

    return land


def _gldas_variables(fields: dict, land) -> dict[str, np.ndarray]:
    """GLDAS variables of CMOR-unit ``fields``: kg m-2 per layer, rates in kg m-2 s-1, *_acc in kg m-2 per 3 h."""
    steps = 8.0
    return {
        "SoilMoi0_10cm_inst": land(fields["mrsol"][:, 0]),
        "SoilMoi10_40cm_inst": land(fields["mrsol"][:, 1]),
        "SoilMoi40_100cm_inst": land(fields["mrsol"][:, 2]),
        "SoilMoi100_200cm_inst": land(fields["mrsol"][:, 3]),
        "Rainf_f_tavg": land(fields["pr"]),
        "Evap_tavg": land(fields["evspsbl"]),
        "Qs_acc": land(fields["mrros"] * 86400.0 / steps),
        "Qsm_acc": land(fields["snm"] * 86400.0 / steps),
    }


def _write_gldas_raw(
    targets: list[Path], fields_of, grid: dict, period: Period
) -> int:
    """Write the missing GLDAS files (one per month, 60S-90N), a year of fields at a time."""
    from smeval.cmorize import rawformats

    lat, lon = grid["lat"], grid["lon"]
    times = _raw_times(period)
    land = _ocean_to_nan(grid)
    # GLDAS covers 60S-90N
    sel = grid["lat"] > -60.0
    written = 0
    for year in range(period.last - period.first + 1):
        months = range(12 * year, 12 * year + 12)
        if all(targets[i].exists() for i in months):
            continue
        fields = fields_of(12 * year, 12 * year + 12)
        variables = _gldas_variables(fields, land)
        del fields
        variables = {k: v[:, sel] for k, v in variables.items()}
        for i in months:
            path = targets[i]
            if path.exists():
                continue
            j = i - 12 * year
            rawformats.write_gldas_monthly(
                path.parent,
                {k: v[j : j + 1] for k, v in variables.items()},
                lat[sel],
                lon,
                times[i : i + 1],
                global_attributes={"synthetic": SYNTHETIC},
            )
            written += 1
    return written


def _write_ecmwf_raw(
    name: str, targets: list[Path], fields_of, grid: dict, period: Period
) -> int:
    """Write the missing ERA5 or ERA-Interim files (one per year)."""
    from smeval.cmorize import rawformats

    # ECMWF: swvl in m3 m-3; tp, sro in m of water per day; e, smlt in m w.e. per day, e < 0
    writer = (
        rawformats.write_era5_monthly
        if name == "ERA5"
        else rawformats.write_era_interim_monthly
    )
    lat, lon = grid["lat"], grid["lon"]
    times = _raw_times(period)
    land = _ocean_to_nan(grid)
    thick = np.diff(grid["layers"], axis=1)[:, 0]  # m
    lsm = (grid["frac"] >= 0.5).astype(np.float32)[None]
    written = 0
    for k, path in enumerate(targets):
        if path.exists():
            continue
        i0, i1 = 12 * k, 12 * (k + 1)
        fields = fields_of(i0, i1)
        variables = {
            f"swvl{j + 1}": land(fields["mrsol"][:, j] / (thick[j] * 1000.0))
            for j in range(4)
        }
        variables.update(
            {
                "tp": fields["pr"] * 86400.0 / 1000.0,
                "e": -fields["evspsbl"] * 86400.0 / 1000.0,
                "sro": land(fields["mrros"] * 86400.0 / 1000.0),
                "smlt": land(fields["snm"] * 86400.0 / 1000.0),
                "lsm": np.broadcast_to(lsm, fields["pr"].shape),
            }
        )
        del fields
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(
            path,
            variables,
            lat,
            lon,
            times[i0:i1],
            global_attributes={"synthetic": SYNTHETIC},
        )
        written += 1
    return written


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Job:
    """One run of :func:`generate`: where, what and how the units are written."""

    root: Path
    period: Period
    seed: int
    world: ph.World
    scale: Scale
    reanalyses: str
    planted: str | None
    months_per_block: int | None
    #: Raw reanalysis files needed only as the converters' input (reanalyses="obs6").
    scratch: Path


def _check_choices(scale: str, reanalyses: str) -> None:
    """Raise ValueError for an unknown ``scale`` or ``reanalyses`` choice."""
    if scale not in SCALES:
        msg = f"unknown scale {scale!r}; choose from {', '.join(SCALES)}"
        raise ValueError(msg)
    if reanalyses not in ("obs6", "raw", "both", "none"):
        msg = f"reanalyses must be obs6, raw, both or none, not {reanalyses!r}"
        raise ValueError(msg)


def _work_units(
    plans: list[ModelPlan], reanalyses: str, planted: str | None
) -> list[tuple[str, object, int]]:
    """(kind, item, member) of every unit: reanalyses, model members, then PLANTED-1."""
    rean_names = [] if reanalyses == "none" else list(REANALYSES)
    if planted and planted not in REANALYSES:
        msg = f"--planted must be one of {', '.join(REANALYSES)}, not {planted!r}"
        raise ValueError(msg)
    if planted and planted not in rean_names:
        rean_names.append(planted)
    units: list[tuple[str, object, int]] = [
        ("reanalysis", name, 0) for name in rean_names
    ]
    units += [
        ("model", plan, r)
        for plan in plans
        for r in range(1, plan.n_members + 1)
    ]
    if planted:
        units.append(("planted", planted, 0))
    return units


def _write_reanalysis(job: _Job, name: str) -> int:
    """Write the raw files and the OBS6 files of reanalysis ``name`` that are asked for and missing."""
    root, period = job.root, job.period
    need_obs6 = job.reanalyses in ("obs6", "both") or (job.planted == name)
    # The converters' input: kept under OUT/raw unless only OBS6 was asked for.
    keep_raw = job.reanalyses in ("raw", "both")
    raw_root = root / "raw" if keep_raw else job.scratch / "raw"
    obs6_missing = need_obs6 and not all(
        p.exists() for p in obs6_files(root, name, period).values()
    )
    raw_missing = not all(
        p.exists() for p in raw_targets(raw_root.parent, name, period)
    )
    written = 0
    if raw_missing and (keep_raw or obs6_missing):
        fields_of, grid = reanalysis_fields(
            name, period, job.seed, job.world, job.scale
        )
        n_raw = write_raw(raw_root.parent, name, fields_of, grid, period)
        # scratch files are not the archive's
        written += n_raw if raw_root.parent == root else 0
        del fields_of
    if need_obs6:
        written += convert_to_obs6(raw_root, root, name, period)
    return written


def _write_unit(job: _Job, kind: str, item, member: int) -> int:
    """Write one unit of :func:`_work_units`; return the number of archive files written."""
    if kind == "reanalysis":
        return _write_reanalysis(job, item)
    if kind == "model":
        return write_model_member(
            job.root,
            item,
            member,
            job.period,
            job.seed,
            job.world,
            months_per_block=job.months_per_block,
        )
    from smeval.sample import planted as planted_mod

    mrsos, grid = read_obs6_mrsos(job.root, item, job.period)
    return planted_mod.write_planted(
        job.root, item, mrsos, grid, job.period, job.seed
    )


def _unit_label(kind: str, item, member: int) -> str:
    """Return what the progress bar shows while a unit is written."""
    if kind == "reanalysis":
        return item
    if kind == "model":
        return f"{item.model.name} r{member}"
    return "PLANTED-1"


def _write_summary(root: Path, summary: dict) -> None:
    """Write ``sample_archive.json`` unless it already holds ``summary``."""
    summary_path = root / "sample_archive.json"
    text = json.dumps(summary, indent=1, sort_keys=True)
    if not summary_path.exists() or summary_path.read_text() != text:
        with cmorio.atomic_output(summary_path) as tmp:
            tmp.write_text(text)


def _summary(job: _Job, scale: str, plans: list[ModelPlan]) -> dict:
    """Return what was generated, as written to ``sample_archive.json``."""
    return {
        "synthetic": SYNTHETIC,
        "scale": scale,
        "seed": job.seed,
        "years": [job.period.first, job.period.last],
        "reanalyses": job.reanalyses,
        "planted": job.planted,
        "models": {
            p.model.name: {
                "family": p.model.family,
                "resolution_group": p.model.resolution_group,
                "grid_written": [p.nlat, p.nlon],
                "grid_native": [p.model.grid.nlat, p.model.grid.nlon],
                "members": p.members,
            }
            for p in plans
        },
    }


def generate(
    out: str | Path,
    scale: str = "default",
    models: Sequence[str] | None = None,
    members: int | None = None,
    years: tuple[int, int] | None = None,
    seed: int = 0,
    planted: str | None = None,
    reanalyses: str = "both",
    progress: bool = True,
    months_per_block: int | None = None,
) -> dict:
    """Generate (or complete) the sample archive under ``out``; see the module docstring.

    Parameters
    ----------
    out
        Root folder of the archive.
    scale
        ``tiny`` (3 models of 2 families, 2 members, 1979-1981, coarse grids;
        seconds), ``default`` (all 31 Table 1 models with exactly Table 1's
        variables, 1 member each except the 2 of :data:`DEFAULT_TWO_MEMBERS`,
        1979-2014, grids coarsened 6 times, at least 12 rows, every model's
        calendar, soil layers and file splitting; 2.5-degree reanalyses) or
        ``paper`` (every Table 1 model on its native grid with all its members).
    models, members, years
        Override the scale's model list, member cap and (first, last) year.
    seed
        Seed of every random draw; same seed, same bytes.
    planted
        ``ERA5``, ``ERA-Interim`` or ``GLDAS``: add the ``PLANTED-1`` model with
        known R and sigma against that reference, and ``planted_<REF>.json``.
    reanalyses
        ``obs6`` (CMORized OBS6 files), ``raw`` (distributors' formats),
        ``both`` or ``none``.
    progress
        Show a progress bar.
    months_per_block
        Months computed and written at a time on a model grid (default: as
        many as fit :data:`BLOCK_BYTES` for the model's grid and layers).
        The data do not depend on it; only peak memory and speed do.

    Returns
    -------
    dict
        The summary also written to ``out/sample_archive.json``.
    """
    from tqdm import tqdm

    _check_choices(scale, reanalyses)
    sc = SCALES[scale]
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    period = Period(*(years or sc.years))
    plans = plan_models(sc, models, members)
    world = _world(sc.world_resolution)
    units = _work_units(plans, reanalyses, planted)
    written = 0
    bar = tqdm(
        units, desc="sample archive", unit="dataset", disable=not progress
    )
    scratch = Path(tempfile.mkdtemp(dir=root, prefix=".smeval-raw-"))
    job = _Job(
        root,
        period,
        seed,
        world,
        sc,
        reanalyses,
        planted,
        months_per_block,
        scratch,
    )
    try:
        for kind, item, member in bar:
            bar.set_postfix_str(_unit_label(kind, item, member))
            written += _write_unit(job, kind, item, member)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = _summary(job, scale, plans)
    _write_summary(root, summary)
    summary["files_written"] = written
    return summary


def esmvalcore_data_config(root: str | Path) -> dict:
    """ESMValCore 2.15 ``projects`` data-source configuration for the archive."""
    root = str(Path(root).resolve())
    return {
        "CMIP6": {
            "data": {
                "smeval-sample": {
                    "type": "esmvalcore.io.local.LocalDataSource",
                    "rootpath": root,
                    "dirname_template": "{project}/{activity}/{institute}/{dataset}/{exp}/{ensemble}/{mip}/{short_name}/{grid}/{version}",
                    "filename_template": "{short_name}_{mip}_{dataset}_{exp}_{ensemble}_{grid}*.nc",
                }
            }
        },
        "OBS6": {
            "data": {
                "smeval-sample": {
                    "type": "esmvalcore.io.local.LocalDataSource",
                    "rootpath": str(Path(root) / "OBS6"),
                    "dirname_template": "Tier{tier}/{dataset}",
                    "filename_template": "{project}_{dataset}_{type}_{version}_{mip}_{short_name}[_.]*nc",
                }
            }
        },
    }


def iter_archive_files(root: str | Path) -> Iterable[Path]:
    """Every NetCDF file of the archive (CMIP6, OBS6, raw)."""
    root = Path(root)
    yield from sorted(
        p for p in root.rglob("*.nc*") if not p.name.startswith(".")
    )
