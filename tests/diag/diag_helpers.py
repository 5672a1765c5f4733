"""Helpers of the diagnostic tests: CMOR files whose data are the same at every grid cell."""

from __future__ import annotations

import numpy as np

from smeval import cmorio


def write_uniform(
    path,
    *,
    dataset: str,
    member: str,
    short_name: str,
    mip: str,
    series,
    years: tuple[int, int],
    lat: np.ndarray,
    lon: np.ndarray,
    depth_bounds=None,
):
    """A CMIP6 file of ``dataset`` whose (time[, depth]) ``series`` is broadcast over the grid (``lat``, ``lon``).

    ``series`` holds one value per month of ``years`` (first and last, the
    standard calendar), and per layer of ``depth_bounds`` if given.
    """
    points, bounds = cmorio.monthly_time_axis(*years, "standard")
    data = np.asarray(series, float)
    data = np.broadcast_to(
        data.reshape(*data.shape, 1, 1), (*data.shape, len(lat), len(lon))
    ).copy()
    attrs = cmorio.cmip6_global_attributes(
        source_id=dataset,
        institution_id="TEST",
        variant_label=member,
        grid_label="gn",
        table_id=mip,
        variable_id=short_name,
    )
    extra = (
        {}
        if depth_bounds is None
        else {"depth_bounds": np.asarray(depth_bounds)}
    )
    return cmorio.write_variable(
        path,
        data,
        project="CMIP6",
        mip=mip,
        short_name=short_name,
        lat=lat,
        lon=lon,
        time_points=points,
        time_bounds=bounds,
        attributes=attrs,
        **extra,
    )
