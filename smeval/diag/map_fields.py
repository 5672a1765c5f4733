"""What the two map scripts share: their inputs' roles and their output fields on the common grid.

``climatology_fields`` (:mod:`smeval.diag.climatology_fields`, Figs. 2-4)
and ``correlation_fields`` (:mod:`smeval.diag.correlation_fields`, Fig. 11)
both combine models into CMIP6-MMEM (SPEC section 4) and write NetCDF
fields on the common grid, each named by a string coordinate ``dataset``
(docs/results.md): the families, native rows and references of their
inputs, why an input is left out, the output cubes and their provenance
record are made here, once.
"""

from __future__ import annotations

from typing import Any

import iris.coords
import iris.cube
import numpy as np

from smeval.catalogue import load_catalogue

from .checks import in_expected_units
from .io import DATASET_COORD, SYNTHETIC_ATTRIBUTE
from .metrics import EvaluationOptions
from .options import check_references, is_model
from .provenance import record
from .shared import family_of


def ensemble_inputs(
    options: EvaluationOptions, metadata
) -> tuple[dict[str, str], dict[str, int], list[str]]:
    """Families (from the recipe's facets), native rows and references of the inputs.

    Raises
    ------
    OptionsError
        If a reference is not among the inputs' data sets, or is a model.
    """
    metadata = list(metadata)
    families = {meta["dataset"]: family_of(meta) for meta in metadata}
    n_lat = {name: m.grid.nlat for name, m in load_catalogue().models.items()}
    references = list(options.references)
    # The metrics script, which sees every variable, refuses a reference absent from the run.
    check_references(
        options.SCRIPT,
        references,
        {m["dataset"]: str(m.get("project", "")) for m in metadata},
        strict=False,
    )
    return families, n_lat, references


def input_problem(
    meta: dict[str, Any], cube: iris.cube.Cube, references
) -> str | None:
    """Why an input of the maps is left out (not a model nor a reference; wrong units), or None.

    Convertible units are converted in place (:func:`smeval.diag.checks.in_expected_units`).
    """
    if not (
        meta["dataset"] in references
        or is_model(meta["dataset"], meta.get("project", ""), references)
    ):
        return "an observation data set that is not among the references: not evaluated as a model"
    return in_expected_units(cube, meta["short_name"])


def _dataset_coord(names) -> iris.coords.AuxCoord:
    """Return the string coordinate ``dataset`` that names the data set of each field."""
    return iris.coords.AuxCoord(
        np.array(list(names), dtype=str),
        long_name=DATASET_COORD,
        var_name=DATASET_COORD,
    )


def _as_field(data) -> np.ndarray:
    # Keep the mask of masked input (e.g. a bias ratio masked where |MMEM|
    # is small) as well as NaNs.
    return np.ma.filled(np.ma.asarray(data, dtype=np.float32), np.nan)


def _attributes(synthetic: bool) -> dict[str, str]:
    return (
        {SYNTHETIC_ATTRIBUTE: "yes: computed from synthetic input"}
        if synthetic
        else {}
    )


def field_cube(
    data,
    template: iris.cube.Cube,
    name: str,
    units: str,
    long_name: str,
    synthetic: bool,
) -> iris.cube.Cube:
    """(lat, lon) float32 field of data set ``name`` on the grid of ``template`` (NaN and masked cells masked).

    The data set is named by a scalar ``dataset`` coordinate; the caller sets the var_name.
    """
    return iris.cube.Cube(
        np.ma.masked_invalid(_as_field(data)),
        long_name=f"{long_name}: {name}",
        units=units,
        dim_coords_and_dims=[
            (template.coord("latitude").copy(), 0),
            (template.coord("longitude").copy(), 1),
        ],
        aux_coords_and_dims=[(_dataset_coord([name]), None)],
        attributes=_attributes(synthetic),
    )


def datasets_cube(  # noqa: PLR0913 - the metadata of a results file, by keyword
    fields: dict[str, Any],
    template: iris.cube.Cube,
    var_name: str,
    units: str,
    long_name: str,
    synthetic: bool,
    cell_methods=(),
    std_name: str | None = None,
) -> iris.cube.Cube:
    """One quantity of several data sets: a (dataset, lat, lon) cube with the string coordinate ``dataset``.

    ``fields`` maps each data set's name to its (lat, lon) field, in that
    order (:func:`smeval.diag.io.fields_by_dataset` reads it back).
    """
    return iris.cube.Cube(
        np.ma.masked_invalid(
            np.stack([_as_field(data) for data in fields.values()])
        ),
        var_name=var_name,
        standard_name=std_name,
        long_name=long_name,
        units=units,
        dim_coords_and_dims=[
            (template.coord("latitude").copy(), 1),
            (template.coord("longitude").copy(), 2),
        ],
        aux_coords_and_dims=[(_dataset_coord(fields), 0)],
        cell_methods=cell_methods,
        attributes=_attributes(synthetic),
    )


def field_record(
    caption: str,
    ancestors,
    datasets,
    statistics,
    plot_type: str | None = None,
    extra_references=(),
) -> dict:
    """Record of a field on the common grid (global domain)."""
    return record(
        caption,
        ancestors,
        datasets,
        domains=["global"],
        statistics=statistics,
        plot_type=plot_type,
        extra_references=extra_references,
    )
