"""Conversion of ERA5, ERA-Interim, GLDAS-Noah and ESA CCI SM to CMOR (OBS6).

Entry point: :func:`cmorize`. For each CMOR variable the converter

1. takes the raw variables it needs from the inventory (``readers``), and
   checks that they exist and carry the distributor's units;
2. builds monthly means: a field that already is a monthly mean is used as
   it is; sub-monthly fields (GLDAS-2.1 3-hourly, ERA analyses every 6 h,
   ESA CCI daily) are averaged over the calendar month, requiring every time
   step of the month unless ``allow_partial_months`` (ESA CCI instead
   requires ``min_valid_days`` valid days per cell);
3. checks that the months are contiguous (no gap) within the requested years;
4. converts to CMOR units and sign conventions (each conversion is stated
   next to the code, with its source);
5. refuses a variable whose every value is missing (unless
   ``allow_empty``; an empty file never replaces an existing one);
6. writes into a staging folder (``OUT/.smeval-cmorize-*``, locked while
   the run lives, removed by the next run if a crash left it: :mod:`._staging`);
   only when every variable succeeded are the files moved (``os.replace``)
   into ``OUT/Tier{tier}/{dataset}/``, with SIGINT/SIGTERM held back meanwhile
   (:mod:`._signals`). A failure or an interrupt leaves no output file; a file
   of the same variable for another period is reported (:class:`CMORizeWarning`),
   since ESMValCore would read both.

Memory: data are streamed. Each variable is converted and written one month
at a time (:func:`._stream.write_monthly`: :func:`smeval.cmorio.write_variable`
creates the file with the first month, later months are appended), so peak
memory is a few monthly fields of one variable (e.g. about 0.1-0.2 GB for
ERA5 ``mrsol``, 4 layers at 0.25 degree), whatever the period; raw files stay open across
months and variables (:func:`.readers.keep_open`) instead of being reopened
for every field.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as _dt
import getpass
import os
import socket
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn

import numpy as np
from tqdm import tqdm

from smeval import cmorio
from smeval.core.depth import WATER_DENSITY, layer_weights
from smeval.variables import CMOR_TABLES

from . import _signals, _staging, readers
from ._stream import write_monthly
from .errors import (
    CMORizeError,
    CMORizeWarning,
    EmptyOutputError,
    MissingVariableError,
    OutputFolderError,
    TimeGapError,
    UnsupportedInputError,
)

#: CMOR variables and their tables.
MIPS = {k: v for k, v in CMOR_TABLES.items() if k != "areacella"}

#: Soil layers: depth bounds in m of the native layers.
#: ERA5 / ERA-Interim (IFS HTESSEL): 0-7, 7-28, 28-100, 100-289 cm
#: (ERA5 documentation, "Table 8: soil levels", confluence.ecmwf.int/display/CKB/ERA5).
ECMWF_LAYERS = np.array(
    [[0.0, 0.07], [0.07, 0.28], [0.28, 1.00], [1.00, 2.89]]
)
#: GLDAS-2 Noah: 0-10, 10-40, 40-100, 100-200 cm (GLDAS-2 README, GES DISC).
GLDAS_LAYERS = np.array(
    [[0.0, 0.10], [0.10, 0.40], [0.40, 1.00], [1.00, 2.00]]
)

#: The ECMWF reanalyses: their raw files share readers, recipes and the land
#: mask ``lsm``.
ECMWF_DATASETS = ("ERA5", "ERA-Interim")

#: Density of liquid water used for volumetric -> mass conversion, kg m-3.
RHO_WATER = WATER_DENSITY
SECONDS_PER_DAY = 86400.0
SECONDS_PER_3H = 10800.0


@dataclass
class DatasetInfo:
    """Facets and provenance of one converted data set."""

    name: str
    tier: int
    type: str
    version: str
    source: str
    reference: str
    comment: str


DATASETS = {
    "ERA5": DatasetInfo(
        "ERA5",
        3,
        "reanaly",
        "1",
        "https://cds.climate.copernicus.eu/datasets/reanalysis-era5-single-levels-monthly-means",
        "era5",
        "Contains modified Copernicus Climate Change Service information; "
        "Hersbach et al. (2020), doi:10.1002/qj.3803",
    ),
    "ERA-Interim": DatasetInfo(
        "ERA-Interim",
        3,
        "reanaly",
        "1",
        "www.ecmwf.int/en/forecasts/datasets/reanalysis-datasets/era-interim",
        "era-interim",
        "Contains modified ECMWF information; Dee et al. (2011), doi:10.1002/qj.828",
    ),
    "GLDAS": DatasetInfo(
        "GLDAS-NOAH",
        3,
        "reanaly",
        "1",
        "https://disc.gsfc.nasa.gov/datasets?keywords=GLDAS (GLDAS_NOAH025_M 2.0, "
        "GLDAS_NOAH025_3H 2.1)",
        "gldas",
        "GLDAS-2 Noah land surface model; Rodell et al. (2004), "
        "doi:10.1175/BAMS-85-3-381; Beaudoing and Rodell, NASA GES DISC",
    ),
    # ESMValTool's own cmorizer files ESA CCI SM as OBS, Tier2, type 'sat',
    # version 'L3S-SSMV-<PRODUCT>-v<version>' (cmor_config/ESACCI-SOILMOISTURE.yml);
    # we keep its dataset name, tier, type and version, in the OBS6 (CMIP6-table) layout.
    "ESACCI-SM": DatasetInfo(
        "ESACCI-SOILMOISTURE",
        2,
        "sat",
        "L3S-SSMV-COMBINED-v04.2",
        "ftp://anon-ftp.ceda.ac.uk/neodc/esacci/soil_moisture/data/",
        "esacci-soilmoisture",
        "ESA CCI Soil Moisture; Dorigo et al. (2017), doi:10.1016/j.rse.2017.07.001; "
        "Gruber et al. (2019), doi:10.5194/essd-11-717-2019",
    ),
}


@dataclass
class Options:
    """Options of one conversion run."""

    start: int | None = None
    end: int | None = None
    variables: Sequence[str] | None = None
    allow_partial_months: bool = False
    min_valid_days: int = 10
    #: Write a variable whose every value is missing (refused by default; an
    #: empty file never replaces an existing one).
    allow_empty: bool = False
    progress: bool = True
    #: Raw files kept open at a time (see :func:`.readers.keep_open`).
    max_open_files: int = 8
    #: ERA5 / ERA-Interim: make ``mrros`` from ``ro`` (total runoff) when
    #: ``sro`` is absent (refused by default; see :data:`TOTAL_RUNOFF_LABEL`).
    mrros_from_total_runoff: bool = False


@dataclass
class Monthly:
    """Monthly means of one raw variable: months -> 2-D field (NaN missing)."""

    months: list[tuple[int, int]]
    read_month: Callable[[tuple[int, int]], np.ndarray]
    notes: list[str] = field(default_factory=list)
    #: The records of each month, in inventory order.
    by_month: dict[tuple[int, int], list[readers.Record]] = field(
        default_factory=dict
    )
    #: Cells need this many valid records in a month (None: every record).
    daily_min_valid: int | None = None


class _MonthMean:
    """Running mean of one month of one raw variable (NaN-aware)."""

    def __init__(self, n_records: int, daily_min_valid: int | None) -> None:
        self.need = (
            daily_min_valid if daily_min_valid is not None else n_records
        )
        self.total = None
        self.count = None

    def add(self, arr: np.ndarray) -> None:
        valid = np.isfinite(arr)
        if self.total is None:
            self.total = np.zeros(arr.shape)
            self.count = np.zeros(arr.shape, dtype=np.int64)
        self.total += np.where(valid, arr, 0.0)
        self.count += valid

    def result(self) -> np.ndarray:
        """Return the mean where enough records are valid, else NaN; frees the sums."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.total / self.count
        out = np.where(self.count >= max(self.need, 1), mean, np.nan)
        self.total = self.count = None
        return out


def read_months_together(
    monthlies: dict[str, Monthly], month: tuple[int, int]
) -> dict[str, np.ndarray]:
    """Monthly means of several raw variables for one month.

    Same values as each ``Monthly.read_month(month)`` (every variable is
    summed in its own record order), but the records of the variables are
    read interleaved (record 1 of every variable, then record 2...), so that
    variables stored in the same file (GLDAS 3-hourly files, ECMWF files)
    are read while that file is open, instead of each variable sweeping all
    the month's files again.
    """
    means = {
        name: _MonthMean(len(m.by_month[month]), m.daily_min_valid)
        for name, m in monthlies.items()
    }
    longest = max(len(m.by_month[month]) for m in monthlies.values())
    for i in range(longest):
        for name, m in monthlies.items():
            recs = m.by_month[month]
            if i < len(recs):
                means[name].add(recs[i].read())
    return {name: means.pop(name).result() for name in list(means)}


# ---------------------------------------------------------------------------
# monthly means and time checks
# ---------------------------------------------------------------------------


def _month_seconds(year: int, month: int) -> float:
    return calendar.monthrange(year, month)[1] * SECONDS_PER_DAY


def monthly_means(
    var: readers.RawVariable,
    dataset: str,
    opts: Options,
    daily_min_valid: int | None = None,
) -> Monthly:
    """Group the records of ``var`` by calendar month and check completeness.

    Parameters
    ----------
    daily_min_valid
        ESA CCI rule: average the daily records of a month per cell where at
        least this many days are valid; missing days are allowed.
    """
    by_month: dict[tuple[int, int], list[readers.Record]] = defaultdict(list)
    for rec in var.records:
        by_month[(rec.time.year, rec.time.month)].append(rec)
    months = sorted(by_month)
    notes: list[str] = []
    all_monthly = all(r.monthly for r in var.records)
    if all_monthly:
        _check_one_record_a_month(by_month, var, dataset)
    elif daily_min_valid is None:
        notes = _check_complete_months(by_month, months, var, dataset, opts)

    def read_month(month: tuple[int, int]) -> np.ndarray:
        recs = by_month[month]
        mean = _MonthMean(len(recs), daily_min_valid)
        for rec in recs:
            mean.add(rec.read())
        return mean.result()

    return Monthly(months, read_month, notes, dict(by_month), daily_min_valid)


def _check_one_record_a_month(
    by_month: dict[tuple[int, int], list[readers.Record]],
    var: readers.RawVariable,
    dataset: str,
) -> None:
    """Refuse monthly means of which a month appears more than once."""
    for m, recs in by_month.items():
        if len(recs) > 1:
            msg = f"month {m[0]:04d}-{m[1]:02d} appears {len(recs)} times"
            raise TimeGapError(
                msg,
                dataset=dataset,
                variable=var.name,
                files=sorted({r.path for r in recs}),
            )


def _check_complete_months(
    by_month: dict[tuple[int, int], list[readers.Record]],
    months: list[tuple[int, int]],
    var: readers.RawVariable,
    dataset: str,
    opts: Options,
) -> list[str]:
    """Check that sub-monthly records fill their months; return the notes.

    The time step is the variable's own or the smallest difference of its
    time stamps. An incomplete month is an error unless
    ``opts.allow_partial_months``, then a note.
    """
    notes: list[str] = []
    stamps = sorted({r.time for r in var.records})
    if len(stamps) != len(var.records):
        msg = "duplicate time steps"
        raise TimeGapError(
            msg,
            dataset=dataset,
            variable=var.name,
            files=var.files,
        )
    diffs = np.diff([s.timestamp() for s in stamps])
    step = var.step_seconds or (float(diffs.min()) if diffs.size else None)
    for m in months:
        n = len(by_month[m])
        expected = _month_seconds(*m) / step if step else None
        if expected is None or n != round(expected):
            msg = (
                f"month {m[0]:04d}-{m[1]:02d} has {n} of "
                f"{round(expected) if expected else '?'} time steps"
                + (f" (step {step / 3600:g} h)" if step else "")
            )
            if not opts.allow_partial_months:
                raise TimeGapError(
                    msg + "; use --allow-partial-months to average what "
                    "there is",
                    dataset=dataset,
                    variable=var.name,
                    files=sorted({r.path for r in by_month[m]}),
                )
            notes.append(msg)
    if step:
        notes.append(f"monthly means of {step / 3600:g}-hourly fields")
    return notes


#: How sub-monthly ECMWF accumulations accumulate, per data set: ERA5 (CDS
#: hourly data) over the hour ending at the validity time ("ERA5: How to
#: calculate accumulations", confluence.ecmwf.int/pages/viewpage.action?pageId=
#: 197702790); ERA-Interim forecasts from 00 and 12 UTC since their start,
#: steps up to 12 h (Berrisford et al. 2011, ERA report series 1, section 5.2;
#: the 3-hourly fields the ECMWF web API wrote), so each step is the
#: difference of two consecutive validity times of one forecast.
ACCUMULATION_HOURS = {"ERA5": 1, "ERA-Interim": None}


def accumulation_rates(
    var: readers.RawVariable, dataset: str
) -> readers.RawVariable:
    """Sub-monthly ECMWF accumulations (m) as mean rates (m day-1) per interval.

    Monthly means of daily accumulations (already m day-1) are returned as
    they are. Otherwise each record becomes the rate over its accumulation
    interval, stamped at the interval's start (so 00 UTC of day 1, which
    closes the previous day's last hour, counts for the previous month):
    ERA5 ``value / 1 h``, ERA-Interim ``(value(t) - value(t_prev)) / (t -
    t_prev)`` within one forecast (``t_prev`` the forecast's start at the
    first step). The unit conversions of :func:`ecmwf_recipes` then apply.
    """
    if all(r.monthly for r in var.records):
        return var
    recs = sorted(var.records, key=lambda r: r.time)
    if len({r.time for r in recs}) != len(recs):
        msg = "duplicate time steps"
        raise TimeGapError(
            msg,
            dataset=dataset,
            variable=var.name,
            files=var.files,
        )
    hours = ACCUMULATION_HOURS[dataset]
    out, lengths = [], set()
    for k, rec in enumerate(recs):
        if hours is not None:  # ERA5: fixed 1-hour accumulations
            start, prev = rec.time - _dt.timedelta(hours=hours), None
        else:  # ERA-Interim: since 00/12 UTC
            base = _forecast_start(rec.time)
            prev = recs[k - 1] if k and recs[k - 1].time > base else None
            start = prev.time if prev else base
        length = (rec.time - start).total_seconds()
        lengths.add(length)
        out.append(
            readers.Record(
                start, rec.path, _rate_reader(rec, prev, length), False
            )
        )
    if len(lengths) > 1:
        msg = (
            f"accumulation intervals of different lengths ({sorted(x / 3600 for x in lengths)}"
            " h): give every step of the forecasts, or monthly means"
        )
        raise UnsupportedInputError(
            msg,
            dataset=dataset,
            variable=var.name,
            files=var.files,
        )
    return readers.RawVariable(
        var.name,
        var.units,
        var.lat,
        var.lon,
        out,
        var.synthetic,
        var.grid_note,
        step_seconds=lengths.pop(),
    )


def _forecast_start(t: _dt.datetime) -> _dt.datetime:
    """Start of the ERA-Interim forecast (00 or 12 UTC) whose step ends at ``t``."""
    day = _dt.datetime(t.year, t.month, t.day)
    since = (t - day).total_seconds()
    if since == 0:
        return day - _dt.timedelta(
            hours=12
        )  # step 12 of the previous 12 UTC run
    return day if since <= 12 * 3600 else day + _dt.timedelta(hours=12)


def _rate_reader(
    rec: readers.Record, prev: readers.Record | None, seconds: float
):
    def read() -> np.ndarray:
        acc = rec.read() if prev is None else rec.read() - prev.read()
        return acc * (SECONDS_PER_DAY / seconds)  # m per interval -> m day-1

    return read


def _select_months(
    monthlies: dict[str, Monthly],
    dataset: str,
    short_name: str,
    files: list[Path],
    opts: Options,
) -> list[tuple[int, int]]:
    """Return the common months of the raw variables, clipped to --start/--end, without gaps."""
    sets = {name: set(m.months) for name, m in monthlies.items()}
    common = set.intersection(*sets.values())
    for name, s in sets.items():
        extra = sorted(s - common)
        if extra:
            others = [n for n in sets if n != name]
            msg = (
                f"{name} has months {extra[0][0]:04d}-{extra[0][1]:02d}... that "
                f"{', '.join(others)} lack(s)"
            )
            raise TimeGapError(
                msg,
                dataset=dataset,
                variable=short_name,
                files=files,
            )
    months = sorted(
        m
        for m in common
        if (opts.start is None or m[0] >= opts.start)
        and (opts.end is None or m[0] <= opts.end)
    )
    if not months:
        msg = f"no months within {opts.start or '...'}-{opts.end or '...'} in the input"
        raise TimeGapError(
            msg,
            dataset=dataset,
            variable=short_name,
            files=files,
        )
    y, m = months[0]
    expected = []
    while (y, m) <= months[-1]:
        expected.append((y, m))
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    missing = sorted(set(expected) - set(months))
    if missing:
        shown = ", ".join(f"{a:04d}-{b:02d}" for a, b in missing[:6])
        msg = (
            f"gap in the months: {len(missing)} missing ({shown}"
            f"{', ...' if len(missing) > 6 else ''})"
        )
        raise TimeGapError(
            msg,
            dataset=dataset,
            variable=short_name,
            files=files,
        )
    return months


# ---------------------------------------------------------------------------
# recipes: raw variables -> CMOR variable
# ---------------------------------------------------------------------------


@dataclass
class Recipe:
    """How one CMOR variable is made from raw variables of one data set."""

    short_name: str
    raw: list[str]
    units: dict[str, str]
    combine: Callable[[dict[str, np.ndarray]], np.ndarray]
    note: str
    depth_bounds: np.ndarray | None = None
    land_only: bool = False
    #: ECMWF accumulation: monthly means of daily accumulations (m day-1) are
    #: used as they are; sub-monthly ones are turned into rates first
    #: (:func:`accumulation_rates`).
    accumulated: bool = False


def _layer_mass(
    volumetric: np.ndarray, top: float, bottom: float
) -> np.ndarray:
    """m3 m-3 -> kg m-2 in a layer: theta * thickness [m] * 1000 kg m-3 (SPEC 1).

    :func:`smeval.core.depth.volumetric_to_mass` multiplies in another order
    (theta * (thickness * 1000)), which changes the last bit of ~1 % of values.
    """
    return volumetric * (bottom - top) * RHO_WATER


def _top_mass(
    layers: list[np.ndarray], bounds: np.ndarray, depth: float
) -> np.ndarray:
    """Return the water in 0..depth m from layer contents W_k (kg m-2).

    SPEC section 2: W(0..D) = sum_k W_k * w_k, weights w_k from
    :func:`smeval.core.depth.layer_weights`.
    """
    total = np.zeros_like(layers[0])
    for w, frac in zip(layers, layer_weights(bounds, depth), strict=True):
        if frac > 0:
            total = total + w * frac
    return total


def ecmwf_recipes() -> dict[str, Recipe]:
    """ERA5 and ERA-Interim (same parameters and layers)."""
    return {
        **_ecmwf_soil_recipes(),
        **_ecmwf_flux_recipes(),
        # lsm is a fraction 0-1 ("(0 - 1)"); CMOR sftlf is in %.
        "sftlf": Recipe(
            "sftlf",
            ["lsm"],
            {"lsm": "1"},
            lambda f: f["lsm"] * 100.0,
            "sftlf = lsm * 100 %",
        ),
    }


def _ecmwf_soil_recipes() -> dict[str, Recipe]:
    """ECMWF mrsos and mrsol: volumetric layers swvl1..4 to kg m-2."""
    swvl = [f"swvl{k}" for k in range(1, 5)]
    vol = "m3 m-3"

    def mrsos(f):
        # 0-10 cm = all of layer 1 (0-7 cm) + 3/21 of layer 2 (7-28 cm):
        # swvl1*0.07*1000 + swvl2*0.21*1000*3/21 = swvl1*70 + swvl2*30 kg m-2.
        w = [
            _layer_mass(f["swvl1"], *ECMWF_LAYERS[0]),
            _layer_mass(f["swvl2"], *ECMWF_LAYERS[1]),
        ]
        return _top_mass(w, ECMWF_LAYERS[:2], 0.10)

    def mrsol(f):
        return np.stack(
            [_layer_mass(f[n], *ECMWF_LAYERS[k]) for k, n in enumerate(swvl)]
        )

    return {
        "mrsos": Recipe(
            "mrsos",
            ["swvl1", "swvl2"],
            {"swvl1": vol, "swvl2": vol},
            mrsos,
            "mrsos = swvl1*0.07 m*1000 + swvl2*0.03 m*1000 kg m-2 (0-10 cm: layer 1 "
            "0-7 cm and 3/21 of layer 2 7-28 cm)",
            land_only=True,
        ),
        "mrsol": Recipe(
            "mrsol",
            swvl,
            dict.fromkeys(swvl, vol),
            mrsol,
            "mrsol = swvlk * layer thickness (0.07, 0.21, 0.72, 1.89 m) * 1000 kg m-3",
            depth_bounds=ECMWF_LAYERS,
            land_only=True,
        ),
    }


def _ecmwf_flux_recipes() -> dict[str, Recipe]:
    """ECMWF pr, evspsbl, mrros and snm from accumulations (m of water)."""
    # Monthly means of accumulations are "scaled to have units that include
    # 'per day'": m of water per day (ECMWF, "ERA5: How to calculate
    # accumulations", confluence.ecmwf.int/pages/viewpage.action?pageId=197702790;
    # likewise ERA-Interim monthly means of daily forecast accumulations, as
    # ESMValTool's era_interim cmorizer treats them). 1 m of water = 1000 kg m-2,
    # so m day-1 -> kg m-2 s-1 is x 1000 / 86400.
    per_day = RHO_WATER / SECONDS_PER_DAY
    return {
        "pr": Recipe(
            "pr",
            ["tp"],
            {"tp": "m"},
            lambda f: f["tp"] * per_day,
            "pr = tp [m day-1] * 1000 / 86400",
            accumulated=True,
        ),
        # ECMWF convention: downward fluxes positive, so 'e' is negative for
        # evaporation (ERA5 parameter 182 'Evaporation', codes.ecmwf.int/grib/
        # param-db/182); CMOR evspsbl is positive for water leaving the surface.
        "evspsbl": Recipe(
            "evspsbl",
            ["e"],
            {"e": "m"},
            lambda f: -f["e"] * per_day,
            "evspsbl = -e [m day-1] * 1000 / 86400 (sign flipped: ECMWF e < 0 "
            "for evaporation)",
            accumulated=True,
        ),
        "mrros": Recipe(
            "mrros",
            ["sro"],
            {"sro": "m"},
            lambda f: f["sro"] * per_day,
            "mrros = sro [m day-1] * 1000 / 86400",
            land_only=True,
            accumulated=True,
        ),
        "snm": Recipe(
            "snm",
            ["smlt"],
            {"smlt": "m"},
            lambda f: f["smlt"] * per_day,
            "snm = smlt [m day-1] * 1000 / 86400",
            land_only=True,
            accumulated=True,
        ),
    }


#: Raw variables users may offer instead of a needed one, and why they are refused.
NOT_A_SUBSTITUTE = {
    "sro": {
        "ro": "the input has 'ro', total runoff (surface + sub-surface, ERA5 parameter "
        "205), which is not CMOR mrros (surface runoff, 'sro', parameter 8); "
        "--mrros-from-total-runoff converts it knowingly (an upper bound of "
        "surface runoff, labelled so in the file)"
    },
}

#: What a file of ``mrros`` made from ``ro`` says of itself (in ``comment``).
TOTAL_RUNOFF_LABEL = (
    "mrros from 'ro', TOTAL runoff (surface + sub-surface), an upper bound of "
    "surface runoff, converted with --mrros-from-total-runoff"
)


def mrros_from_total_runoff(recipe: Recipe) -> Recipe:
    """ECMWF ``mrros`` made from ``ro`` instead of ``sro``, labelled as such.

    ``ro`` (total runoff, parameter 205) is an accumulation in m of water
    like ``sro`` (surface runoff, parameter 8), so the arithmetic is the
    ``sro`` recipe's own: its ``combine`` is called with ``ro``'s field.
    Total runoff >= surface runoff, so the result is an upper bound of
    surface runoff; :data:`TOTAL_RUNOFF_LABEL` says so in the file.
    """
    return replace(
        recipe,
        raw=["ro"],
        units={"ro": recipe.units["sro"]},
        combine=lambda f: recipe.combine({"sro": f["ro"]}),
        # the formula as the sro recipe states it, with the name actually read
        note=f"{recipe.note.replace('sro', 'ro')}; {TOTAL_RUNOFF_LABEL}",
    )


def gldas_recipes() -> dict[str, Recipe]:
    """GLDAS-2 Noah (2.0 monthly and 2.1 3-hourly)."""
    layers = [
        "SoilMoi0_10cm_inst",
        "SoilMoi10_40cm_inst",
        "SoilMoi40_100cm_inst",
        "SoilMoi100_200cm_inst",
    ]
    # GLDAS conventions (GLDAS-2 README, GES DISC; ldas.gsfc.nasa.gov/gldas/
    # model-output, which follows ALMA): SoilMoi*_inst kg m-2 in the layer;
    # *_tavg kg m-2 s-1 averaged over the past 3 h; Evap_tavg positive for
    # evaporation (ALMA: evaporation fluxes positive upward); *_acc kg m-2 per
    # 3-hour step (monthly files: the monthly mean of the 3-hourly
    # accumulations), hence / 10800 s to get kg m-2 s-1.
    return {
        **_gldas_soil_recipes(layers),
        **_gldas_flux_recipes(),
        # GLDAS has no fractional land cover in its output: a cell is land
        # (100 %) where the model has soil moisture, water (0 %) elsewhere.
        "sftlf": Recipe(
            "sftlf",
            layers[:1],
            {layers[0]: "kg m-2"},
            lambda f: np.where(np.isfinite(f[layers[0]]), 100.0, 0.0),
            "sftlf = 100 % where SoilMoi0_10cm_inst is defined, else 0 % "
            "(binary GLDAS land mask)",
        ),
    }


def _gldas_soil_recipes(layers: list[str]) -> dict[str, Recipe]:
    """GLDAS mrsos and mrsol: the layers' soil moisture, already kg m-2."""
    return {
        "mrsos": Recipe(
            "mrsos",
            layers[:1],
            {layers[0]: "kg m-2"},
            lambda f: f[layers[0]],
            "mrsos = SoilMoi0_10cm_inst (already 0-10 cm, kg m-2)",
            land_only=True,
        ),
        "mrsol": Recipe(
            "mrsol",
            layers,
            dict.fromkeys(layers, "kg m-2"),
            lambda f: np.stack([f[n] for n in layers]),
            "mrsol = SoilMoi{0_10,10_40,40_100,100_200}cm_inst kg m-2",
            depth_bounds=GLDAS_LAYERS,
            land_only=True,
        ),
    }


def _gldas_flux_recipes() -> dict[str, Recipe]:
    """GLDAS pr, evspsbl (kg m-2 s-1) and mrros, snm (kg m-2 per 3 h)."""
    return {
        "pr": Recipe(
            "pr",
            ["Rainf_f_tavg"],
            {"Rainf_f_tavg": "kg m-2 s-1"},
            lambda f: f["Rainf_f_tavg"],
            "pr = Rainf_f_tavg (kg m-2 s-1, total precipitation forcing)",
        ),
        "evspsbl": Recipe(
            "evspsbl",
            ["Evap_tavg"],
            {"Evap_tavg": "kg m-2 s-1"},
            lambda f: f["Evap_tavg"],
            "evspsbl = Evap_tavg (kg m-2 s-1, positive upward as CMOR)",
        ),
        "mrros": Recipe(
            "mrros",
            ["Qs_acc"],
            {"Qs_acc": "kg m-2"},
            lambda f: f["Qs_acc"] / SECONDS_PER_3H,
            "mrros = Qs_acc [kg m-2 per 3 h] / 10800 s",
            land_only=True,
        ),
        "snm": Recipe(
            "snm",
            ["Qsm_acc"],
            {"Qsm_acc": "kg m-2"},
            lambda f: f["Qsm_acc"] / SECONDS_PER_3H,
            "snm = Qsm_acc [kg m-2 per 3 h] / 10800 s",
            land_only=True,
        ),
    }


def esacci_recipes() -> dict[str, Recipe]:
    """ESA CCI SM: surface soil moisture only."""
    # ESA CCI 'sm' is volumetric (m3 m-3) and represents the top ~2-5 cm
    # sensed by the microwave instruments (C/X band ~1-2 cm, L band ~5 cm;
    # Dorigo et al. 2017). To compare with 0-10 cm mrsos it is assumed
    # uniform over 0-10 cm: mrsos = sm * 0.1 m * 1000 kg m-3 = sm * 100 kg m-2.
    # Limits: the deeper 5-10 cm are not observed (they are usually wetter and
    # vary less), no retrieval under dense vegetation, snow or frozen soil,
    # so winter months of high latitudes are mostly missing.
    return {
        "mrsos": Recipe(
            "mrsos",
            ["sm"],
            {"sm": "m3 m-3"},
            lambda f: _layer_mass(f["sm"], 0.0, 0.10),
            "mrsos = sm [m3 m-3] * 0.1 m * 1000 kg m-3; satellite sensing depth "
            "~2-5 cm, assumed uniform over 0-10 cm",
            land_only=False,
        ),
    }


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


def _find(raw_dir: Path, patterns: Sequence[str]) -> list[Path]:
    found = set()
    for pat in patterns:
        found.update(
            p
            for p in raw_dir.rglob(pat)
            if p.is_file() and not p.name.startswith(".")
        )
    return sorted(found)


def _time_axis(months: list[tuple[int, int]]):
    (y0, m0), (y1, m1) = months[0], months[-1]
    return cmorio.monthly_time_axis(
        y0, y1, "standard", first_month=m0, last_month=m1
    )


def cmorize(
    dataset: str,
    raw_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: Options | None = None,
) -> list[Path]:
    """Convert the raw files of ``dataset`` under ``raw_dir`` into OBS6 files.

    Parameters
    ----------
    dataset
        ``"ERA5"``, ``"ERA-Interim"``, ``"GLDAS"`` or ``"ESACCI-SM"``.
    raw_dir
        Folder searched recursively: ``*.nc`` (and ``*.grb``, ``*.grib``,
        ``*.grb2`` for ERA-Interim and ERA5), ``GLDAS_NOAH*.nc4``,
        ``ESACCI-SOILMOISTURE-*.nc``.
    out_dir
        Root of the OBS6 tree; files go to ``OUT/Tier{tier}/{dataset}/``.
    options
        See :class:`Options`.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    CMORizeError
        (or a subclass) on any bad input; nothing is written then.
    """
    opts = options or Options()
    if dataset not in DATASETS:
        msg = f"unknown data set; choose one of {sorted(DATASETS)}"
        raise CMORizeError(
            msg,
            dataset=dataset,
        )
    info = DATASETS[dataset]
    raw_dir = Path(raw_dir)
    out_dir = Path(out_dir)
    if not raw_dir.is_dir():
        msg = "raw data folder does not exist"
        raise CMORizeError(msg, dataset=dataset, files=[raw_dir])

    recipes, wanted, raw_names = _what_to_read(dataset, opts)

    created = _make_out_dir(out_dir, dataset)
    try:
        with contextlib.ExitStack() as stack:
            # Staging on the output's file system, so that moving into place is atomic.
            staging = _enter_staging(
                stack, out_dir, STAGING_PREFIX, dataset, "output folder"
            )
            # Raw files stay open across months and variables (a few at a time).
            stack.enter_context(
                readers.keep_open(max_open=opts.max_open_files)
            )
            return _cmorize(
                dataset,
                info,
                recipes,
                wanted,
                raw_names,
                raw_dir,
                out_dir,
                opts,
                staging,
                stack,
            )
    finally:
        _remove_if_empty(created)


def _what_to_read(
    dataset: str, opts: Options
) -> tuple[dict[str, Recipe], list[str], list[str]]:
    """Return the data set's recipes, the variables wanted and the raw names to scan.

    ECMWF inputs are also scanned for ``lsm`` (the land mask) and for the
    variables refused as substitutes (to say why in the error, or to use
    ``ro`` with ``opts.mrros_from_total_runoff``, an option of ECMWF data
    sets only).
    """
    if dataset in ECMWF_DATASETS:
        recipes = ecmwf_recipes()
    elif dataset == "GLDAS":
        recipes = gldas_recipes()
    else:
        recipes = esacci_recipes()
    wanted = list(opts.variables or recipes)
    unknown = [v for v in wanted if v not in recipes]
    if unknown:
        msg = f"cannot make {unknown} from {dataset}; it provides {list(recipes)}"
        raise CMORizeError(
            msg,
            dataset=dataset,
            variable=",".join(unknown),
        )
    if opts.mrros_from_total_runoff and dataset not in ECMWF_DATASETS:
        msg = "--mrros-from-total-runoff applies to ERA5 and ERA-Interim only ('ro')"
        raise CMORizeError(msg, dataset=dataset, variable="mrros")
    raw_names = {r for v in wanted for r in recipes[v].raw}
    if dataset in ECMWF_DATASETS:
        raw_names |= {"lsm"} | {
            alt for r in raw_names for alt in NOT_A_SUBSTITUTE.get(r, {})
        }
    return recipes, wanted, sorted(raw_names)


#: Staging folders: ``OUT/.smeval-cmorize-*`` and ``$TMPDIR/smeval-cmorize-grib-*``.
STAGING_PREFIX = ".smeval-cmorize-"
GRIB_STAGING_PREFIX = "smeval-cmorize-grib-"


def _make_out_dir(out_dir: Path, dataset: str) -> list[Path]:
    """Create ``out_dir`` (and missing parents); return the folders created."""
    created = []
    try:
        for folder in reversed([out_dir, *out_dir.parents]):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        if not out_dir.is_dir():
            msg = f"{out_dir} is not a folder"
            raise NotADirectoryError(msg)
    except (OSError, ValueError) as exc:
        _remove_if_empty(created)
        msg = (
            f"cannot use the output folder --out {str(out_dir)!r}: "
            f"{_reason(exc)}"
        )
        raise OutputFolderError(
            msg,
            dataset=dataset,
            files=[out_dir],
        ) from exc
    return created


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the folders this run created if they stayed empty (deepest first)."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _enter_staging(
    stack: contextlib.ExitStack,
    parent: Path,
    prefix: str,
    dataset: str,
    role: str,
) -> Path:
    """Return a locked staging folder in ``parent`` (see :mod:`._staging`), removed with ``stack``."""
    try:
        return stack.enter_context(_staging.staging_dir(parent, prefix))
    except (OSError, ValueError) as exc:
        msg = f"cannot write in the {role} {str(parent)!r}: {_reason(exc)}"
        raise OutputFolderError(
            msg,
            dataset=dataset,
            files=[parent],
        ) from exc


def _reason(exc: BaseException) -> str:
    """Return an OS error's reason without the repeated path ("Permission denied")."""
    return getattr(exc, "strerror", None) or str(exc)


def _inventory(
    dataset: str,
    info: DatasetInfo,
    raw_names: list[str],
    raw_dir: Path,
    stack: contextlib.ExitStack,
):
    """Return the raw variables found under ``raw_dir`` (headers only).

    GRIB is decoded into a staging folder of $TMPDIR, removed with ``stack``.

    Returns ``(store, searched, info, version_note)``: ESA CCI's product
    version replaces ``info.version``.
    """
    if dataset in ECMWF_DATASETS:
        nc_files = _find(raw_dir, ["*.nc", "*.nc4"])
        grib_files = _find(
            raw_dir, ["*.grb", "*.grib", "*.grb1", "*.grb2", "*.grib2"]
        )
        store = readers.scan_ecmwf_netcdf(nc_files, raw_names, dataset)
        workdir = (
            _enter_staging(
                stack,
                Path(tempfile.gettempdir()),
                GRIB_STAGING_PREFIX,
                dataset,
                "temporary folder (TMPDIR)",
            )
            if grib_files
            else None
        )
        for name, var in readers.scan_ecmwf_grib(
            grib_files, raw_names, dataset, workdir
        ).items():
            if name in store:
                msg = "given both as NetCDF and as GRIB; keep one"
                raise CMORizeError(
                    msg,
                    dataset=dataset,
                    variable=name,
                    files=store[name].files[:1] + var.files[:1],
                )
            store[name] = var
        searched = nc_files + grib_files
        version_note = ""
    elif dataset == "GLDAS":
        searched = _find(raw_dir, ["GLDAS_NOAH*.nc4", "GLDAS_NOAH*.nc"])
        store = readers.scan_gldas(searched, raw_names, dataset)
        version_note = ""
    else:
        searched = _find(raw_dir, ["ESACCI-SOILMOISTURE-*.nc"])
        store, product = readers.scan_esacci(searched, dataset)
        info = replace(info, version=product)
        version_note = product
    if not searched:
        msg = f"no input files found under {raw_dir}"
        raise MissingVariableError(
            msg,
            dataset=dataset,
            variable=",".join(raw_names),
            files=[raw_dir],
        )
    return store, searched, info, version_note


def _cmorize(
    dataset,
    info,
    recipes,
    wanted,
    raw_names,
    raw_dir,
    out_dir,
    opts,
    staging,
    stack,
):
    store, searched, info, version_note = _inventory(
        dataset, info, raw_names, raw_dir, stack
    )
    # Check every requested variable before computing anything.
    plans = [
        _plan(
            dataset,
            _with_substitute(recipes[short_name], store, opts),
            store,
            searched,
            opts,
        )
        for short_name in wanted
    ]
    lsm_var = store.get("lsm")
    if lsm_var is not None:
        readers.check_units(lsm_var, "1", dataset)

    synthetic = next(
        (v.synthetic for v in store.values() if v.synthetic), None
    )
    total = sum(len(p[2]) if p[2] else 1 for p in plans)
    written: list[tuple[Path, Path]] = []
    with tqdm(
        total=total,
        desc=f"cmorize {dataset}",
        unit="month",
        disable=not opts.progress,
    ) as bar:
        land = None if lsm_var is None else _land(lsm_var)
        for recipe, monthlies, months in plans:
            bar.set_postfix_str(recipe.short_name)
            path, n_valid = _convert_one(
                info,
                dataset,
                recipe,
                monthlies,
                months,
                store,
                land,
                staging,
                synthetic,
                version_note,
                bar,
                opts,
            )
            final = _final_path(out_dir, info, recipe.short_name, months)
            if n_valid == 0:
                _refuse_empty(
                    dataset, recipe, final, _raw_files(recipe, store), opts
                )
            written.append((path, final))
    _move_into_place(written, dataset)
    for _, final in written:
        _report_other_periods(final, dataset)
    return [final for _, final in written]


def _with_substitute(
    recipe: Recipe, store: dict[str, readers.RawVariable], opts: Options
) -> Recipe:
    """Return ``recipe``, or its ``ro`` form if asked for and ``sro`` is absent.

    ``sro`` is always preferred when present: it is what CMOR ``mrros`` means.
    """
    if (
        opts.mrros_from_total_runoff
        and recipe.raw == ["sro"]
        and "sro" not in store
        and "ro" in store
    ):
        return mrros_from_total_runoff(recipe)
    return recipe


def _plan(
    dataset: str,
    recipe: Recipe,
    store: dict[str, readers.RawVariable],
    searched: list[Path],
    opts: Options,
) -> tuple[Recipe, dict[str, Monthly] | None, list[tuple[int, int]] | None]:
    """Check ``recipe``'s raw variables; return it with its monthly means and months.

    A fixed field (``sftlf``) has neither.
    """
    for name in recipe.raw:
        if name not in store:
            _missing(dataset, recipe.short_name, name, store, searched)
        readers.check_units(store[name], recipe.units[name], dataset)
    if recipe.short_name == "sftlf":
        return recipe, None, None
    esacci_min = opts.min_valid_days if dataset == "ESACCI-SM" else None
    monthlies = {
        name: monthly_means(
            accumulation_rates(store[name], dataset)
            if recipe.accumulated
            else store[name],
            dataset,
            opts,
            esacci_min,
        )
        for name in recipe.raw
    }
    files = _raw_files(recipe, store)
    months = _select_months(monthlies, dataset, recipe.short_name, files, opts)
    return recipe, monthlies, months


def _missing(dataset, short_name, name, store, searched) -> NoReturn:
    """Raise the error of raw variable ``name``, in none of the ``searched`` files."""
    hint = "".join(
        f"; {why}"
        for alt, why in NOT_A_SUBSTITUTE.get(name, {}).items()
        if alt in store
    )
    msg = (
        f"raw variable {name!r} (needed for {short_name}) is in none of the "
        f"{len(searched)} input files{hint}; use --variables to convert fewer "
        "variables"
    )
    raise MissingVariableError(
        msg,
        dataset=dataset,
        variable=name,
        files=searched,
    )


def _land(lsm_var: readers.RawVariable) -> np.ndarray:
    """Return where the ECMWF land-sea mask marks land (first record)."""
    # ECMWF: "grid boxes where this parameter has a value above 0.5
    # can be comprised of a mixture of land and inland water but not
    # ocean" (ERA5 parameter 172, land-sea mask); soil and land
    # fluxes are masked where lsm <= 0.5.
    return lsm_var.records[0].read() > 0.5


def _final_path(
    out_dir: Path,
    info: DatasetInfo,
    short_name: str,
    months: list[tuple[int, int]] | None,
) -> Path:
    """Return the OBS6 path of ``short_name``, named by its first and last month."""
    return cmorio.obs6_path(
        out_dir,
        dataset=info.name,
        mip=MIPS[short_name],
        short_name=short_name,
        tier=info.tier,
        type=info.type,
        version=info.version,
        time_range=None
        if months is None
        else f"{months[0][0]:04d}{months[0][1]:02d}-{months[-1][0]:04d}{months[-1][1]:02d}",
    )


def _raw_files(
    recipe: Recipe, store: dict[str, readers.RawVariable]
) -> list[Path]:
    """Return the raw files ``recipe`` reads, sorted (for error messages and ``history``)."""
    return sorted({f for n in recipe.raw for f in store[n].files})


def _refuse_empty(
    dataset: str,
    recipe: Recipe,
    final: Path,
    raw_files: list[Path],
    opts: Options,
) -> None:
    """Stop at an all-missing variable, unless allowed and no file would be replaced."""
    what = (
        "no cell has a land fraction above 0 % (no land at all)"
        if recipe.short_name == "sftlf"
        else "every value is missing"
    )
    if not opts.allow_empty:
        hint = (
            f" (no cell has {opts.min_valid_days} days with a retrieval in any month; "
            "see --min-valid-days)"
            if dataset == "ESACCI-SM"
            else ""
        )
        msg = (
            f"{what} in the converted {recipe.short_name}{hint}; nothing "
            "was written (--allow-empty writes it anyway)"
        )
        raise EmptyOutputError(
            msg,
            dataset=dataset,
            variable=recipe.short_name,
            files=raw_files,
        )
    if final.exists():
        msg = (
            f"{what} in the converted {recipe.short_name}; it would "
            f"replace the existing file {final}, which --allow-empty never "
            "does: remove that file first"
        )
        raise EmptyOutputError(
            msg,
            dataset=dataset,
            variable=recipe.short_name,
            files=raw_files,
        )
    warnings.warn(
        CMORizeWarning(
            f"{dataset} {recipe.short_name}: {what}; written as "
            f"asked (--allow-empty): {final}"
        ),
        stacklevel=2,
    )


def _move_into_place(written: list[tuple[Path, Path]], dataset: str) -> None:
    """Move every staged file to its final path, or none.

    Folders are made and checked first; a signal (SIGINT/SIGTERM) that
    arrives meanwhile is held back until every file is in place.
    """
    _signals.check()  # a signal whose raise was lost
    try:
        for _, final in written:
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.is_dir():
                raise IsADirectoryError(21, "Is a directory", str(final))
    except (OSError, ValueError) as exc:
        msg = f"cannot write {str(final)!r}: {_reason(exc)}"
        raise OutputFolderError(
            msg,
            dataset=dataset,
            files=[final],
        ) from exc
    try:
        with _signals.deferred():
            for tmp, final in written:
                Path(tmp).replace(final)
    except _signals.Interrupted as exc:
        if exc.held:
            exc.written = [final for _, final in written]
        raise


def _report_other_periods(final: Path, dataset: str) -> None:
    """Warn about files of the same variable, table and version for other periods.

    ESMValCore selects OBS6 files by facets and time range: a file of another
    period (e.g. from an earlier conversion of other years) would be read
    together with the new one, with overlapping or mixed months. OBS6 names
    are ``OBS6_{dataset}_{type}_{version}_{mip}_{short_name}[_{period}]``
    (facets free of ``_``), so the name without its period identifies them.
    """
    parts = final.stem.split("_")
    if len(parts) != 7:
        return  # a fixed field has no period
    base = "_".join(parts[:6])
    for other in sorted(final.parent.glob(f"{base}*.nc")):
        other_parts = other.stem.split("_")
        if (
            other != final
            and other_parts[:6] == parts[:6]
            and len(other_parts) <= 7
        ):
            warnings.warn(
                CMORizeWarning(
                    f"{other} holds another period of {dataset} {parts[5]} ({parts[4]}) than the "
                    f"file just written ({final.name}); ESMValCore would read both: remove the "
                    "one you do not want"
                ),
                stacklevel=2,
            )


def _convert_one(
    info: DatasetInfo,
    dataset: str,
    recipe: Recipe,
    monthlies: dict[str, Monthly] | None,
    months: list[tuple[int, int]] | None,
    store: dict[str, readers.RawVariable],
    land: np.ndarray | None,
    staging: Path,
    synthetic: str | None,
    version_note: str,
    bar,
    opts: Options,
) -> tuple[Path, int]:
    """Write one CMOR variable into ``staging``.

    Returns its path and its number of valid values (see :func:`_n_valid`).
    """
    short_name = recipe.short_name
    first = _check_same_grid(dataset, recipe, store)
    lat, lon = first.lat, first.lon
    notes = _notes(dataset, recipe, first, land, monthlies, opts)
    land_mask = (
        land
        if (
            recipe.land_only
            and land is not None
            and land.shape == (lat.size, lon.size)
        )
        else None
    )
    attrs = _global_attributes(
        info, dataset, recipe, months, notes, store, synthetic, version_note
    )
    # What the writer needs besides the data, the same for both writers.
    out = {
        "project": "OBS6",
        "mip": MIPS[short_name],
        "short_name": short_name,
        "lat": lat,
        "lon": lon,
        "land_mask": land_mask,
        "attributes": attrs,
    }
    if recipe.depth_bounds is not None:
        out["depth_bounds"] = recipe.depth_bounds
    target = staging / f"{short_name}.nc"
    if months is None:
        return _write_fixed(target, recipe, store, out, bar)
    return _write_months(target, recipe, monthlies, months, out, bar)


def _write_fixed(
    target: Path,
    recipe: Recipe,
    store: dict[str, readers.RawVariable],
    out: dict,
    bar,
) -> tuple[Path, int]:
    """Write a fixed field (one 2-D array, small); return path and valid values."""
    fields = {name: store[name].records[0].read() for name in recipe.raw}
    values = recipe.combine(fields)
    del fields
    bar.update(1)
    path = cmorio.write_variable(target, np.ma.masked_invalid(values), **out)
    _signals.check()
    return path, _n_valid(recipe.short_name, values, out["land_mask"])


def _write_months(
    target: Path,
    recipe: Recipe,
    monthlies: dict[str, Monthly],
    months: list[tuple[int, int]],
    out: dict,
    bar,
) -> tuple[Path, int]:
    """Write the monthly means month by month; return path and valid values."""
    short_name = recipe.short_name
    land_mask = out["land_mask"]
    n_valid = 0

    def monthly_fields():
        # One month at a time: read (all raw variables of the month together),
        # combine, hand over to the writer, forget.
        nonlocal n_valid
        wanted = {name: monthlies[name] for name in recipe.raw}
        for month in months:
            field_ = recipe.combine(read_months_together(wanted, month))
            n_valid += _n_valid(short_name, field_, land_mask)
            yield field_
            bar.update(1)
            _signals.check()  # a Ctrl-C whose raise was lost stops here

    time_points, time_bounds = _time_axis(months)
    path = write_monthly(
        target,
        monthly_fields(),
        time_points=time_points,
        time_bounds=time_bounds,
        **out,
    )
    return path, n_valid


def _check_same_grid(
    dataset: str, recipe: Recipe, store: dict[str, readers.RawVariable]
) -> readers.RawVariable:
    """Return ``recipe``'s first raw variable; refuse others on another grid."""
    first = store[recipe.raw[0]]
    lat, lon = first.lat, first.lon
    for name in recipe.raw[1:]:
        other = store[name]
        if not readers.same_grid(other.lat, other.lon, lat, lon):
            msg = f"{name} and {recipe.raw[0]} are on different grids"
            raise readers.GridError(
                msg,
                dataset=dataset,
                variable=recipe.short_name,
                files=first.files[:1] + other.files[:1],
            )
    return first


def _notes(
    dataset: str,
    recipe: Recipe,
    first: readers.RawVariable,
    land: np.ndarray | None,
    monthlies: dict[str, Monthly] | None,
    opts: Options,
) -> list[str]:
    """Return what the conversion did, for the ``comment`` attribute."""
    notes = [recipe.note]
    grid_note = first.grid_note
    if grid_note:
        notes.append(grid_note)
    if recipe.land_only:
        notes.append(
            "masked where the ECMWF land-sea mask lsm <= 0.5"
            if land is not None
            else "not masked: no land-sea mask in the input"
        )
    if monthlies:
        for m in monthlies.values():
            notes.extend(m.notes)
    if dataset == "ESACCI-SM":
        notes.append(
            f"monthly mean of days with a retrieval, cells with fewer than "
            f"{opts.min_valid_days} valid days masked"
        )
    return notes


def _global_attributes(
    info: DatasetInfo,
    dataset: str,
    recipe: Recipe,
    months: list[tuple[int, int]] | None,
    notes: list[str],
    store: dict[str, readers.RawVariable],
    synthetic: str | None,
    version_note: str,
) -> dict[str, object]:
    """Return the OBS6 global attributes of ``recipe``'s output file."""
    short_name = recipe.short_name
    files = _raw_files(recipe, store)
    history = (
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%dT%H:%M:%SZ} smeval cmorize {dataset}: "
        f"converted from {len(files)} file(s), e.g. {files[0].name}"
    )
    extra = {
        "user": os.environ.get("USER") or _safe_user(),
        "host": socket.gethostname(),
        "raw_variables": " ".join(recipe.raw),
    }
    if version_note:
        extra["product"] = version_note
    if synthetic:
        extra[cmorio.SYNTHETIC_ATTRIBUTE] = synthetic
    return cmorio.obs6_global_attributes(
        dataset=info.name,
        mip=MIPS[short_name],
        short_name=short_name,
        tier=info.tier,
        frequency="fx" if months is None else "mon",
        type=info.type,
        version=info.version,
        source=info.source,
        reference=info.reference,
        comment=f"{info.comment}. " + "; ".join(notes),
        history=history,
        extra=extra,
    )


def _n_valid(
    short_name: str, values: np.ndarray, land_mask: np.ndarray | None
) -> int:
    """Return the values the file will hold: finite and on land (if masked).

    For ``sftlf``, cells with some land (a land fraction of 0 % everywhere is
    no land at all, e.g. GLDAS whose soil moisture is all fill).
    """
    valid = np.isfinite(values)
    if land_mask is not None:
        valid &= np.asarray(land_mask, bool)
    if short_name == "sftlf":
        valid &= np.where(valid, values, 0.0) > 0.0
    return int(valid.sum())


def _safe_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
