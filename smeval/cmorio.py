"""CMOR-exact NetCDF writer for CMIP6 and OBS6 (ESMValTool-cmorized) files.

Everything that ESMValCore checks comes from ESMValCore's own CMOR tables
(``esmvalcore.cmor.table.get_tables``), so a file written here passes
``esmvalcore.cmor.check`` with the default check level, for any
(project, mip, short_name) whose coordinates are longitude, latitude, an
optional time axis and an optional soil depth axis (``sdepth``/``sdepth1``).
Files are written with :mod:`netCDF4` directly (not through iris), which
gives full control over variable names, attribute order, fill values and
compression, and is several times faster than ``iris.save``.

API
---
``write_variable(path, data, *, project, mip, short_name, lat, lon, ...)``
    Write one variable. ``data`` is a numpy (masked) array shaped
    ``(time, [depth,] lat, lon)`` or ``(lat, lon)`` for fx variables, in the
    CMOR units of the table (e.g. kg m-2, kg m-2 s-1, %, m2). Cells that are
    masked (or where ``land_mask`` is False) are written as the CMOR missing
    value 1e20. ``time_points``/``time_bounds`` are numbers in
    ``time_units`` and ``calendar`` (see :func:`monthly_time_axis`);
    ``depth_bounds`` is an (n, 2) array in metres for ``mrsol``-like
    variables; for ``mrsos`` (``sdepth1``) the scalar coordinate 0.05 m with
    bounds 0-0.1 m is taken from the table and written automatically.
    ``attributes`` are the global attributes (see
    :func:`cmip6_global_attributes` and :func:`obs6_global_attributes`);
    ``variable_id``, ``table_id``, ``frequency`` and ``realm`` are filled from
    the table when missing. The write is atomic: a temporary file in the same
    folder is written, flushed and ``os.replace``-d onto ``path``, so a file
    that exists is always complete. Returns the path.

``monthly_time_axis(first_year, last_year, calendar, units=...)``
    Mid-month points and month bounds, numbers in ``units``.

``cell_bounds(centres, lower, upper)``
    Contiguous bounds halfway between centres, clipped to [lower, upper].

``cmip6_global_attributes(source_id=..., institution_id=..., variant_label=...,
grid_label=..., table_id=..., variable_id=..., ...)``
    The global attributes CMOR 3 writes for CMIP6 (as in real ESGF files).

``obs6_global_attributes(dataset=..., mip=..., short_name=..., tier=3,
type=..., version=..., source=..., reference=..., comment=...)``
    The global attributes ESMValTool cmorizers write
    (``esmvaltool.cmorizers.data.utilities.set_global_atts``).

``parse_variant_label(label)``
    The (r, i, p, f) indices of a CMIP6 variant label.

``cmip6_path(root, ...)``/``obs6_path(root, ...)``
    ESGF DRS and ESMValTool OBS6 paths, as ESMValCore's local data source
    templates expect them.

``atomic_output(path)``
    Context manager yielding a temporary path that replaces ``path`` on
    success and is removed on failure.

``variable_writer(path, *, project, mip, short_name, lat, lon, ...)``
    Context manager: the same file as :func:`write_variable`, whose data
    are written block by block along time (``writer.write(block, start)``),
    so that memory is bounded by one block whatever the grid; atomic too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

import cftime
import netCDF4
import numpy as np

#: CMOR missing value of real variables.
FILL_VALUE = np.float32(1.0e20)
#: Time units of CMIP6 model output (CMOR default for historical runs).
CMIP6_TIME_UNITS = "days since 1850-01-01"
#: Attribute carried by every file of the sample archive.
SYNTHETIC_ATTRIBUTE = "synthetic"


@cache
def variable_info(project: str, mip: str, short_name: str):
    """ESMValCore's ``VariableInfo`` for (project, mip, short_name).

    Raises
    ------
    KeyError
        If the table does not define the variable.
    """
    from esmvalcore.cmor.table import get_tables
    from esmvalcore.config import CFG

    info = get_tables(CFG, project).get_variable(mip, short_name)
    if info is None:
        msg = f"{project} table {mip} has no variable {short_name}"
        raise KeyError(msg)
    return info


def cell_bounds(
    centres: np.ndarray,
    lower: float | None = None,
    upper: float | None = None,
) -> np.ndarray:
    """Contiguous cell bounds halfway between centres, shape (n, 2).

    The outer bounds extend half a spacing and are clipped to
    [``lower``, ``upper``] when given (e.g. -90, 90 for latitudes).
    """
    c = np.asarray(centres, dtype=np.float64)
    if c.size == 1:
        msg = "cell_bounds needs at least two centres"
        raise ValueError(msg)
    mid = 0.5 * (c[1:] + c[:-1])
    edges = np.concatenate(
        [[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]],
    )
    if lower is not None or upper is not None:
        edges = np.clip(edges, lower, upper)
    return np.stack([edges[:-1], edges[1:]], axis=-1)


def monthly_time_axis(
    first_year: int,
    last_year: int,
    calendar: str,
    units: str = CMIP6_TIME_UNITS,
    first_month: int = 1,
    last_month: int = 12,
) -> tuple[np.ndarray, np.ndarray]:
    """Mid-month time points and month bounds, as numbers in ``units``.

    Returns
    -------
    points : (n,) float64
    bounds : (n, 2) float64
    """
    starts = []
    y, m = first_year, first_month
    while (y, m) <= (last_year, last_month):
        starts.append((y, m))
        y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    starts.append((y, m))
    dates = [
        cftime.datetime(yy, mm, 1, calendar=calendar) for yy, mm in starts
    ]
    edges = np.asarray(
        cftime.date2num(dates, units, calendar=calendar), dtype=np.float64
    )
    bounds = np.stack([edges[:-1], edges[1:]], axis=-1)
    return bounds.mean(axis=-1), bounds


def cmip6_path(
    root: str | os.PathLike,
    *,
    institution_id: str,
    source_id: str,
    variant_label: str,
    table_id: str,
    variable_id: str,
    grid_label: str,
    version: str,
    experiment_id: str = "historical",
    activity_id: str = "CMIP",
    time_range: str | None = None,
) -> Path:
    """ESGF DRS path of a CMIP6 file (``time_range`` like ``197901-201412``)."""
    folder = (
        Path(root)
        / "CMIP6"
        / activity_id
        / institution_id
        / source_id
        / experiment_id
        / variant_label
        / table_id
        / variable_id
        / grid_label
        / version
    )
    name = f"{variable_id}_{table_id}_{source_id}_{experiment_id}_{variant_label}_{grid_label}"
    if time_range:
        name += f"_{time_range}"
    return folder / f"{name}.nc"


def obs6_path(
    root: str | os.PathLike,
    *,
    dataset: str,
    mip: str,
    short_name: str,
    tier: int = 3,
    type: str = "reanaly",  # noqa: A002 - ESMValTool's facet name
    version: str = "1",
    time_range: str | None = None,
) -> Path:
    """ESMValTool OBS6 path ``ROOT/Tier3/ERA5/OBS6_ERA5_reanaly_1_Lmon_mrsos_197901-201412.nc``."""
    name = f"OBS6_{dataset}_{type}_{version}_{mip}_{short_name}"
    if time_range:
        name += f"_{time_range}"
    return Path(root) / f"Tier{tier}" / dataset / f"{name}.nc"


#: Global attributes of CMIP6 files that depend on no argument of
#: :func:`cmip6_global_attributes` (historical runs branched from piControl).
_CMIP6_FIXED_ATTRIBUTES: dict[str, object] = {
    "Conventions": "CF-1.7 CMIP-6.2",
    "branch_method": "standard",
    "branch_time_in_child": 0.0,
    "branch_time_in_parent": 0.0,
    "data_specs_version": "01.00.30",
    "experiment": "all-forcing simulation of the recent past",
    "mip_era": "CMIP6",
    "parent_activity_id": "CMIP",
    "parent_experiment_id": "piControl",
    "parent_mip_era": "CMIP6",
    "parent_time_units": CMIP6_TIME_UNITS,
    "product": "model-output",
    "sub_experiment": "none",
    "sub_experiment_id": "none",
}


def cmip6_global_attributes(
    *,
    source_id: str,
    institution_id: str,
    variant_label: str,
    grid_label: str,
    table_id: str,
    variable_id: str,
    experiment_id: str = "historical",
    activity_id: str = "CMIP",
    institution: str | None = None,
    source: str | None = None,
    grid: str | None = None,
    nominal_resolution: str = "250 km",
    source_type: str = "AOGCM",
    realm: str | None = None,
    frequency: str | None = None,
    creation_date: str = "2019-01-01T00:00:00Z",
    tracking_id: str | None = None,
    version: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Global attributes of a CMIP6 file, in the order CMOR 3 writes them."""
    r, i, p, f = parse_variant_label(variant_label)
    varying: dict[str, object] = {
        "activity_id": activity_id,
        "creation_date": creation_date,
        "experiment_id": experiment_id,
        "forcing_index": np.int32(f),
        "frequency": frequency or "",
        "further_info_url": (
            f"https://furtherinfo.es-doc.org/CMIP6.{institution_id}.{source_id}."
            f"{experiment_id}.none.{variant_label}"
        ),
        "grid": grid or "native atmosphere grid",
        "grid_label": grid_label,
        "initialization_index": np.int32(i),
        "institution": institution or institution_id,
        "institution_id": institution_id,
        "nominal_resolution": nominal_resolution,
        "parent_source_id": source_id,
        "parent_variant_label": variant_label,
        "physics_index": np.int32(p),
        "realization_index": np.int32(r),
        "realm": realm or "",
        "source": source or source_id,
        "source_id": source_id,
        "source_type": source_type,
        "table_id": table_id,
        "title": f"{source_id} output prepared for CMIP6",
        "variable_id": variable_id,
        "variant_label": variant_label,
    }
    # CMOR 3 writes the attributes sorted by name, cmor_version last.
    attrs = dict(sorted({**_CMIP6_FIXED_ATTRIBUTES, **varying}.items()))
    attrs["cmor_version"] = "3.4.0"
    if version:
        attrs["version"] = version
    if tracking_id:
        attrs["tracking_id"] = tracking_id
    if extra:
        attrs.update(extra)
    return attrs


def obs6_global_attributes(
    *,
    dataset: str,
    mip: str,
    short_name: str,
    tier: int = 3,
    type: str = "reanaly",  # noqa: A002 - ESMValTool's facet name
    version: str = "1",
    source: str = "",
    reference: str = "",
    comment: str = "",
    modeling_realm: str | None = None,
    frequency: str | None = None,
    history: str = "",
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Global attributes as ESMValTool's cmorizers write them (``set_global_atts``)."""
    attrs: dict[str, object] = {
        "Conventions": "CF-1.7",
        "title": f"{dataset} data reformatted for ESMValTool",
        "dataset_id": dataset,
        "version": version,
        "tier": str(tier),
        "type": type,
        "source": source,
        "reference": reference,
        "comment": comment,
        "history": history,
        "project_id": "OBS6",
        "mip": mip,
        "modeling_realm": modeling_realm or "",
        "frequency": frequency or "",
        "variable_id": short_name,
    }
    if extra:
        attrs.update(extra)
    return attrs


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; ``os.replace`` it on success.

    A caller that removes the temporary file discards the output: ``path``
    is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists():
            return
        tmp_path.chmod(0o644)
        tmp_path.replace(path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_variable(
    path: str | os.PathLike,
    data: np.ndarray,
    *,
    project: str,
    mip: str,
    short_name: str,
    lat: np.ndarray,
    lon: np.ndarray,
    **kwargs,
) -> Path:
    """Write one CMOR-exact variable file atomically; see the module docstring.

    Parameters
    ----------
    path
        Target file; its folder is created.
    data
        Values in the CMOR units of the table, shape ``(time, [depth,] lat,
        lon)`` or ``(lat, lon)`` for fixed fields. Masked or non-finite values
        become the missing value 1e20.
    lat, lon
        Cell centres in degrees, increasing; longitudes within [0, 360).
    **kwargs
        As for :func:`variable_writer` (bounds, time axis, depth axis,
        ``land_mask``, ``attributes``, ``significant_bits``, ...).

    ``write_variable(path, data, ...)`` is ``variable_writer(path, ...)``
    with one ``write(data)``: the same bytes as writing ``data`` in time
    blocks.
    """
    with variable_writer(
        path,
        project=project,
        mip=mip,
        short_name=short_name,
        lat=lat,
        lon=lon,
        data_shape=np.shape(data),
        **kwargs,
    ) as writer:
        writer.write(data)
    return Path(path)


class VariableWriter:
    """The data variable of a file being written by :func:`variable_writer`.

    ``write(block, start=0)`` stores time steps ``start .. start + len(block)``
    (or the whole field of a variable without time); every time step must
    be written exactly once before the context closes.
    """

    def __init__(
        self,
        var,
        shape: tuple[int, ...],
        has_time: bool,
        dtype: str,
        significant_bits: int | None,
        land_mask: np.ndarray | None,
        label: str,
    ):
        self.var = var
        self.shape = tuple(shape)
        self.has_time = has_time
        self.n_time = shape[0] if has_time else None
        self.dtype = dtype
        self.significant_bits = significant_bits
        self.land_mask = (
            None if land_mask is None else np.asarray(land_mask, bool)
        )
        self.label = label
        self._done = np.zeros(self.n_time if has_time else 1, dtype=bool)

    def write(self, data: np.ndarray, start: int = 0) -> None:
        """Write ``data`` (time steps from ``start``, or the fixed field); CMOR units."""
        invalid = (
            np.ma.getmaskarray(data) if np.ma.isMaskedArray(data) else None
        )
        values = np.asarray(np.ma.getdata(data), dtype=self.dtype)
        if self.has_time:
            stop = start + (values.shape[0] if values.ndim else 0)
            ok = (
                values.ndim == len(self.shape)
                and tuple(values.shape[1:]) == self.shape[1:]
                and start >= 0
                and stop <= self.n_time
            )
        else:
            ok = tuple(values.shape) == self.shape
        if not ok:
            msg = f"{self.label}: data shape {values.shape}, expected {self.shape}"
            if self.has_time and start:
                msg += f" (block from time step {start})"
            raise ValueError(msg)
        if self.significant_bits is not None and self.dtype == "float32":
            values = round_mantissa(values, self.significant_bits)
        else:
            values = values.copy()
        bad = ~np.isfinite(values)
        if invalid is not None:
            bad |= invalid
        if self.land_mask is not None:
            bad |= ~self.land_mask  # broadcast over time/depth
        values[bad] = FILL_VALUE.astype(self.dtype)
        if self.has_time:
            self.var[start:stop] = values
            self._done[start:stop] = True
        else:
            self.var[:] = values
            self._done[:] = True

    @property
    def complete(self) -> bool:
        """Whether every time step has been written."""
        return bool(self._done.all())


@contextlib.contextmanager
def variable_writer(
    path: str | os.PathLike,
    *,
    project: str,
    mip: str,
    short_name: str,
    lat: np.ndarray,
    lon: np.ndarray,
    lat_bounds: np.ndarray | None = None,
    lon_bounds: np.ndarray | None = None,
    time_points: np.ndarray | None = None,
    time_bounds: np.ndarray | None = None,
    calendar: str = "standard",
    time_units: str = CMIP6_TIME_UNITS,
    depth: np.ndarray | None = None,
    depth_bounds: np.ndarray | None = None,
    land_mask: np.ndarray | None = None,
    attributes: Mapping[str, object] | None = None,
    variable_attributes: Mapping[str, object] | None = None,
    dtype: str = "float32",
    complevel: int = 1,
    significant_bits: int | None = None,
    data_shape: tuple[int, ...] | None = None,
) -> Iterator[VariableWriter]:
    """Open a CMOR-exact variable file for writing in time blocks, atomically.

    Writes the header and every coordinate, then yields a
    :class:`VariableWriter` whose ``write(block, start)`` fills the data
    variable time step by time step (HDF5 chunks are one time step, so the
    file is the same whatever the blocks). On leaving the context the file
    is closed and ``os.replace``-d onto ``path``; on an error, or when a
    time step was never written, the temporary file is removed and nothing
    appears at ``path``. Peak memory is that of one block.

    Parameters
    ----------
    path
        Target file; its folder is created.
    lat, lon
        Cell centres in degrees, increasing; longitudes within [0, 360).
    lat_bounds, lon_bounds
        (n, 2) bounds in degrees; default halfway between centres (latitudes
        clipped to +-90).
    time_points, time_bounds
        Numbers in ``time_units`` and ``calendar``; required when the table
        has a time dimension; they fix the number of time steps.
    depth, depth_bounds
        Soil layer centres and (n, 2) bounds in m for ``sdepth`` variables.
        Ignored for ``sdepth1`` (scalar 0.05 m, bounds 0-0.1 m from the table).
    land_mask
        Optional boolean (lat, lon) array; False cells are masked.
    attributes
        Global attributes; ``synthetic`` and other extras are passed through.
    significant_bits
        Keep this many float32 mantissa bits (rounded; 12 bits = relative
        precision 1.2e-4) so that zlib compresses synthetic noise well. No
        attribute is added: the values are ordinary float32 numbers.
    data_shape
        Shape of the whole data, checked before anything is written (used by
        :func:`write_variable`).
    """
    info = variable_info(project, mip, short_name)
    coords = info.coordinates
    has_time = any(c.axis == "T" for c in coords.values())
    horizontal = _horizontal_axes(lat, lon, lat_bounds, lon_bounds)
    vertical, scalar_z, depth, depth_bounds = _vertical_axis(
        coords, short_name, depth, depth_bounds
    )
    time_points = (
        _time_points(short_name, mip, time_points, time_bounds)
        if has_time
        else None
    )
    label = f"{project} {mip} {short_name}"
    shape = _expected_shape(label, data_shape, time_points, depth, horizontal)
    attrs = _file_attributes(info, project, mip, short_name, attributes)

    with (
        atomic_output(path) as tmp,
        netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds,
    ):
        for key, value in attrs.items():
            ds.setncattr(key, value)
        time_axis = (time_points, time_bounds, time_units, calendar)
        dims = _write_axes(
            ds,
            coords,
            time_axis if has_time else None,
            (vertical, scalar_z, depth, depth_bounds),
            horizontal,
        )
        var = _create_data_variable(
            ds,
            short_name,
            dims,
            dtype,
            complevel,
            _data_attributes(info, dtype, scalar_z, variable_attributes),
        )
        writer = VariableWriter(
            var, shape, has_time, dtype, significant_bits, land_mask, label
        )
        yield writer
        if not writer.complete:
            missing = int((~writer._done).sum())
            msg = f"{label}: {missing} time steps never written to {path}"
            raise ValueError(msg)


def _horizontal_axes(lat, lon, lat_bounds, lon_bounds):
    """Return ``(lat, lat_bounds, lon, lon_bounds)`` as float64, bounds defaulted.

    Default bounds lie halfway between centres, latitudes clipped to +-90.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat_bounds is None:
        lat_bounds = cell_bounds(lat, -90.0, 90.0)
    if lon_bounds is None:
        lon_bounds = cell_bounds(lon)
    return lat, lat_bounds, lon, lon_bounds


def _time_points(short_name, mip, time_points, time_bounds) -> np.ndarray:
    """Return the time points as float64; both they and their bounds are required."""
    if time_points is None or time_bounds is None:
        msg = f"{short_name} ({mip}) needs time_points and time_bounds"
        raise ValueError(msg)
    return np.asarray(time_points, dtype=np.float64)


def _expected_shape(label, data_shape, time_points, depth, horizontal):
    """Return the data's shape ``([time,] [depth,] lat, lon)``; check ``data_shape``.

    ``time_points`` and ``depth`` are None for variables without them.
    """
    lat, _, lon, _ = horizontal
    expected = [
        *([time_points.size] if time_points is not None else []),
        *([depth.size] if depth is not None else []),
        lat.size,
        lon.size,
    ]
    if data_shape is not None and tuple(data_shape) != tuple(expected):
        msg = f"{label}: data shape {tuple(data_shape)}, expected {tuple(expected)}"
        raise ValueError(msg)
    return tuple(expected)


def _vertical_axis(coords, short_name, depth, depth_bounds):
    """Return ``(vertical, scalar_z, depth, depth_bounds)`` of a table's Z coordinate.

    ``vertical`` is a depth dimension (``sdepth``: its bounds are required,
    centres default to their midpoints), ``scalar_z`` a single level of the
    table (``sdepth1``); both are None without a Z coordinate. ``depth`` and
    ``depth_bounds`` are None unless there is a depth dimension.
    """
    zcoords = [(k, c) for k, c in coords.items() if c.axis == "Z"]
    if not zcoords:
        return None, None, None, None
    name, zc = zcoords[0]
    if zc.value:
        return None, zc, None, None
    if depth_bounds is None:
        msg = f"{short_name}: depth_bounds required for {name}"
        raise ValueError(msg)
    depth_bounds = np.asarray(depth_bounds, dtype=np.float64)
    if depth is None:
        depth = depth_bounds.mean(axis=1)
    depth = np.asarray(depth, dtype=np.float64)
    return zc, None, depth, depth_bounds


def _file_attributes(info, project, mip, short_name, attributes):
    """Return the global attributes: ``attributes`` completed from the table.

    OBS6 files (or any with ``project_id``) get ESMValTool's cmorizer
    attributes, others CMIP6's.
    """
    attrs = dict(attributes or {})
    freq = info.frequency
    realm = (
        " ".join(info.modeling_realm)
        if isinstance(info.modeling_realm, list)
        else info.modeling_realm
    )
    if project == "OBS6" or "project_id" in attrs:
        attrs.setdefault("mip", mip)
        attrs.setdefault("frequency", freq)
        if not attrs.get("modeling_realm"):
            attrs["modeling_realm"] = realm
    else:
        measures = info._json_data.get("cell_measures", "")
        if "areacella" in measures and short_name != "areacella":
            attrs.setdefault("external_variables", "areacella")
        attrs.setdefault("table_id", mip)
        attrs.setdefault("variable_id", short_name)
        if not attrs.get("frequency"):
            attrs["frequency"] = freq
        if not attrs.get("realm"):
            attrs["realm"] = realm
    return attrs


def _write_axes(ds, coords, time, z, horizontal) -> list[str]:
    """Create the dimensions and coordinate variables; return the data's dimensions.

    ``time`` is ``(points, bounds, units, calendar)`` or None, ``z``
    ``(vertical, scalar_z, depth, depth_bounds)`` (see
    :func:`_vertical_axis`) and ``horizontal`` ``(lat, lat_bounds, lon,
    lon_bounds)`` (see :func:`variable_writer`).
    """
    vertical, scalar_z, depth, depth_bounds = z
    lat, lat_bounds, lon, lon_bounds = horizontal
    # The data's dimensions, in order, and their sizes (time unlimited).
    sizes = {"time": None} if time is not None else {}
    if vertical is not None:
        sizes["depth"] = depth.size
    sizes.update(lat=lat.size, lon=lon.size)
    for name, size in {**sizes, "bnds": 2}.items():
        ds.createDimension(name, size)
    if time is not None:
        _write_time(ds, *time)
    if vertical is not None:
        _write_z(ds, vertical, ("depth",), depth, depth_bounds)
    for var, centres, bnds, axis, cinfo in (
        ("lat", lat, lat_bounds, "Y", coords["latitude"]),
        ("lon", lon, lon_bounds, "X", coords["longitude"]),
    ):
        v = ds.createVariable(var, "f8", (var,))
        v.setncatts(
            {
                "bounds": f"{var}_bnds",
                "units": cinfo.units,
                "axis": axis,
                "long_name": cinfo.long_name,
                "standard_name": cinfo.standard_name,
            }
        )
        v[:] = centres
        ds.createVariable(f"{var}_bnds", "f8", (var, "bnds"))[:] = bnds
    if scalar_z is not None:
        point = np.float64(scalar_z.value)
        zb = np.asarray(
            scalar_z._json_data["bounds_values"].split(),
            dtype=np.float64,
        )
        _write_z(ds, scalar_z, (), point, zb)
    return list(sizes)


def _write_time(ds, points, bounds, units, calendar) -> None:
    t = ds.createVariable("time", "f8", ("time",))
    t.setncatts(
        {
            "bounds": "time_bnds",
            "units": units,
            "calendar": calendar,
            "axis": "T",
            "long_name": "time",
            "standard_name": "time",
        }
    )
    t[:] = points
    ds.createVariable("time_bnds", "f8", ("time", "bnds"))[:] = bounds


def _create_data_variable(ds, short_name, dims, dtype, complevel, attributes):
    """Create the (empty) data variable, chunked by time step and compressed."""
    chunks = [1 if d in ("time",) else len(ds.dimensions[d]) for d in dims]
    var = ds.createVariable(
        short_name,
        dtype,
        tuple(dims),
        fill_value=FILL_VALUE.astype(dtype),
        zlib=complevel > 0,
        complevel=max(complevel, 1),
        shuffle=True,
        chunksizes=chunks,
    )
    var.setncatts(attributes)
    var.set_auto_maskandscale(False)
    return var


def _data_attributes(info, dtype, scalar_z, variable_attributes) -> dict:
    """Return the data variable's attributes from the table, empty ones left out."""
    var_attrs = {
        "standard_name": info.standard_name,
        "long_name": info.long_name,
        "comment": info._json_data.get("comment", ""),
        "units": info.units,
        "cell_methods": info._json_data.get("cell_methods", ""),
        "cell_measures": info._json_data.get("cell_measures", ""),
        "missing_value": FILL_VALUE.astype(dtype),
    }
    if info.positive:
        var_attrs["positive"] = info.positive
    if scalar_z is not None:
        var_attrs["coordinates"] = scalar_z.out_name
    var_attrs.update(variable_attributes or {})
    return {k: v for k, v in var_attrs.items() if v != ""}


def round_mantissa(values: np.ndarray, bits: int) -> np.ndarray:
    """Round float32 values to ``bits`` explicit mantissa bits (0 < bits < 23)."""
    if not 0 < bits < 23:
        msg = "bits must lie between 1 and 22"
        raise ValueError(msg)
    a = np.array(values, dtype=np.float32, order="C", copy=True)
    u = a.view(np.uint32)
    drop = 23 - bits
    half = np.uint32(1 << (drop - 1))
    mask = np.uint32(~((1 << drop) - 1) & 0xFFFFFFFF)
    finite = np.isfinite(a)
    rounded = u + half
    rounded &= mask
    np.copyto(u, rounded, where=finite)
    return a


def _write_z(ds, zinfo, dims, points, bounds) -> None:
    name = zinfo.out_name
    z = ds.createVariable(name, "f8", dims)
    z.setncatts(
        {
            "bounds": f"{name}_bnds",
            "units": zinfo.units,
            "axis": "Z",
            "positive": zinfo._json_data.get("positive", "down") or "down",
            "long_name": zinfo.long_name,
            "standard_name": zinfo.standard_name,
        }
    )
    z[...] = points
    ds.createVariable(f"{name}_bnds", "f8", (*dims, "bnds"))[...] = bounds


def parse_variant_label(label: str) -> tuple[int, int, int, int]:
    """(r, i, p, f) indices of a CMIP6 variant label such as ``r1i1p1f2``."""
    import re

    match = re.fullmatch(r"r(\d+)i(\d+)p(\d+)f(\d+)", label)
    if not match:
        msg = f"not a CMIP6 variant label: {label!r}"
        raise ValueError(msg)
    return tuple(int(g) for g in match.groups())  # type: ignore[return-value]
