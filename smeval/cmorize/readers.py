"""Inventories of raw files: which variable, which time, which grid, read lazily.

A reader scans the files of one distributor format and returns, per raw
variable, a list of :class:`Record` (one 2-D field at one time) plus its grid,
units and the file's ``synthetic`` attribute. Headers are read eagerly (so a
missing variable, a wrong unit or an unreadable file is reported before any
output is written); the values are read only when a month is computed.

Reading keeps raw files open: inside :func:`keep_open` (the converter wraps a
whole run in it) a record's ``read()`` reuses the handle of its file from a
small least-recently-used cache (:class:`OpenFiles`, at most ``max_open``
files), so that the 12 months of an ECMWF file, or the variables of a GLDAS
file, cost one ``open`` instead of one each. Outside :func:`keep_open`,
``read()`` opens and closes the file itself. Handles hold no field data
beyond the libraries' per-variable chunk caches, so memory stays bounded by
``max_open`` whatever the number of files.

Every field is returned on the output orientation: latitude ascending,
longitude ascending in [0, 360), as a float64 array with NaN where missing.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cf_units
import cftime
import netCDF4
import numpy as np

from .errors import CMORizeError, GridError, UnitError, UnreadableFileError


@dataclass
class Record:
    """One 2-D field of one raw variable at one time."""

    time: _dt.datetime
    path: Path
    read: Callable[[], np.ndarray]
    #: True when the field already is a monthly mean (ECMWF ``moda``/``mdfa``,
    #: GLDAS ``_M`` files); False for sub-monthly fields to be averaged.
    monthly: bool


@dataclass
class RawVariable:
    """All records of one raw variable, with its grid and units."""

    name: str
    units: str
    lat: np.ndarray
    lon: np.ndarray
    records: list[Record] = field(default_factory=list)
    synthetic: str | None = None
    #: Grid note, e.g. how a reduced Gaussian grid was made regular.
    grid_note: str = ""
    #: Seconds each record stands for, when not the spacing of the records
    #: (accumulations over 1 h sampled every 6 h); None: the spacing.
    step_seconds: float | None = None

    @property
    def files(self) -> list[Path]:
        """Files of the variable's records, sorted."""
        return sorted({r.path for r in self.records})


def normalise_units(units: str) -> cf_units.Unit:
    """Parse a distributor's unit string (ECMWF ``m**3 m**-3``, ``(0 - 1)``...)."""
    u = units.strip()
    if u in {"(0 - 1)", "(0,1)", "0-1", "~", "Proportion", "fraction"}:
        u = "1"
    u = u.replace("of water equivalent", "").replace("**", "^").strip()
    return cf_units.Unit(u)


def check_units(var: RawVariable, expected: str, dataset: str) -> None:
    """Raise :class:`UnitError` unless ``var.units`` equals ``expected``."""
    try:
        ok = normalise_units(var.units) == cf_units.Unit(expected)
    except ValueError:
        ok = False
    if not ok:
        msg = f"units are {var.units!r}, expected {expected!r} as the distributor documents"
        raise UnitError(
            msg,
            dataset=dataset,
            variable=var.name,
            files=var.files,
        )


def _orientation(lat: np.ndarray, lon: np.ndarray):
    """Index arrays that sort a grid to lat ascending, lon ascending in [0, 360)."""
    lon360 = np.mod(lon, 360.0)
    lat_idx = np.argsort(lat, kind="stable")
    lon_idx = np.argsort(lon360, kind="stable")
    return lat[lat_idx], lon360[lon_idx], lat_idx, lon_idx


def same_grid(
    lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray, lon_b: np.ndarray
) -> bool:
    """Whether two (lat, lon) grids have the same shape and (allclose) coordinates."""
    return (
        lat_a.shape == lat_b.shape
        and lon_a.shape == lon_b.shape
        and np.allclose(lat_a, lat_b)
        and np.allclose(lon_a, lon_b)
    )


def _add(
    store: dict[str, RawVariable],
    name: str,
    units: str,
    lat,
    lon,
    record: Record,
    synthetic: str | None,
    dataset: str,
    grid_note: str = "",
) -> None:
    var = store.get(name)
    if var is None:
        store[name] = RawVariable(
            name, units, lat, lon, [record], synthetic, grid_note
        )
        return
    if not same_grid(var.lat, var.lon, lat, lon):
        msg = (
            f"grid {lat.size}x{lon.size} differs from the grid {var.lat.size}x{var.lon.size} "
            f"of {var.files[0]}"
        )
        raise GridError(
            msg,
            dataset=dataset,
            variable=name,
            files=[record.path],
        )
    if var.units != units:
        msg = f"units {units!r} differ from {var.units!r} in {var.files[0]}"
        raise UnitError(
            msg,
            dataset=dataset,
            variable=name,
            files=[record.path],
        )
    var.records.append(record)
    var.synthetic = var.synthetic or synthetic


def _decode_times(tvar, path: Path, dataset: str) -> list[_dt.datetime]:
    units = tvar.units.strip()
    calendar = getattr(tvar, "calendar", "standard")
    try:
        times = cftime.num2date(
            np.asarray(tvar[:]),
            units,
            calendar=calendar,
            only_use_cftime_datetimes=False,
            only_use_python_datetimes=True,
        )
    except Exception as exc:
        msg = f"cannot decode time ({units!r}, {calendar}): {exc}"
        raise UnreadableFileError(
            msg,
            dataset=dataset,
            variable=tvar.name,
            files=[path],
        ) from exc
    return [
        _dt.datetime(t.year, t.month, t.day, t.hour, t.minute, t.second)
        for t in np.atleast_1d(times)
    ]


class OpenFiles:
    """Least-recently-used cache of open raw-file handles (NetCDF, ``.npz``).

    Parameters
    ----------
    max_open
        At most this many handles are open at a time; the least recently used
        one is closed when another file is needed.
    """

    def __init__(self, max_open: int = 8) -> None:
        if max_open < 1:
            msg = "max_open must be at least 1"
            raise ValueError(msg)
        self.max_open = max_open
        #: Number of files opened so far (for measurements and tests).
        self.opens = 0
        self._handles: OrderedDict[tuple[str, Path], object] = OrderedDict()

    def get(self, key: tuple[str, Path], opener: Callable[[], object]):
        """Return the open handle for ``key``, opened with ``opener()`` if needed."""
        handle = self._handles.pop(key, None)
        if handle is None:
            handle = opener()
            self.opens += 1
        self._handles[key] = handle
        while len(self._handles) > self.max_open:
            _, old = self._handles.popitem(last=False)
            old.close()
        return handle

    def discard(self, key: tuple[str, Path]) -> None:
        """Close and forget the handle of ``key`` (after a read failed)."""
        handle = self._handles.pop(key, None)
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.close()

    def close(self) -> None:
        """Close every handle."""
        while self._handles:
            _, handle = self._handles.popitem(last=False)
            with contextlib.suppress(Exception):
                handle.close()


_OPEN_FILES: contextvars.ContextVar[OpenFiles | None] = contextvars.ContextVar(
    "smeval_cmorize_open_files", default=None
)


@contextlib.contextmanager
def keep_open(max_open: int = 8) -> Iterator[OpenFiles]:
    """Within this block, ``Record.read()`` keeps raw files open (see the module doc)."""
    cache = OpenFiles(max_open)
    token = _OPEN_FILES.set(cache)
    try:
        yield cache
    finally:
        _OPEN_FILES.reset(token)
        cache.close()


@contextlib.contextmanager
def _handle(
    kind: str, path: Path, opener: Callable[[], object]
) -> Iterator[object]:
    """Yield an open handle of ``path``: cached inside :func:`keep_open`, else opened here.

    A failure inside the block closes and forgets a cached handle, so that a
    broken handle is never reused.
    """
    cache = _OPEN_FILES.get()
    if cache is None:
        handle = opener()
        try:
            yield handle
        finally:
            handle.close()
        return
    key = (kind, Path(path))
    handle = cache.get(key, opener)
    try:
        yield handle
    except BaseException:
        cache.discard(key)
        raise


class _NetCDFHandle:
    """An open raw NetCDF file whose variables cache at most one HDF5 chunk each.

    The library's default (64 MiB of decompressed chunks per variable and
    open file) would keep, e.g., the 12 monthly chunks of every variable of
    every open ERA5 file at 0.25 degree (~50 MB each) in memory; one chunk
    is all that month-by-month reading reuses (a chunk holding several
    months stays cached while they are read).
    """

    def __init__(self, path: Path) -> None:
        self.ds = netCDF4.Dataset(path)
        self._tuned: set[str] = set()

    def variable(self, name: str):
        v = self.ds.variables[name]
        if name not in self._tuned:
            chunks = v.chunking()
            if isinstance(chunks, list):
                size = int(np.prod(chunks)) * v.dtype.itemsize
                v.set_var_chunk_cache(
                    size=size + 1024, nelems=7, preemption=1.0
                )
            self._tuned.add(name)
        return v

    def close(self) -> None:
        self.ds.close()


def _open(path: Path, dataset: str) -> netCDF4.Dataset:
    try:
        return netCDF4.Dataset(path)
    except (OSError, RuntimeError, ValueError) as exc:
        msg = f"cannot open as NetCDF ({exc})"
        raise UnreadableFileError(msg, dataset=dataset, files=[path]) from exc


def _nc_reader(
    path: Path,
    name: str,
    index: tuple,
    lat_idx,
    lon_idx,
    dataset: str,
    reduce_axis: int | None = None,
):
    """Return a closure reading one 2-D slice of ``name`` from ``path``."""

    def read() -> np.ndarray:
        try:
            with _handle(
                "netcdf", path, lambda: _NetCDFHandle(path)
            ) as handle:
                v = handle.variable(name)
                v.set_auto_maskandscale(True)
                arr = np.ma.filled(
                    np.ma.asarray(v[index], dtype=np.float64), np.nan
                )
        except (
            OSError,
            RuntimeError,
            ValueError,
            IndexError,
            KeyError,
        ) as exc:
            msg = f"cannot read the values ({exc})"
            raise UnreadableFileError(
                msg,
                dataset=dataset,
                variable=name,
                files=[path],
            ) from exc
        if reduce_axis is not None:
            # ERA5T/ERA5 'expver' dimension: at most one version is valid per
            # time; take the first valid value along it.
            valid = np.isfinite(arr)
            first = np.argmax(valid, axis=reduce_axis)
            arr = np.take_along_axis(
                arr, np.expand_dims(first, reduce_axis), reduce_axis
            )
            arr = np.squeeze(arr, axis=reduce_axis)
        return arr[lat_idx][:, lon_idx]

    return read


# ---------------------------------------------------------------------------
# ECMWF NetCDF (ERA5, ERA-Interim), both CDS layouts
# ---------------------------------------------------------------------------


def scan_ecmwf_netcdf(
    paths: Iterable[Path], wanted: Iterable[str], dataset: str
) -> dict[str, RawVariable]:
    """Inventory of ECMWF monthly-means NetCDF files (``time`` or ``valid_time`` layout)."""
    wanted = set(wanted)
    store: dict[str, RawVariable] = {}
    for path in paths:
        with _open(path, dataset) as ds:
            _scan_ecmwf_nc_file(ds, path, wanted, dataset, store)
    return store


def _scan_ecmwf_nc_file(
    ds: netCDF4.Dataset,
    path: Path,
    wanted: set[str],
    dataset: str,
    store: dict[str, RawVariable],
) -> None:
    """Add the records of the ``wanted`` variables of one open file to ``store``."""
    tname = "valid_time" if "valid_time" in ds.variables else "time"
    if tname not in ds.variables:
        msg = "no 'time' or 'valid_time' variable"
        raise UnreadableFileError(
            msg,
            dataset=dataset,
            files=[path],
        )
    times = _decode_times(ds.variables[tname], path, dataset)
    horizontal, lat, lon, lat_idx, lon_idx = _nc_grid(ds, path, dataset)
    synthetic = getattr(ds, "synthetic", None)
    tdim = (
        ds.variables[tname].dimensions[0]
        if ds.variables[tname].dimensions
        else None
    )
    distinct_days = {(t.year, t.month) for t in times}
    file_monthly = all(
        t.day == 1 and t.hour == 0 and t.minute == 0 for t in times
    ) and len(distinct_days) == len(times)
    for name in wanted & set(ds.variables):
        v = ds.variables[name]
        step_type = getattr(v, "GRIB_stepType", "")
        monthly = file_monthly and (
            not step_type or step_type.startswith("avg")
        )
        dims = v.dimensions
        reduce_axis = _reduce_axis(dims, horizontal, tdim, name, path, dataset)
        units = getattr(v, "units", "")
        for i, t in enumerate(times):
            if tdim in dims:
                index = tuple(i if d == tdim else slice(None) for d in dims)
            else:
                index = tuple(slice(None) for _ in dims)
            rec = Record(
                t,
                path,
                _nc_reader(
                    path, name, index, lat_idx, lon_idx, dataset, reduce_axis
                ),
                monthly,
            )
            _add(store, name, units, lat, lon, rec, synthetic, dataset)


def _nc_grid(ds: netCDF4.Dataset, path: Path, dataset: str):
    """Return ``((latname, lonname), lat, lon, lat_idx, lon_idx)`` of a file.

    ``lat``, ``lon`` sorted ascending, longitudes in [0, 360); the index
    arrays sort the file's order into it (see :func:`_orientation`).
    """
    latname = "latitude" if "latitude" in ds.variables else "lat"
    lonname = "longitude" if "longitude" in ds.variables else "lon"
    try:
        lat0 = np.asarray(ds.variables[latname][:], dtype=np.float64)
        lon0 = np.asarray(ds.variables[lonname][:], dtype=np.float64)
    except KeyError as exc:
        msg = "no latitude/longitude variables"
        raise GridError(
            msg,
            dataset=dataset,
            files=[path],
        ) from exc
    return (latname, lonname), *_orientation(lat0, lon0)


def _reduce_axis(dims, horizontal, tdim, name, path, dataset) -> int | None:
    """Return the axis to reduce (ERA5's ``expver``) or None; refuse other layouts.

    The variable must end in the file's (latitude, longitude) dimensions
    ``horizontal``; besides time, only ``expver`` may come before them.
    """
    latname, lonname = horizontal
    if dims[-2:] != (latname, lonname):
        msg = f"dimensions {dims}, expected (..., {latname}, {lonname})"
        raise GridError(
            msg,
            dataset=dataset,
            variable=name,
            files=[path],
        )
    other = [d for d in dims[:-2] if d != tdim]
    if other == ["expver"]:
        return 0
    if other:
        msg = f"unexpected dimensions {other}"
        raise UnreadableFileError(
            msg,
            dataset=dataset,
            variable=name,
            files=[path],
        )
    return None


# ---------------------------------------------------------------------------
# ECMWF GRIB (ERA-Interim), regular and reduced Gaussian grids
# ---------------------------------------------------------------------------

#: Streams of ECMWF monthly means (of daily means; of daily forecast accumulations).
MONTHLY_STREAMS = {"moda", "mdfa"}


def _grib_grid(h):
    """Grid of a GRIB message in *message order*: (type, row lats, column lons, pl)."""
    import eccodes

    grid_type = eccodes.codes_get(h, "gridType")
    lats = np.asarray(
        eccodes.codes_get_array(h, "latitudes"), dtype=np.float64
    )
    lons = np.asarray(
        eccodes.codes_get_array(h, "longitudes"), dtype=np.float64
    )
    if grid_type in ("regular_ll", "regular_gg"):
        ni = eccodes.codes_get(h, "Ni")
        if eccodes.codes_get(h, "jPointsAreConsecutive") != 0:
            msg = "column-major GRIB scanning is not supported"
            raise ValueError(msg)
        return grid_type, lats[::ni].copy(), lons[:ni].copy(), None
    if grid_type == "reduced_gg":
        pl = np.asarray(eccodes.codes_get_array(h, "pl"), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(pl)[:-1]])
        nlon = int(pl.max())
        return (
            grid_type,
            lats[starts].copy(),
            np.arange(nlon) * (360.0 / nlon),
            pl,
        )
    msg = f"unsupported GRIB gridType {grid_type!r}"
    raise ValueError(msg)


def reduced_to_regular(
    values: np.ndarray, pl: np.ndarray, nlon: int
) -> np.ndarray:
    """Interpolate a reduced Gaussian field to the full (regular) Gaussian grid.

    Each latitude row ``j`` of the reduced grid holds ``pl[j]`` points equally
    spaced from 0 degrees east. It is interpolated linearly in longitude
    (periodically across 360 degrees) to ``nlon`` points, the number of the
    longest row (4N for an N-grid: 512 for ERA-Interim's N128), on the same
    Gaussian latitudes. This is what ECMWF's interpolation does along a row
    of the "octahedral/reduced to regular Gaussian" transform without
    changing latitudes; it keeps values exact where rows are full (tropics)
    and introduces no new extrema. Returns an array (rows, nlon) in the
    grid's row order.
    """
    out = np.empty((pl.size, nlon), dtype=np.float64)
    target = np.arange(nlon) * (360.0 / nlon)
    start = 0
    for j, n in enumerate(pl):
        row = values[start : start + n]
        start += n
        if n == nlon:
            out[j] = row
            continue
        src = np.arange(n + 1) * (360.0 / n)
        out[j] = np.interp(target, src, np.append(row, row[0]))
    return out


def scan_ecmwf_grib(
    paths: Iterable[Path], wanted: Iterable[str], dataset: str, workdir: Path
) -> dict[str, RawVariable]:
    """Inventory of ECMWF GRIB (edition 1 or 2) files, e.g. ERA-Interim.

    Regular lat-lon grids are used as they are; reduced Gaussian grids are
    interpolated to the regular Gaussian grid (see :func:`reduced_to_regular`).
    Each file is decoded by a child process (:mod:`._gribworker`, which says
    why) into an ``.npz`` file in ``workdir``; the caller removes ``workdir``.
    """
    env = _grib_worker_env()
    wanted = sorted(set(wanted))
    store: dict[str, RawVariable] = {}
    for k, path in enumerate(paths):
        out = Path(workdir) / f"grib{k}.npz"
        _run_grib_worker(path, out, dataset, wanted, env)
        _add_npz(store, path, out, dataset)
    return store


def _grib_worker_env() -> dict[str, str]:
    """Return the environment of the GRIB worker process."""
    import os

    # Make the worker import this very package, installed or not.
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [package_root, env.get("PYTHONPATH")])
    )
    return env


def _run_grib_worker(
    path: Path, out: Path, dataset: str, wanted: list[str], env: dict
) -> None:
    """Decode ``path`` into ``out`` (``.npz``) in a child process; raise on failure."""
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "smeval.cmorize._gribworker",
            str(path),
            str(out),
            dataset,
            *wanted,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0 or not out.exists():
        msg = (
            proc.stderr.strip().splitlines()[-1]
            if proc.stderr.strip()
            else (f"GRIB decoder exited with status {proc.returncode}")
        )
        raise UnreadableFileError(msg, dataset=dataset, files=[path])


def _add_npz(
    store: dict[str, RawVariable], path: Path, out: Path, dataset: str
) -> None:
    """Add the records the worker decoded from ``path`` into ``out`` to ``store``."""
    import json

    with np.load(out) as npz:
        meta = json.loads(str(npz["__meta__"]))
        for entry in meta:
            name = entry["name"]
            lat, lon = npz[f"{name}__lat"], npz[f"{name}__lon"]
            for i, (t, monthly) in enumerate(
                zip(entry["times"], entry["monthly"], strict=True)
            ):
                rec = Record(
                    _dt.datetime.fromisoformat(t),
                    path,
                    _npz_reader(out, f"{name}__{i}"),
                    monthly,
                )
                _add(
                    store,
                    name,
                    entry["units"],
                    lat,
                    lon,
                    rec,
                    None,
                    dataset,
                    entry["grid_note"],
                )


def _npz_reader(npz_path: Path, key: str):
    def read() -> np.ndarray:
        with _handle("npz", npz_path, lambda: np.load(npz_path)) as npz:
            return np.asarray(npz[key], dtype=np.float64)

    return read


def _scan_grib_inprocess(
    paths: Iterable[Path], wanted: Iterable[str], dataset: str
) -> dict[str, RawVariable]:
    """Return the GRIB inventory itself (runs in the worker process; loads ecCodes)."""
    wanted = set(wanted)
    store: dict[str, RawVariable] = {}
    for path in paths:
        for message in _grib_messages(path, wanted, dataset):
            short, units, lat, lon, rec, note = _grib_record(
                path, message, dataset
            )
            _add(store, short, units, lat, lon, rec, None, dataset, note)
    return store


def _grib_messages(path: Path, wanted: set[str], dataset: str) -> list[tuple]:
    """Return the headers of the ``wanted`` messages of a GRIB file (see :func:`_grib_header`)."""
    import eccodes

    offsets = []
    try:
        with Path(path).open("rb") as f:
            while True:
                h = eccodes.codes_grib_new_from_file(f)
                if h is None:
                    break
                try:
                    header = _grib_header(h, wanted)
                    if header is not None:
                        offsets.append(header)
                finally:
                    eccodes.codes_release(h)
    except (eccodes.CodesInternalError, OSError, ValueError) as exc:
        msg = f"cannot read as GRIB ({exc})"
        raise UnreadableFileError(msg, dataset=dataset, files=[path]) from exc
    return offsets


def _grib_header(h, wanted: set[str]) -> tuple | None:
    """Return a message's ``(shortName, offset, date, time, units, stream, grid, missing)``.

    None if its variable is not ``wanted``.
    """
    import eccodes

    short = eccodes.codes_get(h, "shortName")
    if short not in wanted:
        return None
    date = eccodes.codes_get(h, "validityDate")
    time_ = eccodes.codes_get(h, "validityTime")
    stream = (
        eccodes.codes_get(h, "stream")
        if eccodes.codes_is_defined(h, "stream")
        else ""
    )
    grid = _grib_grid(h)
    return (
        short,
        int(eccodes.codes_get(h, "offset")),
        date,
        time_,
        eccodes.codes_get(h, "units"),
        stream,
        grid,
        eccodes.codes_get(h, "missingValue"),
    )


def _grib_record(path: Path, message: tuple, dataset: str):
    """Return ``(shortName, units, lat, lon, record, grid note)`` of a message's header."""
    short, offset, date, time_, units, stream, grid, missing = message
    grid_type, lats, lons, pl = grid
    lat, lon, lat_idx, lon_idx = _orientation(lats, lons)
    note = ""
    if grid_type == "reduced_gg":
        note = (
            f"reduced Gaussian grid ({pl.size} rows, up to {lons.size} points) "
            f"interpolated linearly along each row to the regular Gaussian grid "
            f"{pl.size} x {lons.size}"
        )
    t = _dt.datetime(
        date // 10000,
        date // 100 % 100,
        date % 100,
        time_ // 100,
        time_ % 100,
    )
    rec = Record(
        t,
        path,
        _grib_reader(
            path,
            offset,
            short,
            grid_type,
            lats,
            lons,
            pl,
            lat_idx,
            lon_idx,
            missing,
            dataset,
        ),
        monthly=stream in MONTHLY_STREAMS,
    )
    return short, units, lat, lon, rec, note


def _grib_reader(
    path,
    offset,
    short,
    grid_type,
    lats,
    lons,
    pl,
    lat_idx,
    lon_idx,
    missing,
    dataset,
):
    def read() -> np.ndarray:
        import eccodes

        try:
            with Path(path).open("rb") as f:
                f.seek(offset)
                h = eccodes.codes_grib_new_from_file(f)
                if h is None:
                    msg = "no GRIB message at the recorded offset"
                    raise OSError(msg)
                try:
                    values = np.asarray(
                        eccodes.codes_get_values(h), dtype=np.float64
                    )
                    bitmap = eccodes.codes_get(h, "bitmapPresent")
                finally:
                    eccodes.codes_release(h)
        except (eccodes.CodesInternalError, OSError) as exc:
            msg = f"cannot read the GRIB values ({exc})"
            raise UnreadableFileError(
                msg,
                dataset=dataset,
                variable=short,
                files=[path],
            ) from exc
        if bitmap:
            values[values == missing] = np.nan
        if grid_type == "reduced_gg":
            arr = reduced_to_regular(values, pl, lons.size)
        else:
            arr = values.reshape(lats.size, lons.size)
        return arr[lat_idx][:, lon_idx]

    return read


# ---------------------------------------------------------------------------
# GLDAS-2 (NetCDF4, one time per file)
# ---------------------------------------------------------------------------

GLDAS_FILE = re.compile(
    r"GLDAS_NOAH\d+_(?P<freq>M|3H)\.A(?P<date>\d{6}(\d{2}\.\d{4})?)\.(?P<ver>\d{3})\.nc4$"
)


def scan_gldas(
    paths: Iterable[Path], wanted: Iterable[str], dataset: str
) -> dict[str, RawVariable]:
    """Inventory of GLDAS-2 Noah files (monthly ``_M`` and 3-hourly ``_3H``)."""
    wanted = set(wanted)
    store: dict[str, RawVariable] = {}
    for path in paths:
        m = GLDAS_FILE.search(path.name)
        monthly = bool(m and m.group("freq") == "M")
        with _open(path, dataset) as ds:
            t = _gldas_time(ds, path, dataset, monthly)
            lat, lon, lat_idx, lon_idx = _orientation(
                np.asarray(ds.variables["lat"][:], dtype=np.float64),
                np.asarray(ds.variables["lon"][:], dtype=np.float64),
            )
            synthetic = getattr(ds, "synthetic", None)
            for name in wanted & set(ds.variables):
                v = ds.variables[name]
                rec = Record(
                    t,
                    path,
                    _nc_reader(
                        path,
                        name,
                        (0, slice(None), slice(None)),
                        lat_idx,
                        lon_idx,
                        dataset,
                    ),
                    monthly,
                )
                _add(
                    store,
                    name,
                    getattr(v, "units", ""),
                    lat,
                    lon,
                    rec,
                    synthetic,
                    dataset,
                )
    return store


def _gldas_time(
    ds: netCDF4.Dataset, path: Path, dataset: str, monthly: bool
) -> _dt.datetime:
    """Return the one time of a GLDAS file (the first of the month if monthly)."""
    if "time" not in ds.variables:
        msg = "no 'time' variable"
        raise UnreadableFileError(msg, dataset=dataset, files=[path])
    times = _decode_times(ds.variables["time"], path, dataset)
    if len(times) != 1:
        msg = f"{len(times)} times, expected 1 per GLDAS file"
        raise UnreadableFileError(
            msg,
            dataset=dataset,
            files=[path],
        )
    t = times[0]
    if monthly:
        t = _dt.datetime(t.year, t.month, 1)
    return t


# ---------------------------------------------------------------------------
# ESA CCI SM daily
# ---------------------------------------------------------------------------

ESACCI_FILE = re.compile(
    r"ESACCI-SOILMOISTURE-L3S-SSMV-(?P<product>[A-Z_]+)-(?P<date>\d{8})000000-fv(?P<ver>[\d.]+)\.nc$"
)


def scan_esacci(
    paths: Iterable[Path], dataset: str
) -> tuple[dict[str, RawVariable], str]:
    """Inventory of ESA CCI SM daily files; returns (store, product version string)."""
    store: dict[str, RawVariable] = {}
    versions = set()
    for path in paths:
        m = ESACCI_FILE.search(path.name)
        if m:
            versions.add(f"L3S-SSMV-{m.group('product')}-v{m.group('ver')}")
        with _open(path, dataset) as ds:
            if "sm" not in ds.variables:
                continue
            times = _decode_times(ds.variables["time"], path, dataset)
            lat, lon, lat_idx, lon_idx = _orientation(
                np.asarray(ds.variables["lat"][:], dtype=np.float64),
                np.asarray(ds.variables["lon"][:], dtype=np.float64),
            )
            synthetic = getattr(ds, "synthetic", None)
            v = ds.variables["sm"]
            for i, t in enumerate(times):
                rec = Record(
                    t,
                    path,
                    _nc_reader(
                        path,
                        "sm",
                        (i, slice(None), slice(None)),
                        lat_idx,
                        lon_idx,
                        dataset,
                    ),
                    False,
                )
                _add(
                    store,
                    "sm",
                    getattr(v, "units", ""),
                    lat,
                    lon,
                    rec,
                    synthetic,
                    dataset,
                )
    if len(versions) > 1:
        msg = f"files of several products/versions mixed: {sorted(versions)}"
        raise CMORizeError(
            msg,
            dataset=dataset,
            variable="sm",
            files=[str(p) for p in paths][:3],
        )
    return store, (versions.pop() if versions else "L3S-SSMV-COMBINED")
