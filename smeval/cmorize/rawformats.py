"""Writers of the reanalyses' *distributed* file formats, from numpy arrays.

These functions produce files that look like what users download, so that
the converters (``smeval cmorize``) can be tested on full-format input and
the sample-archive generator can write synthetic raw reanalyses.  Variable
names, attributes, units, sign conventions, packing and grid orientation are
copied from the real files in ``/work/shared/realdata/`` (and, for the newer
ERA5 layout, from ECMWF's description of the CDS GRIB-to-netCDF converter).

All writers take values **in the distributor's units** (see the tables
``ERA_VARIABLES``, ``GLDAS_VARIABLES``), on any regular grid: ``lat`` and
``lon`` are 1-D cell centres in degrees, in any order and either longitude
convention (-180..180 or 0..360); ``data[t, i, j]`` belongs to
``lat[i], lon[j]``.  The writer reorders the grid into the distributor's
orientation:

============  ==================  ==============  ======================
distributor   latitude            longitude       missing value
============  ==================  ==============  ======================
ERA5 / ERA-I  90 .. -90 (desc.)   0 .. 360        -32767 (int16 packed,
                                                  old layout); NaN (new)
GLDAS-2.x     -60 .. 90 (asc.)    -180 .. 180     -9999.0
ESA CCI SM    90 .. -90 (desc.)   -180 .. 180     -9999.0
============  ==================  ==============  ======================

Missing data: pass ``numpy.nan`` or a masked array.

``global_attributes`` (e.g. ``{"synthetic": "yes: smeval sample archive"}``)
are added to the distributor's global attributes; the converters carry a
``synthetic`` attribute through to their output.

Public API
----------
write_era5_monthly(path, variables, lat, lon, times, layout="valid_time",
                   dataset="ERA5", global_attributes=None) -> Path
write_era_interim_monthly(path, variables, lat, lon, times, layout="time",
                          global_attributes=None) -> Path
write_gldas_monthly(out_dir, variables, lat, lon, times,
                    global_attributes=None) -> list[Path]
write_gldas_3hourly(out_dir, variables, lat, lon, times,
                    global_attributes=None) -> list[Path]
write_esacci_daily(out_dir, sm, lat, lon, days, product="COMBINED",
                   version="04.2", global_attributes=None) -> list[Path]
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import netCDF4
import numpy as np

from smeval.cmorio import atomic_output

__all__ = [
    "ERA_VARIABLES",
    "ESACCI_NAME",
    "GLDAS_3HOURLY_NAME",
    "GLDAS_MONTHLY_NAME",
    "GLDAS_VARIABLES",
    "write_era5_monthly",
    "write_era_interim_monthly",
    "write_esacci_daily",
    "write_gldas_3hourly",
    "write_gldas_monthly",
]

# --------------------------------------------------------------------------
# The ECMWF formats of ERA5 and ERA-Interim
# --------------------------------------------------------------------------

#: ECMWF parameters: short name -> (paramId, long name, units, GRIB stepType
#: in the monthly means). Units as ECMWF writes them (GRIB parameter database,
#: https://codes.ecmwf.int/grib/param-db/). The accumulated parameters
#: (``tp``, ``e``, ``sro``, ``smlt``) are, in the monthly means, *means of daily
#: accumulations*: metres of water per day. ``e`` is negative for evaporation
#: (ECMWF convention: downward fluxes positive).
ERA_VARIABLES: dict[str, tuple[int, str, str, str]] = {
    "swvl1": (39, "Volumetric soil water layer 1", "m**3 m**-3", "avgua"),
    "swvl2": (40, "Volumetric soil water layer 2", "m**3 m**-3", "avgua"),
    "swvl3": (41, "Volumetric soil water layer 3", "m**3 m**-3", "avgua"),
    "swvl4": (42, "Volumetric soil water layer 4", "m**3 m**-3", "avgua"),
    "tp": (228, "Total precipitation", "m", "avgad"),
    "e": (182, "Evaporation", "m of water equivalent", "avgad"),
    "sro": (8, "Surface runoff", "m", "avgad"),
    "smlt": (45, "Snowmelt", "m of water equivalent", "avgad"),
    "lsm": (172, "Land-sea mask", "(0 - 1)", "avgua"),
}

_ERA_INSTITUTION = "European Centre for Medium-Range Weather Forecasts"


def _as_datetimes(times) -> list[_dt.datetime]:
    out = []
    for t in times:
        if isinstance(t, np.datetime64):
            t = t.astype("datetime64[s]").astype(_dt.datetime)
        elif isinstance(t, str):
            t = _dt.datetime.fromisoformat(t)
        elif not isinstance(t, _dt.datetime):
            # cftime or date: rebuild from fields
            t = _dt.datetime(
                t.year,
                t.month,
                t.day,
                getattr(t, "hour", 0),
                getattr(t, "minute", 0),
            )
        out.append(t)
    return out


def _months(times) -> list[_dt.datetime]:
    """First instant of each month of ``times`` (ECMWF monthly-mean stamps)."""
    return [_dt.datetime(t.year, t.month, 1) for t in _as_datetimes(times)]


def _reorient(
    data: np.ndarray, lat, lon, lat_descending: bool, lon_0_360: bool
):
    """Sort the grid into a distributor's orientation.

    Returns ``(data, lat, lon)`` with ``data`` as a float64 array with NaN
    for missing values, last two axes (lat, lon).
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    arr = np.ma.filled(np.ma.asarray(data, dtype=np.float64), np.nan)
    if arr.shape[-2:] != (lat.size, lon.size):
        msg = (
            f"data shape {arr.shape} does not end with (lat, lon) = "
            f"({lat.size}, {lon.size})"
        )
        raise ValueError(msg)
    lon = np.mod(lon, 360.0) if lon_0_360 else ((lon + 180.0) % 360.0) - 180.0
    lon_order = np.argsort(lon, kind="stable")
    lat_order = np.argsort(lat, kind="stable")
    if lat_descending:
        lat_order = lat_order[::-1]
    arr = arr[..., lat_order, :][..., lon_order]
    return arr, lat[lat_order], lon[lon_order]


def _pack_int16(arr: np.ndarray):
    """Pack as ECMWF's grib_to_netcdf does: int16, fill -32767.

    The range maps onto -32766 .. 32767 (65533 steps), so that no value takes
    the fill value: for a land-sea mask 0..1 this gives exactly the
    ``scale_factor`` and ``add_offset`` of ``realdata/era5``'s ``lsm``.
    """
    finite = np.isfinite(arr)
    if finite.any():
        vmin, vmax = float(arr[finite].min()), float(arr[finite].max())
    else:
        vmin = vmax = 0.0
    if vmax == vmin:
        scale = 1.0 if vmax == 0.0 else abs(vmax) * 1e-6
        offset = vmin
    else:
        scale = (vmax - vmin) / (2**16 - 3)
        offset = vmax - 32767 * scale
    packed = np.full(arr.shape, -32767, dtype=np.int16)
    packed[finite] = np.round((arr[finite] - offset) / scale).astype(np.int16)
    return packed, scale, offset


def write_era5_monthly(
    path: str | os.PathLike,
    variables: Mapping[str, np.ndarray],
    lat: Sequence[float],
    lon: Sequence[float],
    times: Sequence,
    layout: str = "valid_time",
    dataset: str = "ERA5",
    global_attributes: Mapping[str, object] | None = None,
) -> Path:
    """Write an ERA5 (or ERA-Interim) monthly-means NetCDF as the CDS serves it.

    Parameters
    ----------
    path
        Output file (``.nc``).
    variables
        ECMWF short name (keys of ``ERA_VARIABLES``: ``swvl1``..``swvl4`` in
        m3 m-3, ``tp``/``sro`` in m of water per day, ``e``/``smlt`` in m of
        water equivalent per day, ``e`` negative for evaporation, ``lsm`` as a
        fraction 0-1) -> array (time, lat, lon).
    lat, lon
        Cell centres in degrees (any order / longitude convention).
    times
        One timestamp per month (datetime, numpy.datetime64, cftime or ISO
        string); only year and month are used: ECMWF stamps monthly means at
        00 UTC on the first day of the month.
    layout
        ``"valid_time"``: the CDS since 2024 (cfgrib-based converter, NetCDF4,
        dimension ``valid_time`` in seconds since 1970, coordinates
        ``number`` and ``expver``, float32 with NaN fill, ``GRIB_*``
        attributes). ``"time"``: the legacy CDS / ECMWF web API
        (``grib_to_netcdf``: NetCDF3 64-bit offset, ``time`` in hours since
        1900-01-01, int16 packed with ``scale_factor``/``add_offset``, fill
        -32767), as in ``realdata/era5/ERA5_example_downloaded_raw.nc``.
    dataset
        ``"ERA5"`` or ``"ERA-Interim"`` (only changes the history text).
    global_attributes
        Extra global attributes, e.g. ``{"synthetic": "yes: ..."}``.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    months = _months(times)
    for name in variables:
        if name not in ERA_VARIABLES:
            msg = f"unknown ECMWF variable {name!r}; known: {list(ERA_VARIABLES)}"
            raise ValueError(msg)
    fields, glat, glon = _fields(
        variables, lat, lon, len(months), lat_descending=True, lon_0_360=True
    )
    if layout == "valid_time":
        _write_era_new(
            path, fields, glat, glon, months, dataset, global_attributes
        )
    elif layout == "time":
        _write_era_old(
            path, fields, glat, glon, months, dataset, global_attributes
        )
    else:
        msg = f"layout must be 'valid_time' or 'time', not {layout!r}"
        raise ValueError(msg)
    return path


def write_era_interim_monthly(
    path: str | os.PathLike,
    variables: Mapping[str, np.ndarray],
    lat: Sequence[float],
    lon: Sequence[float],
    times: Sequence,
    layout: str = "time",
    global_attributes: Mapping[str, object] | None = None,
) -> Path:
    """Write ERA-Interim monthly means as NetCDF (ECMWF web API, ``grib_to_netcdf``).

    Same variables, units and conventions as :func:`write_era5_monthly`; the
    default layout is the legacy ``time`` layout, in which ERA-Interim was
    distributed.
    """
    return write_era5_monthly(
        path,
        variables,
        lat,
        lon,
        times,
        layout=layout,
        dataset="ERA-Interim",
        global_attributes=global_attributes,
    )


def _write_era_old(path, fields, lat, lon, months, dataset, global_attributes):
    hours = np.array(
        [
            int((m - _dt.datetime(1900, 1, 1)).total_seconds() // 3600)
            for m in months
        ],
        dtype=np.int32,
    )
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S GMT")
    with (
        atomic_output(path) as tmp,
        netCDF4.Dataset(tmp, "w", format="NETCDF3_64BIT_OFFSET") as ds,
    ):
        ds.createDimension("longitude", lon.size)
        ds.createDimension("latitude", lat.size)
        ds.createDimension("time", None)
        ds.Conventions = "CF-1.6"
        ds.history = (
            f"{now} by grib_to_netcdf-2.6.0: grib_to_netcdf "
            f"/data/scratch/{dataset.lower()}-moda.grib -o {path.name} -utime"
        )
        _write_era_old_axes(ds, lat, lon, hours)
        for name, arr in fields.items():
            _write_era_old_field(ds, name, arr)
        for key, value in (global_attributes or {}).items():
            ds.setncattr(key, value)


def _write_era_old_axes(ds, lat, lon, hours) -> None:
    """Write longitude, latitude (float32) and time (int32 hours) as grib_to_netcdf does."""
    v = ds.createVariable("longitude", "f4", ("longitude",))
    v.units = "degrees_east"
    v.long_name = "longitude"
    v[:] = lon
    v = ds.createVariable("latitude", "f4", ("latitude",))
    v.units = "degrees_north"
    v.long_name = "latitude"
    v[:] = lat
    v = ds.createVariable("time", "i4", ("time",))
    v.units = (
        "hours since 1900-01-01 00:00:0.0"  # sic, as grib_to_netcdf writes it
    )
    v.long_name = "time"
    v.calendar = "gregorian"
    v[:] = hours


def _write_era_old_field(ds, name, arr) -> None:
    """Write one variable packed into int16 (scale_factor/add_offset, fill -32767)."""
    _pid, long_name, units, _step = ERA_VARIABLES[name]
    packed, scale, offset = _pack_int16(arr)
    v = ds.createVariable(
        name,
        "i2",
        ("time", "latitude", "longitude"),
        fill_value=np.int16(-32767),
    )
    v.set_auto_maskandscale(False)
    v.scale_factor = np.float64(scale)
    v.add_offset = np.float64(offset)
    v.missing_value = np.int16(-32767)
    v.units = units
    v.long_name = long_name
    if name == "lsm":
        v.standard_name = "land_binary_mask"
    v[:] = packed


def _write_era_new(path, fields, lat, lon, months, dataset, global_attributes):
    seconds = np.array(
        [int((m - _dt.datetime(1970, 1, 1)).total_seconds()) for m in months],
        dtype=np.int64,
    )
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M")
    with (
        atomic_output(path) as tmp,
        netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds,
    ):
        ds.GRIB_centre = "ecmf"
        ds.GRIB_centreDescription = _ERA_INSTITUTION
        ds.GRIB_subCentre = np.int64(0)
        ds.Conventions = "CF-1.7"
        ds.institution = _ERA_INSTITUTION
        ds.history = (
            f"{now} GRIB to CDM+CF via cfgrib-0.9.14.1/ecCodes-2.38.0 with "
            '{"source": "tmp.grib", "filter_by_keys": {}, "encode_cf": '
            '["parameter", "time", "geography", "vertical"]}'
        )
        ds.createDimension("valid_time", len(months))
        ds.createDimension("latitude", lat.size)
        ds.createDimension("longitude", lon.size)
        _write_era_new_coordinates(ds, lat, lon, seconds)
        for name, arr in fields.items():
            v = ds.createVariable(
                name,
                "f4",
                ("valid_time", "latitude", "longitude"),
                fill_value=np.float32(np.nan),
                zlib=True,
                complevel=1,
                chunksizes=(1, lat.size, lon.size),
            )
            v.setncatts(_era_new_attributes(name, lat, lon))
            v[:] = arr.astype(np.float32)
        for key, value in (global_attributes or {}).items():
            ds.setncattr(key, value)


def _write_era_new_coordinates(ds, lat, lon, seconds) -> None:
    """Write the cfgrib coordinates: number, valid_time, latitude, longitude, expver."""
    v = ds.createVariable("number", "i8", ())
    v.long_name = "ensemble member numerical id"
    v.units = "1"
    v.standard_name = "realization"
    v.assignValue(0)
    v = ds.createVariable("valid_time", "i8", ("valid_time",))
    v.long_name = "time"
    v.standard_name = "time"
    v.units = "seconds since 1970-01-01"
    v.calendar = "proleptic_gregorian"
    v[:] = seconds
    v = ds.createVariable("latitude", "f8", ("latitude",), fill_value=np.nan)
    v.units = "degrees_north"
    v.standard_name = "latitude"
    v.long_name = "latitude"
    v.stored_direction = "decreasing"
    v[:] = lat
    v = ds.createVariable("longitude", "f8", ("longitude",), fill_value=np.nan)
    v.units = "degrees_east"
    v.standard_name = "longitude"
    v.long_name = "longitude"
    v[:] = lon
    v = ds.createVariable("expver", str, ("valid_time",))
    v.long_name = "Experiment version"
    for i in range(seconds.size):
        v[i] = "0001"


def _era_new_attributes(name, lat, lon) -> dict[str, object]:
    """Return the attributes cfgrib gives ``name`` on the grid ``lat`` x ``lon``."""
    pid, long_name, units, step = ERA_VARIABLES[name]
    dlat = float(abs(lat[0] - lat[1])) if lat.size > 1 else 0.0
    dlon = float(abs(lon[1] - lon[0])) if lon.size > 1 else 0.0
    return {
        "GRIB_paramId": np.int64(pid),
        "GRIB_dataType": "an" if step == "avgua" else "fc",
        "GRIB_numberOfPoints": np.int64(lat.size * lon.size),
        "GRIB_typeOfLevel": "depthBelowLandLayer"
        if name.startswith("swvl")
        else "surface",
        "GRIB_stepUnits": np.int64(1),
        "GRIB_stepType": step,
        "GRIB_gridType": "regular_ll",
        "GRIB_uvRelativeToGrid": np.int64(0),
        "GRIB_NV": np.int64(0),
        "GRIB_Nx": np.int64(lon.size),
        "GRIB_Ny": np.int64(lat.size),
        "GRIB_cfName": "land_binary_mask" if name == "lsm" else "unknown",
        "GRIB_cfVarName": name,
        "GRIB_gridDefinitionDescription": "Latitude/Longitude Grid",
        "GRIB_iDirectionIncrementInDegrees": dlon,
        "GRIB_iScansNegatively": np.int64(0),
        "GRIB_jDirectionIncrementInDegrees": dlat,
        "GRIB_jPointsAreConsecutive": np.int64(0),
        "GRIB_jScansPositively": np.int64(0),
        "GRIB_latitudeOfFirstGridPointInDegrees": float(lat[0]),
        "GRIB_latitudeOfLastGridPointInDegrees": float(lat[-1]),
        "GRIB_longitudeOfFirstGridPointInDegrees": float(lon[0]),
        "GRIB_longitudeOfLastGridPointInDegrees": float(lon[-1]),
        "GRIB_missingValue": 3.4028234663852886e38,
        "GRIB_name": long_name,
        "GRIB_shortName": name,
        "GRIB_totalNumber": np.int64(0),
        "GRIB_units": units,
        "long_name": long_name,
        "units": units,
        "standard_name": "land_binary_mask" if name == "lsm" else "unknown",
        "coordinates": "number expver",
    }


# --------------------------------------------------------------------------
# GLDAS-2 Noah 0.25 degree (NASA GES DISC)
# --------------------------------------------------------------------------

#: GLDAS-2 variables: name -> (long name, units, standard name, cell method).
#: From the GLDAS-2 README (GES DISC, Rui and Beaudoing) and the real file
#: headers: ``*_inst`` instantaneous, ``*_tavg`` mean over the past 3 h
#: (a rate, kg m-2 s-1), ``*_acc`` accumulation over the past 3 h (kg m-2 per
#: 3-hour step; in the monthly product the monthly mean of the 3-hourly
#: accumulations). ``Evap_tavg`` is positive for evaporation.
GLDAS_VARIABLES: dict[str, tuple[str, str, str, str]] = {
    "SoilMoi0_10cm_inst": (
        "Soil moisture",
        "kg m-2",
        "soil_moisture_content",
        "time: point",
    ),
    "SoilMoi10_40cm_inst": (
        "Soil moisture",
        "kg m-2",
        "soil_moisture_content",
        "time: point",
    ),
    "SoilMoi40_100cm_inst": (
        "Soil moisture",
        "kg m-2",
        "soil_moisture_content",
        "time: point",
    ),
    "SoilMoi100_200cm_inst": (
        "Soil moisture",
        "kg m-2",
        "soil_moisture_content",
        "time: point",
    ),
    "Rainf_f_tavg": (
        "Total precipitation rate",
        "kg m-2 s-1",
        "precipitation_flux",
        "time: mean",
    ),
    "Rainf_tavg": (
        "Rain precipitation rate",
        "kg m-2 s-1",
        "rainfall_flux",
        "time: mean",
    ),
    "Snowf_tavg": (
        "Snow precipitation rate",
        "kg m-2 s-1",
        "snowfall_flux",
        "time: mean",
    ),
    "Evap_tavg": (
        "Evapotranspiration",
        "kg m-2 s-1",
        "water_evapotranspiration_flux",
        "time: mean",
    ),
    "Qs_acc": (
        "Storm surface runoff",
        "kg m-2",
        "surface_runoff_amount",
        "time: sum",
    ),
    "Qsb_acc": (
        "Baseflow-groundwater runoff",
        "kg m-2",
        "subsurface_runoff_amount",
        "time: sum",
    ),
    "Qsm_acc": (
        "Snow melt",
        "kg m-2",
        "surface_snow_melt_amount",
        "time: sum",
    ),
    "SWE_inst": (
        "Snow depth water equivalent",
        "kg m-2",
        "liquid_water_content_of_surface_snow",
        "time: point",
    ),
}

#: File-name patterns (GES DISC): monthly GLDAS-2.0, 3-hourly GLDAS-2.1.
GLDAS_MONTHLY_NAME = "GLDAS_NOAH025_M.A{year:04d}{month:02d}.020.nc4"
GLDAS_3HOURLY_NAME = (
    "GLDAS_NOAH025_3H.A{year:04d}{month:02d}{day:02d}.{hour:02d}00.021.nc4"
)


def _write_gldas_file(
    path,
    fields,
    lat,
    lon,
    time_value,
    time_units,
    bounds,
    begin,
    increment,
    title,
    source,
    global_attributes,
):
    fill = np.float32(-9999.0)
    with (
        atomic_output(path) as tmp,
        netCDF4.Dataset(tmp, "w", format="NETCDF4") as ds,
    ):
        ds.createDimension("time", None)
        ds.createDimension("lat", lat.size)
        ds.createDimension("lon", lon.size)
        ds.createDimension("bnds", 2)
        _set_gldas_header(ds, lat, lon, title, source, fill)
        for name, arr in fields.items():
            _write_gldas_field(ds, name, arr, fill)
        _write_gldas_lat_lon(ds, lat, lon, fill)
        _write_gldas_time(ds, time_value, time_units, bounds, begin, increment)
        for key, value in (global_attributes or {}).items():
            ds.setncattr(key, value)


def _set_gldas_header(ds, lat, lon, title, source, fill) -> None:
    """Set the global attributes of a GES DISC GLDAS file (typos as distributed)."""
    ds.setncattr("missing_value", fill)
    ds.setncattr("tavg definision:", "past 3-hour average")
    ds.setncattr("acc definision:", "past 3-hour accumulation")
    ds.setncattr("inst definision:", "instantaneous")
    ds.title = title
    ds.institution = "NASA GSFC"
    ds.source = source
    ds.history = (
        f"created on date: {_dt.datetime.now(_dt.UTC):%Y-%m-%dT%H:%M:%S}"
    )
    ds.references = "Rodell_etal_BAMS_2004, Kumar_etal_EMS_2006, Peters-Lidard_etal_ISSE_2007"
    ds.conventions = "CF-1.6"
    ds.comment = (
        "website: http://ldas.gsfc.nasa.gov/gldas, http://lis.gsfc.nasa.gov/"
    )
    ds.MAP_PROJECTION = "EQUIDISTANT CYLINDRICAL"
    ds.SOUTH_WEST_CORNER_LAT = np.float32(lat[0])
    ds.SOUTH_WEST_CORNER_LON = np.float32(lon[0])
    ds.DX = np.float32(abs(lon[1] - lon[0]) if lon.size > 1 else 0.25)
    ds.DY = np.float32(abs(lat[1] - lat[0]) if lat.size > 1 else 0.25)


def _write_gldas_field(ds, name, arr, fill) -> None:
    """Write one time step of variable ``name`` (the 2-D field ``arr``), fill -9999."""
    long_name, units, std, cell_method = GLDAS_VARIABLES.get(
        name, (name, "unknown", "", "time: point")
    )
    v = ds.createVariable(
        name,
        "f4",
        ("time", "lat", "lon"),
        fill_value=fill,
        zlib=True,
        complevel=4,
        shuffle=True,
        chunksizes=(1, len(ds.dimensions["lat"]), len(ds.dimensions["lon"])),
    )
    v.units = units
    if std:
        v.standard_name = std
    v.long_name = long_name
    v.cell_methods = cell_method
    v.scale_factor = np.float32(1.0)
    v.add_offset = np.float32(0.0)
    v.missing_value = fill
    finite = np.isfinite(arr)
    v.vmin = np.float32(arr[finite].min()) if finite.any() else fill
    v.vmax = np.float32(arr[finite].max()) if finite.any() else fill
    v.set_auto_scale(False)
    v[0] = np.where(finite, arr, fill).astype(np.float32)


def _write_gldas_lat_lon(ds, lat, lon, fill) -> None:
    """Write latitude and longitude as GES DISC does: float32 with vmin/vmax."""
    for cname, values, std in (
        ("lat", lat, "latitude"),
        ("lon", lon, "longitude"),
    ):
        v = ds.createVariable(
            cname,
            "f4",
            (cname,),
            fill_value=fill,
            zlib=True,
            complevel=4,
            shuffle=True,
        )
        v.units = "degrees_north" if cname == "lat" else "degrees_east"
        v.standard_name = std
        v.long_name = std
        v.scale_factor = np.float32(1.0)
        v.add_offset = np.float32(0.0)
        v.missing_value = fill
        v.vmin = np.float32(values.min())
        v.vmax = np.float32(values.max())
        v.set_auto_scale(False)
        v[:] = values.astype(np.float32)


def _write_gldas_time(ds, time_value, time_units, bounds, begin, increment):
    """Write the file's one time step, its bounds and LIS's begin_date/begin_time."""
    v = ds.createVariable("time", "f8", ("time",))
    v.units = time_units
    v.long_name = "time"
    v.time_increment = increment
    v.begin_date = begin.strftime("%Y%m%d")
    v.begin_time = begin.strftime("%H%M%S")
    v.bounds = "time_bnds"
    v[0] = time_value
    v = ds.createVariable("time_bnds", "f8", ("time", "bnds"))
    v[0, :] = bounds


def _fields(
    variables, lat, lon, ntimes, lat_descending=False, lon_0_360=False
):
    """``variables`` reoriented (:func:`_reorient`), each checked to be (time, lat, lon)."""
    fields = {}
    glat = glon = None
    for name, data in variables.items():
        arr, glat, glon = _reorient(data, lat, lon, lat_descending, lon_0_360)
        if arr.ndim != 3 or arr.shape[0] != ntimes:
            msg = f"{name}: expected shape (time={ntimes}, lat, lon), got {arr.shape}"
            raise ValueError(msg)
        fields[name] = arr
    if not fields:
        msg = "no variables to write"
        raise ValueError(msg)
    return fields, glat, glon


def write_gldas_monthly(
    out_dir: str | os.PathLike,
    variables: Mapping[str, np.ndarray],
    lat: Sequence[float],
    lon: Sequence[float],
    times: Sequence,
    global_attributes: Mapping[str, object] | None = None,
) -> list[Path]:
    """Write GLDAS-2.0 Noah monthly files, one per month (``GLDAS_MONTHLY_NAME``).

    Parameters
    ----------
    out_dir
        Folder (created if missing).
    variables
        GLDAS name -> array (time, lat, lon) in GLDAS units:
        ``SoilMoi0_10cm_inst``, ``SoilMoi10_40cm_inst``,
        ``SoilMoi40_100cm_inst``, ``SoilMoi100_200cm_inst`` (kg m-2 in the
        layer), ``Rainf_f_tavg``, ``Evap_tavg`` (kg m-2 s-1, evaporation
        positive), ``Qs_acc``, ``Qsm_acc`` (kg m-2 per 3-hour step, i.e. the
        monthly mean of the 3-hourly accumulations). See ``GLDAS_VARIABLES``.
    lat, lon
        Cell centres in degrees; written ascending, longitude -180..180.
    times
        One timestamp per month (year and month are used).
    global_attributes
        Extra global attributes.

    Returns
    -------
    list of pathlib.Path
        The files written, in time order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    months = _months(times)
    fields, glat, glon = _fields(variables, lat, lon, len(months))
    paths = []
    for i, m in enumerate(months):
        nxt = _dt.datetime(m.year + (m.month == 12), m.month % 12 + 1, 1)
        ndays = (nxt - m).days
        path = out_dir / GLDAS_MONTHLY_NAME.format(year=m.year, month=m.month)
        _write_gldas_file(
            path,
            {k: a[i] for k, a in fields.items()},
            glat,
            glon,
            time_value=0.0,
            time_units=f"days since {m:%Y-%m-%d} 00:00:00",
            bounds=(0.0, float(ndays)),
            begin=m,
            increment="1 month",
            title="GLDAS2.0 LIS land surface model output",
            source="Noah_v3.3",
            global_attributes=global_attributes,
        )
        paths.append(path)
    return paths


def write_gldas_3hourly(
    out_dir: str | os.PathLike,
    variables: Mapping[str, np.ndarray],
    lat: Sequence[float],
    lon: Sequence[float],
    times: Sequence,
    global_attributes: Mapping[str, object] | None = None,
) -> list[Path]:
    """Write GLDAS-2.1 Noah 3-hourly files, one per time step (``GLDAS_3HOURLY_NAME``).

    As in the real files (``realdata/gldas``), the file stamped ``hh00``
    holds time ``hh:00`` with bounds ``[hh-3, hh]`` h: ``*_tavg`` is the mean
    and ``*_acc`` the accumulation (kg m-2) over the past 3 hours.

    Parameters
    ----------
    out_dir
        Folder (created if missing).
    variables
        GLDAS name -> array (time, lat, lon), GLDAS units (see
        :func:`write_gldas_monthly`; ``*_acc`` in kg m-2 per 3-hour step).
    lat, lon
        Cell centres in degrees.
    times
        Time stamps, multiples of 3 h (e.g. 00, 03, ..., 21 UTC).
    global_attributes
        Extra global attributes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamps = _as_datetimes(times)
    fields, glat, glon = _fields(variables, lat, lon, len(stamps))
    ref = _dt.datetime(2000, 1, 1, 3)
    paths = []
    for i, t in enumerate(stamps):
        if t.minute or t.second or t.hour % 3:
            msg = f"GLDAS 3-hourly stamps must be at 00, 03, ..., 21 UTC, got {t}"
            raise ValueError(msg)
        minutes = (t - ref).total_seconds() / 60.0
        path = out_dir / GLDAS_3HOURLY_NAME.format(
            year=t.year, month=t.month, day=t.day, hour=t.hour
        )
        _write_gldas_file(
            path,
            {k: a[i] for k, a in fields.items()},
            glat,
            glon,
            time_value=minutes,
            time_units=" minutes since 2000-01-01 03:00:00",
            bounds=(minutes - 180.0, minutes),
            begin=t,
            increment="180",
            title="GLDAS2.1 LIS land surface model output",
            source="Noah_v3.6",
            global_attributes=global_attributes,
        )
        paths.append(path)
    return paths


# --------------------------------------------------------------------------
# ESA CCI Soil Moisture, daily L3S (TU Wien)
# --------------------------------------------------------------------------

#: File-name pattern of the daily L3S products.
ESACCI_NAME = (
    "ESACCI-SOILMOISTURE-L3S-SSMV-{product}-{year:04d}{month:02d}{day:02d}"
    "000000-fv{version}.nc"
)


def write_esacci_daily(
    out_dir: str | os.PathLike,
    sm: np.ndarray,
    lat: Sequence[float],
    lon: Sequence[float],
    days: Sequence,
    product: str = "COMBINED",
    version: str = "04.2",
    global_attributes: Mapping[str, object] | None = None,
) -> list[Path]:
    """Write ESA CCI SM daily L3S files, one per day (``ESACCI_NAME``).

    Parameters
    ----------
    out_dir
        Folder (created if missing).
    sm
        Volumetric soil moisture, m3 m-3, array (day, lat, lon); NaN or masked
        where there is no retrieval (written as -9999 with ``flag`` 4, "no
        convergence").
    lat, lon
        Cell centres in degrees; written latitude descending, longitude
        -180..180 as in the real files.
    days
        One date per slice.
    product
        ``"COMBINED"``, ``"ACTIVE"`` or ``"PASSIVE"``.
    version
        Product version, e.g. ``"04.2"``.
    global_attributes
        Extra global attributes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamps = _as_datetimes(days)
    arr, glat, glon = _reorient(
        sm, lat, lon, lat_descending=True, lon_0_360=False
    )
    if arr.ndim != 3 or arr.shape[0] != len(stamps):
        msg = f"sm: expected shape (day={len(stamps)}, lat, lon), got {arr.shape}"
        raise ValueError(msg)
    fill = -9999.0
    paths = []
    for i, d in enumerate(stamps):
        name = ESACCI_NAME.format(
            product=product,
            year=d.year,
            month=d.month,
            day=d.day,
            version=version,
        )
        path = out_dir / name
        day_number = (
            _dt.datetime(d.year, d.month, d.day) - _dt.datetime(1970, 1, 1)
        ).days
        valid = np.isfinite(arr[i])
        with (
            atomic_output(path) as tmp,
            netCDF4.Dataset(tmp, "w", format="NETCDF4_CLASSIC") as ds,
        ):
            ds.createDimension("time", 1)
            ds.createDimension("lat", glat.size)
            ds.createDimension("lon", glon.size)
            ds.setncatts(_esacci_global_attributes(name, product, version))
            _write_esacci_coordinates(ds, glat, glon, day_number)
            _write_esacci_sm(ds, arr[i], valid, fill)
            _write_esacci_quality(ds, valid, day_number, fill)
            for key, value in (global_attributes or {}).items():
                ds.setncattr(key, value)
        paths.append(path)
    return paths


def _esacci_global_attributes(name, product, version) -> dict[str, str]:
    """Return the global attributes of daily file ``name`` (TU Wien's L3S)."""
    return {
        "title": f"ESA CCI Surface Soil Moisture merged {product} Product",
        "institution": "Technische Universität Wien (AUT); VanderSat B.V. (NL)",
        "contact": "cci_sm_contact@eodc.eu",
        "product_version": version,
        "id": name,
        "Conventions": "CF-1.6",
        "standard_name_vocabulary": "NetCDF Climate and Forecast (CF) Metadata Convention",
        "project": "Climate Change Initiative - European Space Agency",
        "license": "Data use is free and open for all registered users.",
        "references": "http://www.esa-soilmoisture-cci.org; Dorigo et al. (2017), "
        "doi:10.1016/j.rse.2017.07.001",
        "time_coverage_resolution": "P1D",
        "geospatial_lat_min": "-90.0",
        "geospatial_lat_max": "90.0",
        "geospatial_lon_min": "-180.0",
        "geospatial_lon_max": "180.0",
        "geospatial_vertical_min": "0.0",
        "geospatial_vertical_max": "0.0",
    }


def _write_esacci_coordinates(ds, lat, lon, day_number) -> None:
    """Write lat, lon (float32, descending / -180..180) and the day (days since 1970)."""
    for cname, values, std, units, axis in (
        ("lat", lat, "latitude", "degrees_north", "Lat"),
        ("lon", lon, "longitude", "degrees_east", "Lon"),
    ):
        v = ds.createVariable(cname, "f4", (cname,), zlib=True, complevel=9)
        v.units = units
        v._CoordinateAxisType = axis
        v.standard_name = std
        v.valid_range = np.array(
            [-90.0, 90.0] if cname == "lat" else [-180.0, 180.0]
        )
        v[:] = values
    v = ds.createVariable("time", "f8", ("time",), zlib=True, complevel=9)
    v.units = "days since 1970-01-01 00:00:00 UTC"
    v._CoordinateAxisType = "Time"
    v.standard_name = "time"
    v.calendar = "standard"
    v[:] = [day_number]


def _write_esacci_sm(ds, sm, valid, fill) -> None:
    """Write ``sm`` and its uncertainty (0.04 m3 m-3), ``fill`` where not ``valid``."""
    for name, long_name, values in (
        ("sm", "Volumetric Soil Moisture", sm),
        ("sm_uncertainty", "Volumetric Soil Moisture Uncertainty", 0.04),
    ):
        v = ds.createVariable(
            name,
            "f4",
            ("time", "lat", "lon"),
            fill_value=np.float32(fill),
            zlib=True,
            complevel=9,
        )
        v.long_name = long_name
        v.units = "m3 m-3"
        v.valid_range = np.array([0.0, 1.0], dtype=np.float32)
        v._CoordinateAxes = "time lat lon"
        v[0] = np.where(valid, values, fill).astype(np.float32)


def _write_esacci_quality(ds, valid, day_number, fill) -> None:
    """Write ``flag`` (0 where valid, 4 "no convergence" elsewhere) and ``t0``."""
    v = ds.createVariable(
        "flag",
        "i1",
        ("time", "lat", "lon"),
        fill_value=np.int8(127),
        zlib=True,
        complevel=9,
    )
    v.long_name = "Flag"
    v.flag_values = np.array([0, 1, 2, 4, 127], dtype=np.int8)
    v.flag_meanings = (
        "no_data_inconsistency_detected snow_coverage_or_temperature_below_zero "
        "dense_vegetation others_no_convergence_in_the_model_thus_no_valid_sm_estimates NaN"
    )
    v._CoordinateAxes = "time lat lon"
    v[0] = np.where(valid, 0, 4).astype(np.int8)
    v = ds.createVariable(
        "t0",
        "f8",
        ("time", "lat", "lon"),
        fill_value=fill,
        zlib=True,
        complevel=9,
    )
    v.long_name = "Observation Timestamp"
    v.units = "days since 1970-01-01 00:00:00 UTC"
    v._CoordinateAxes = "time lat lon"
    v[0] = np.where(valid, day_number + 0.25, fill)
