"""Preprocessor steps that the recipe lists as script options: checked, then applied.

The recipe lists each branch of the pipeline, in order, as a script option
(``series_steps``, ``map_steps`` and ``correlation_steps`` of
``regional_series``): a mapping of step name -> its options, as a
recipe's ``preprocessors`` entry with ``custom_order: true``. A step is a
function of :mod:`smeval.preprocessor` or of :mod:`esmvalcore.preprocessor`
with ESMValCore's signature ``step(cube, **options) -> cube``.

:func:`check_steps` checks a branch from the public signatures of those
functions (:func:`inspect.signature`) before any data is read: an unknown
step, an unknown option or a missing one is one line naming the script
option. :func:`apply_steps` applies them.

ESMValCore is imported here at module level on purpose: imported lazily from
inside a function, a failed optional import deep in it (``requests_cache``
keeps the ImportError, traceback and frames included) would keep that
function's last local variables, cubes among them, alive until interpreter
shutdown, where freeing their units after udunits2 is gone crashes Python.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import dask.array as da
import esmvalcore.preprocessor as esmvalcore_preprocessor
import iris.cube
import iris.exceptions
import iris.util
import numpy as np

from smeval import preprocessor as smeval_preprocessor
from smeval.core._arrays import valid_values

from .options import OptionsError, did_you_mean

#: The one multi-data-set step of the correlation branch: to one data set's members.
ENSEMBLE_STEP = "ensemble_statistics"
#: ESMValCore's ensemble mean of default settings: the statistic whose value
#: for one member is that member's valid values (:meth:`EnsembleSteps.apply`)
#: and that :mod:`smeval.diag.running_mean` gives member by member.
MEAN_SETTINGS = MappingProxyType({"statistics": ["mean"]})


def step_function(name: str) -> Callable[..., Any] | None:
    """Return the preprocessor function called ``name``: smeval's, else ESMValCore's public one; None if neither."""
    for module in (smeval_preprocessor, esmvalcore_preprocessor):
        if name in getattr(module, "__all__", ()) and callable(
            getattr(module, name, None)
        ):
            return getattr(module, name)
    return None


def _known_steps() -> list[str]:
    return [*smeval_preprocessor.__all__, *esmvalcore_preprocessor.__all__]


def _check_step(
    where: str,
    step: str,
    settings: Mapping[str, Any],
    supplied: Collection[str],
    multi: Collection[str],
) -> None:
    """OptionsError unless ``step(data, **settings, **supplied)`` fits the function's signature."""
    function = step_function(step)
    if function is None:
        msg = (
            f"{where}: unknown step '{step}'{did_you_mean(step, _known_steps())}; a step is a "
            "function of smeval.preprocessor or esmvalcore.preprocessor"
        )
        raise OptionsError(msg)
    data, *parameters = inspect.signature(function).parameters.values()
    if data.name != "cube" and step not in multi:
        allowed = f" (here only {', '.join(multi)})" if multi else ""
        msg = (
            f"{where}: {step}: works on '{data.name}', not on one cube: loading, saving and "
            f"multi-data-set steps cannot be applied to one member's data{allowed}"
        )
        raise OptionsError(msg)
    named = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    accepted = [p.name for p in named]
    free = [name for name in accepted if name not in supplied]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    for name in settings:
        if name in supplied:
            msg = (
                f"{where}: {step}: option '{name}' is set by the script (see its docstring), "
                "not in the recipe"
            )
            raise OptionsError(msg)
        if name not in accepted and not takes_any:
            msg = (
                f"{where}: {step}: unknown option '{name}'{did_you_mean(name, free)} "
                f"(accepted: {', '.join(free) or 'none'})"
            )
            raise OptionsError(msg)
    missing = [
        p.name
        for p in named
        if p.default is p.empty
        and p.name not in settings
        and p.name not in supplied
    ]
    if missing:
        msg = f"{where}: {step}: missing option {', '.join(repr(m) for m in missing)}"
        raise OptionsError(msg)


def check_steps(
    where: str,
    steps: Mapping[str, Any],
    supplied: Mapping[str, Collection[str]] | None = None,
    multi: Collection[str] = (),
    required: Collection[str] = (),
    last: str | None = None,
) -> None:
    """Check the steps of one branch, from the signatures of their functions.

    Parameters
    ----------
    where : str
        The recipe key, e.g. ``soil_moisture/regional_series: map_steps``.
    steps : mapping
        Step name -> its options (a mapping, or null for none), in order.
    supplied : mapping, optional
        Step name -> the options the script sets itself (never in the recipe).
    multi : collection of str
        Multi-data-set steps allowed in this branch.
    required : collection of str
        Steps the branch must have.
    last : str, optional
        The step that must come last.

    Raises
    ------
    OptionsError
        One line naming ``where``, the step and what is wrong.
    """
    if not isinstance(steps, Mapping):
        msg = f"{where}: must map each step to its options, not {steps!r}"
        raise OptionsError(msg)
    supplied = supplied or {}
    for step, settings in steps.items():
        if settings is not None and not isinstance(settings, Mapping):
            msg = (
                f"{where}: {step}: options must be a mapping, not {settings!r}"
            )
            raise OptionsError(msg)
        _check_step(
            where, str(step), settings or {}, supplied.get(step, ()), multi
        )
    absent = [s for s in required if s not in steps]
    if absent:
        msg = f"{where}: the steps must include {', '.join(absent)}"
        raise OptionsError(msg)
    if last is not None and steps and list(steps)[-1] != last:
        msg = f"{where}: the last step must be {last}, not {list(steps)[-1]}"
        raise OptionsError(msg)


def apply_steps(
    cube: iris.cube.Cube,
    steps: Mapping[str, Mapping[str, Any] | None],
    supplied: Mapping[str, Mapping[str, Any]] | None = None,
) -> iris.cube.Cube:
    """``cube`` through each single-cube step in order (lazy where the steps are).

    ``supplied`` gives, per step, options set by the script (e.g. the depth
    of ``soil_column``). A step of :data:`SAME_RESULT` is applied through
    its faster equivalent.
    """
    supplied = supplied or {}
    for step, settings in steps.items():
        function = SAME_RESULT.get(step) or step_function(step)
        cube = function(cube, **(settings or {}), **supplied.get(step, {}))
    return cube


#: Natural Earth masks of ``mask_landsea`` by (mask_out, latitudes, longitudes).
_SHAPEFILE_MASKS: dict[tuple[str, bytes, bytes], np.ndarray] = {}


def _shapefile_grid(
    cube: iris.cube.Cube,
) -> tuple[iris.coords.Coord, iris.coords.Coord] | None:
    """Return the 1-D latitude and longitude of a cube ESMValCore would mask from Natural Earth, else None."""
    for name in ("land_area_fraction", "sea_area_fraction"):
        try:
            cube.ancillary_variable(name)
        except iris.exceptions.AncillaryVariableNotFoundError:
            continue
        return None
    lat, lon = cube.coord("latitude"), cube.coord("longitude")
    if lat.ndim != 1 or lon.ndim != 1:
        return None
    # ESMValCore tests the centres of the X and Y axes, and masks the
    # dimensions of latitude and longitude: here they must be the same.
    if lon != cube.coord(axis="X") or lat != cube.coord(axis="Y"):
        return None
    return lat, lon


def mask_landsea(cube: iris.cube.Cube, mask_out: str) -> iris.cube.Cube:
    """ESMValCore's ``mask_landsea``, its Natural Earth mask computed once per grid.

    Without a land or sea fraction, ESMValCore reads the Natural Earth
    shapefile and tests every cell centre on each call (0.15 s; 103 calls in
    one series script on the default sample archive, all on the common
    grid). That mask depends only on ``mask_out`` and the cell centres, so
    it is taken here from ESMValCore's own function applied to a 2-D cube
    of the grid, once per grid and process, and applied as ESMValCore
    applies it (``masked_where`` on the broadcast mask, lazy data kept
    lazy). Cubes with a land or sea fraction, or on 2-D grids, go to
    ESMValCore's function unchanged.
    """
    grid = _shapefile_grid(cube)
    if grid is None:
        return esmvalcore_preprocessor.mask_landsea(cube, mask_out)
    lat, lon = grid
    key = (mask_out, lat.points.tobytes(), lon.points.tobytes())
    if key not in _SHAPEFILE_MASKS:
        template = iris.cube.Cube(
            np.zeros((lat.shape[0], lon.shape[0])),
            dim_coords_and_dims=[(lat.copy(), 0), (lon.copy(), 1)],
        )
        masked = esmvalcore_preprocessor.mask_landsea(template, mask_out)
        _SHAPEFILE_MASKS[key] = np.ma.getmaskarray(masked.data)
    data = cube.core_data()
    dims = cube.coord_dims(lat) + cube.coord_dims(lon)
    chunks = data.chunks if isinstance(data, da.Array) else None
    mask = _SHAPEFILE_MASKS[key]
    if chunks is not None:
        mask = da.asarray(mask, chunks=tuple(chunks[i] for i in dims))
    mask = iris.util.broadcast_to_shape(mask, data.shape, dims, chunks=chunks)
    module = da if chunks is not None else np
    cube.data = module.ma.masked_where(mask, data)
    return cube


#: Steps applied through a faster function with ESMValCore's result.
SAME_RESULT: dict[str, Callable[..., iris.cube.Cube]] = {
    "mask_landsea": mask_landsea
}


@dataclass(frozen=True)
class EnsembleSteps:
    """The correlation branch: steps that turn one model's members into one field.

    ``ensemble_statistics`` is applied to all members at once, every other
    step to each. A reference data set (one field, no ensemble) skips
    ``ensemble_statistics``.

    Attributes
    ----------
    steps : dict
        Step name -> its options, in order (checked by :meth:`check`).
    """

    steps: Mapping[str, Mapping[str, Any] | None]

    @staticmethod
    def check(where: str, steps: Mapping[str, Any]) -> None:
        """OptionsError unless ``steps`` are single-cube steps and at most an ensemble statistic."""
        check_steps(
            where,
            steps,
            supplied={ENSEMBLE_STEP: ("output_products",)},
            multi=(ENSEMBLE_STEP,),
        )
        statistics = (steps.get(ENSEMBLE_STEP) or {}).get("statistics", [None])
        if len(statistics) != 1:
            msg = (
                f"{where}: {ENSEMBLE_STEP}: must give one statistic (one field per data set), "
                f"not {statistics}"
            )
            raise OptionsError(msg)

    def apply(
        self, cubes: list[iris.cube.Cube], ensemble: bool = True
    ) -> iris.cube.Cube:
        """Return the steps applied to ``cubes``, the members of one data set (lazy where they are).

        Raises
        ------
        ValueError
            If the steps leave more than one cube.
        """
        for step, settings in self.steps.items():
            if step == ENSEMBLE_STEP:
                if ensemble:
                    cubes = _ensemble_statistics(cubes, settings)
            else:
                cubes = [apply_steps(cube, {step: settings}) for cube in cubes]
        if len(cubes) != 1:
            msg = (
                f"{len(cubes)} fields where one was expected: the steps ({', '.join(self.steps)}) "
                f"must reduce the members to one"
                + ("" if ensemble else " (a reference has no ensemble)")
            )
            raise ValueError(msg)
        return cubes[0]


def _ensemble_statistics(
    cubes: list[iris.cube.Cube], settings: Mapping[str, Any] | None
) -> list[iris.cube.Cube]:
    """ESMValCore's ``ensemble_statistics`` of one data set's members (lazy).

    The mean of one member is its valid values: ESMValCore's metadata, but
    not its stack and masked mean, which took several float64 copies of the
    data (the largest memory of the series script at the paper's scale, for
    the high-resolution models' one member). The values are ESMValCore's,
    bit for bit (``tests/diag/test_running_mean.py``).
    """
    statistics = list(
        esmvalcore_preprocessor.ensemble_statistics(
            cubes, output_products=None, **(settings or {})
        ).values()
    )
    if len(cubes) == 1 and dict(settings or {}) == dict(MEAN_SETTINGS):
        values, valid = valid_values(cubes[0].core_data())
        statistics = [
            statistics[0].copy(da.ma.masked_array(values, mask=~valid))
        ]
    return statistics
