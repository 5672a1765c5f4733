"""ESMValCore preprocessor steps applied by a diagnostic script to data it reads.

Used for the maps' climatologies (:mod:`smeval.diag.climatology`) and the
correlation maps' monthly fields (:func:`smeval.diag.fields.correlation_fields`):
the steps and their settings come from the recipe and are checked as
ESMValCore checks a recipe's preprocessor; each is ESMValCore's own function
(a time mean runs on NaN-filled data when that gives ESMValCore's result
exactly: see :meth:`MapClimatology.lazy`).

ESMValCore is imported here at module level on purpose: imported lazily from
inside a function, a failed optional import deep in it (``requests_cache``
keeps the ImportError, traceback and frames included) would keep that
function's last local variables, cubes among them, alive until interpreter
shutdown, where freeing their units after udunits2 is gone crashes Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import esmvalcore.preprocessor as esmvalcore_preprocessor
import iris.cube
import numpy as np


@dataclass(frozen=True)
class MapClimatology:
    """ESMValCore preprocessor steps that turn a member's monthly data into its map.

    Attributes
    ----------
    variables : tuple of str
        CMOR short names whose climatology the maps need.
    steps : dict
        ESMValCore preprocessor function name -> its settings, applied in order
        (as a recipe's ``preprocessors`` entry with ``custom_order: true``).
    """

    variables: tuple[str, ...]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> MapClimatology | None:
        """The ``map_climatology`` script option, checked; None when absent.

        Raises
        ------
        ValueError
            If a step is not an ESMValCore preprocessor function that works on
            one data set, or its settings do not fit the function.
        """
        if not options:
            return None
        steps = _checked_steps("map_climatology", options.get("preprocessor"), multi_model=())
        return cls(tuple(str(v) for v in options.get("variables") or ()), steps)

    def lazy(self, cube: iris.cube.Cube, filename: str,
             masked_arithmetic: bool = False) -> tuple[iris.cube.Cube, Any]:
        """The climatology of ``cube``, still lazy, and a lazy flag that says whether to redo it.

        ESMValCore's mean over time (iris's weighted MEAN, i.e. dask's masked
        average) is several times slower on masked arrays than on plain ones.
        So when the first step is ``climate_statistics`` with ``operator:
        mean`` on lazy floating-point data, that step is applied to the data
        with masked points as NaN, and NaN is masked again before the next
        step. Where a cell is valid at every time step, or at none, this gives
        ESMValCore's result bit for bit. The flag (a lazy bool, computed in the
        same pass) is True if some cell is masked at some time steps only:
        then call again with ``masked_arithmetic=True``, for ESMValCore's mean
        of the valid time steps of such cells. The flag is None when the data
        are averaged as they are.

        Raises
        ------
        ValueError
            If the steps leave a time axis (a climatology has none).
        """
        steps = list(self.steps.items())
        redo = None
        if not masked_arithmetic and _nan_route_applies(cube, *steps[0]):
            data = cube.core_data()
            axis = cube.coord_dims("time")[0]
            mask = da.ma.getmaskarray(data)
            redo = (mask.any(axis=axis) & ~mask.all(axis=axis)).any()
            cube = esmvalcore_preprocessor.climate_statistics(cube.copy(da.ma.filled(data, np.nan)), **steps[0][1])
            cube = cube.copy(da.ma.masked_invalid(cube.core_data()))
            steps = steps[1:]
        for step, settings in steps:
            cube = getattr(esmvalcore_preprocessor, step)(cube, **settings)
        time = cube.coords("time", dim_coords=True)
        if time and time[0].shape[0] > 1:
            msg = (f"{filename}: map_climatology leaves {time[0].shape[0]} time steps; its steps "
                   f"({', '.join(self.steps)}) must reduce time to one climatology")
            raise ValueError(msg)
        return cube, redo


def _nan_route_applies(cube: iris.cube.Cube, step: str, settings: Mapping[str, Any]) -> bool:
    """True if the first step is a time mean that may run on NaN-filled data (see ``lazy``)."""
    return (step == "climate_statistics" and settings.get("operator", "mean") == "mean"
            and str(settings.get("period", "full")).lower() == "full" and cube.has_lazy_data()
            and np.issubdtype(cube.dtype, np.floating) and len(cube.coord_dims("time")) == 1)


#: The one multi-data-set step that :class:`EnsembleSteps` applies: to one model's members.
ENSEMBLE_STEP = "ensemble_statistics"


@dataclass(frozen=True)
class EnsembleSteps:
    """ESMValCore preprocessor steps that turn one model's members into one field.

    The steps of a recipe preprocessor such as ``{ensemble_statistics:
    {statistics: [mean]}, regrid: {...}}`` (``custom_order: true``), applied
    in order to the members of one data set: ``ensemble_statistics`` to all
    of them at once, every other step to each. A reference data set (one
    field, no ensemble) skips ``ensemble_statistics``.

    Attributes
    ----------
    steps : dict
        ESMValCore preprocessor function name -> its settings.
    """

    steps: dict[str, dict[str, Any]]

    @classmethod
    def from_options(cls, option: str, steps: Mapping[str, Any] | None) -> EnsembleSteps:
        """The steps of the script option ``option``, checked.

        Raises
        ------
        ValueError
            If a step is not an ESMValCore preprocessor function, is a loading,
            saving or multi-data-set step other than ``ensemble_statistics``,
            its settings do not fit the function, or ``ensemble_statistics``
            asks for other than one statistic.
        """
        checked = _checked_steps(option, steps, multi_model=(ENSEMBLE_STEP,))
        statistics = checked.get(ENSEMBLE_STEP, {}).get("statistics", [None])
        if len(statistics) != 1:
            msg = (f"{option}: `{ENSEMBLE_STEP}` must give one statistic (one field per data set), "
                   f"not {statistics}")
            raise ValueError(msg)
        return cls(checked)

    def apply(self, cubes: list[iris.cube.Cube], ensemble: bool = True) -> iris.cube.Cube:
        """The steps applied to ``cubes``, the members of one data set (lazy where they are).

        With ``ensemble=False`` (a reference) ``ensemble_statistics`` is
        skipped and ``cubes`` must be one cube.

        Raises
        ------
        ValueError
            If the steps leave more than one cube.
        """
        for step, settings in self.steps.items():
            if step == ENSEMBLE_STEP:
                if ensemble:
                    statistics = esmvalcore_preprocessor.ensemble_statistics(
                        cubes, output_products=None, **settings)
                    cubes = list(statistics.values())
            else:
                function = getattr(esmvalcore_preprocessor, step)
                cubes = [function(cube, **settings) for cube in cubes]
        if len(cubes) != 1:
            msg = (f"{len(cubes)} fields where one was expected: the steps ({', '.join(self.steps)}) "
                   f"must reduce the members to one" + ("" if ensemble else " (a reference has no ensemble)"))
            raise ValueError(msg)
        return cubes[0]


def _checked_steps(option: str, steps: Mapping[str, Any] | None,
                   multi_model: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """ESMValCore preprocessor steps of a script option, checked as ESMValCore checks a recipe's.

    Only the multi-data-set functions named in ``multi_model`` are accepted;
    loading and saving steps never are.
    """
    checked = {str(k): dict(v or {}) for k, v in (steps or {}).items()}
    if not checked:
        msg = f"{option}: `preprocessor` names no ESMValCore preprocessor function"
        raise ValueError(msg)
    fixed = set(esmvalcore_preprocessor.INITIAL_STEPS) | set(esmvalcore_preprocessor.FINAL_STEPS)
    for step in checked:
        if (step in esmvalcore_preprocessor.MULTI_MODEL_FUNCTIONS and step not in multi_model) or step in fixed:
            allowed = f"of the multi-data-set steps only {', '.join(multi_model)}" if multi_model else "no multi-model"
            msg = (f"{option}: `{step}` cannot be applied to one member's data here "
                   f"({allowed}, and no loading or saving step)")
            raise ValueError(msg)
    try:
        # ESMValCore fills in the products of a multi-data-set step itself.
        esmvalcore_preprocessor.check_preprocessor_settings(
            {k: {**v, "output_products": None} if k in multi_model else v for k, v in checked.items()})
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from exc
    return checked
