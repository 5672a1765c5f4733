"""Hierarchical multi-model ensemble means (SPEC section 4).

members -> model mean -> family mean -> CMIP6-MMEM, so that a family with
many models (e.g. CNRM-CM6-1, CNRM-CM6-1-HR, CNRM-ESM2-1) counts once, as
in Qiao et al. (2022). MMEM-high and MMEM-low repeat the last two steps
using only the models of one resolution group: a family mean for a group
averages that family's models in the group, and the group MMEM averages
the families with at least one model in it.

Every mean ignores missing values (NaN or masked) element by element: an
element is the mean of the inputs that have a value there, and NaN where
none has. The arrays may be of any shape (series, fields) and may be dask
arrays; memory stays that of one input plus two accumulators, whatever
the number of members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ._arrays import as_float_nan, is_lazy

#: Latitude rows on the native grid from which a model is "high resolution"
#: (Table 2 of Qiao et al. 2022; SPEC section 4).
HIGH_RESOLUTION_MIN_NLAT = 160

#: Names of the three ensemble means.
MMEM_ALL, MMEM_HIGH, MMEM_LOW = (
    "CMIP6-MMEM",
    "CMIP6-MMEM-high",
    "CMIP6-MMEM-low",
)


def resolution_group(
    n_lat: int, threshold: int = HIGH_RESOLUTION_MIN_NLAT
) -> str:
    """``"high"`` if the native grid has at least *threshold* latitude rows, else ``"low"``."""
    return "high" if n_lat >= threshold else "low"


def nanmean_of(arrays: Iterable, what: str = "inputs"):
    """Element-wise mean of equally shaped arrays, ignoring missing values.

    Parameters
    ----------
    arrays : iterable of array_like
        numpy, masked or dask arrays of one shape, any units.
    what : str
        Description for error messages.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        Mean (units of the inputs), float64, NaN where no input has a value.
    """
    total = count = None
    shape = None
    for i, a in enumerate(arrays):
        x = as_float_nan(a, np.float64)
        if shape is None:
            shape = x.shape
        elif x.shape != shape:
            msg = (
                f"{what}: input {i} has shape {x.shape}, the first has {shape}"
            )
            raise ValueError(msg)
        valid = np.isfinite(x)
        if is_lazy(x) or is_lazy(total):
            part = np.where(valid, x, 0.0)
            total = part if total is None else total + part
            count = valid.astype(np.int32) if count is None else count + valid
            continue
        # In place: fields on the common grid are large (432 x 160 x 320).
        if total is None:
            total, count = np.zeros(shape), np.zeros(shape, dtype=np.int32)
        np.add(total, x, out=total, where=valid)
        count += valid
    if total is None:
        msg = f"{what}: nothing to average"
        raise ValueError(msg)
    if is_lazy(total):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / count, np.nan)
    np.divide(total, count, out=total, where=count > 0)
    total[count == 0] = np.nan
    return total


@dataclass
class EnsembleMeans:
    """Result of :func:`hierarchical_means`.

    Attributes
    ----------
    model_means : dict
        Model name -> mean over its members.
    family_means : dict
        Family name -> mean over its models (all resolutions).
    mmem : dict
        ``"CMIP6-MMEM"``, ``"CMIP6-MMEM-high"``, ``"CMIP6-MMEM-low"`` -> mean over
        families; a group without models is absent.
    models_in : dict
        Same keys as *mmem* -> sorted names of the models that went in.
    families_in : dict
        Same keys as *mmem* -> sorted names of the families that went in.
    family_of : dict
        Model name -> family used.
    group_of : dict
        Model name -> ``"high"`` or ``"low"``.
    """

    model_means: dict = field(default_factory=dict)
    family_means: dict = field(default_factory=dict)
    mmem: dict = field(default_factory=dict)
    models_in: dict = field(default_factory=dict)
    families_in: dict = field(default_factory=dict)
    family_of: dict = field(default_factory=dict)
    group_of: dict = field(default_factory=dict)


def hierarchical_means(
    members: Mapping[str, Iterable],
    family: Mapping[str, str],
    n_lat: Mapping[str, int],
    high_resolution_min_nlat: int = HIGH_RESOLUTION_MIN_NLAT,
) -> EnsembleMeans:
    """Model, family and multi-model ensemble means.

    Parameters
    ----------
    members : mapping of str to iterable of array_like
        Model name -> its members' arrays (all of one shape and units, already
        on a common grid for fields). A single array per model is a model
        with one member.
    family : mapping of str to str
        Model name -> parent family (e.g. ``"CNRM-ESM2-1": "CNRM"``). A model
        missing from the mapping forms a family of its own, named after it.
    n_lat : mapping of str to int
        Model name -> number of latitude rows of its native grid.
    high_resolution_min_nlat : int, default 160
        Rows from which a model is in the high-resolution group.

    Returns
    -------
    EnsembleMeans
        Means in the units of the inputs (float64, NaN where missing), and
        which models and families went into each ensemble mean.
    """
    result = EnsembleMeans()
    for model, arrays in members.items():
        if model not in n_lat:
            msg = f"{model}: no native latitude count given, cannot assign a resolution group"
            raise KeyError(msg)
        if isinstance(arrays, np.ndarray) or hasattr(arrays, "dask"):
            arrays = [arrays]
        result.model_means[model] = nanmean_of(
            arrays, what=f"members of {model}"
        )
        result.family_of[model] = family.get(model, model)
        result.group_of[model] = resolution_group(
            n_lat[model], high_resolution_min_nlat
        )

    groups = {MMEM_ALL: None, MMEM_HIGH: "high", MMEM_LOW: "low"}
    for name, group in groups.items():
        models = sorted(
            m
            for m in result.model_means
            if group is None or result.group_of[m] == group
        )
        if not models:
            continue
        by_family: dict[str, list[str]] = {}
        for m in models:
            by_family.setdefault(result.family_of[m], []).append(m)
        fam_means = {
            fam: nanmean_of(
                (result.model_means[m] for m in ms),
                what=f"models of family {fam}",
            )
            for fam, ms in sorted(by_family.items())
        }
        if group is None:
            result.family_means = fam_means
        result.mmem[name] = nanmean_of(fam_means.values(), what=name)
        result.models_in[name] = models
        result.families_in[name] = sorted(fam_means)
    return result


def streamed_mmem(
    loaders: Mapping[str, Callable[[], object]],
    family: Mapping[str, str],
    models: Iterable[str] | None = None,
):
    """CMIP6-MMEM of large fields, loading one model at a time.

    The same mean as ``hierarchical_means(...).mmem["CMIP6-MMEM"]`` for
    inputs that are already model means (e.g. ESMValCore's ensemble means),
    but no more than one model's field, one family's accumulators and the
    MMEM's accumulators are in memory at once: what monthly fields on the
    common grid (432 x 160 x 320 per model) need.

    Parameters
    ----------
    loaders : mapping of str to callable
        Model name -> function returning that model's mean field (any
        shape, the same for all; NaN or masked where missing; any units).
    family : mapping of str to str
        Model -> family (a model without one is its own family).
    models : iterable of str, optional
        The models to use (e.g. one resolution group); default all.

    Returns
    -------
    numpy.ndarray
        The mean over families of the mean over each family's models
        (units of the inputs), NaN where no model has a value.
    """
    chosen = sorted(loaders if models is None else models)
    if not chosen:
        msg = "CMIP6-MMEM: no model to average"
        raise ValueError(msg)
    by_family: dict[str, list[str]] = {}
    for model in chosen:
        by_family.setdefault(family.get(model, model), []).append(model)
    family_means = (
        nanmean_of(
            (loaders[m]() for m in members), what=f"models of family {fam}"
        )
        for fam, members in sorted(by_family.items())
    )
    return nanmean_of(family_means, what=MMEM_ALL)
