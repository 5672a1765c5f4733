"""ESMValCore preprocessor steps applied by a diagnostic script to data it reads.

Used for the maps' climatologies (:mod:`smeval.diag.climatology`): the steps
and their settings come from the recipe and are checked as ESMValCore checks
a recipe's preprocessor; each is ESMValCore's own function.

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

import esmvalcore.preprocessor as esmvalcore_preprocessor
import iris.cube


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
        steps = {str(k): dict(v or {}) for k, v in (options.get("preprocessor") or {}).items()}
        if not steps:
            msg = "map_climatology: `preprocessor` names no ESMValCore preprocessor function"
            raise ValueError(msg)
        fixed = set(esmvalcore_preprocessor.INITIAL_STEPS) | set(esmvalcore_preprocessor.FINAL_STEPS)
        for step in steps:
            if step in esmvalcore_preprocessor.MULTI_MODEL_FUNCTIONS or step in fixed:
                msg = (f"map_climatology: `{step}` cannot be applied to one member's data here "
                       "(multi-model, loading or saving step)")
                raise ValueError(msg)
        try:
            esmvalcore_preprocessor.check_preprocessor_settings(steps)
        except ValueError as exc:
            raise ValueError(f"map_climatology: {exc}") from exc
        return cls(tuple(str(v) for v in options.get("variables") or ()), steps)

    def lazy(self, cube: iris.cube.Cube, filename: str) -> iris.cube.Cube:
        """The climatology of ``cube``, still lazy where the input is.

        Raises
        ------
        ValueError
            If the steps leave a time axis (a climatology has none).
        """
        for step, settings in self.steps.items():
            cube = getattr(esmvalcore_preprocessor, step)(cube, **settings)
        time = cube.coords("time", dim_coords=True)
        if time and time[0].shape[0] > 1:
            msg = (f"{filename}: map_climatology leaves {time[0].shape[0]} time steps; its steps "
                   f"({', '.join(self.steps)}) must reduce time to one climatology")
            raise ValueError(msg)
        return cube
