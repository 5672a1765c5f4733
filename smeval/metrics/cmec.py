"""The CMEC metric bundle of the tidy metrics table (docs/results.md).

The bundle follows the CMEC / EMDS metric format as Climate-REF validates it
(``climate_ref_core.pycmec.metric.CMECMetric``): a ``DIMENSIONS`` header
whose ``json_structure`` lists the nesting order and, for each dimension,
every value with its attributes (``long_name``, ``units`` where they apply),
and ``RESULTS`` nested in that order. The dimensions carry the names of
Climate-REF's controlled vocabulary (``source_id``, ``reference_source_id``,
``variable_id``, ``region``, ``statistic``), so that the bundle of a run is
the bundle Climate-REF ingests.

The bundle is built from the table's columns, not from a fixed list, so
that new statistics, new kinds of rows and new columns appear without a
change here:

- every numeric column besides ``value`` (for example ``ci_low``,
  ``ci_high``) gives a value ``<statistic>_<column>`` of the ``statistic``
  dimension, beside ``<statistic>`` itself (the ``value`` column);
- every other column (``kind``, ``family``, ``resolution_group``,
  ``units``) becomes an attribute of the innermost dimension that alone
  determines it (``kind`` of ``source_id``, ``units`` of ``statistic``); a column
  that depends on no single dimension is kept per value in the innermost
  ``attributes``.

CMEC nests every dimension fully: a (data set, reference, variable, region)
combination the table lacks (a model without ``mrsol`` has no deep soil
moisture) is an empty dictionary of statistics.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pandas.api.types import is_numeric_dtype

from smeval.core.ensemble import MMEM_ALL, MMEM_HIGH, MMEM_LOW
from smeval.core.regions import ALL_REGIONS
from smeval.variables import SERIES_UNITS, variable_label

from .table import FAMILY_PREFIX

#: Key columns of the tidy table -> CMEC dimensions (Climate-REF's names), outermost first.
DIMENSIONS = {
    "dataset": "source_id",
    "reference": "reference_source_id",
    "variable": "variable_id",
    "region": "region",
    "statistic": "statistic",
}
#: The column holding each statistic.
VALUE_COLUMN = "value"
#: Long names of the statistics (SPEC section 5); all are dimensionless.
STATISTIC_NAMES = {
    "R": "Pearson correlation coefficient with the reference",
    "sigma": "standard deviation normalised by that of the reference",
    "E'": "centred root-mean-square difference normalised by the standard deviation of the reference",
    "TSS": "Taylor skill score (Taylor 2001, eq. 4)",
    "n_months": "number of months compared",
}
#: Long names of extra numeric columns (other columns are named as they are).
ESTIMATE_NAMES = {
    "ci_low": "lower bound of the confidence interval",
    "ci_high": "upper bound of the confidence interval",
}
#: Long names of the ensemble means.
MMEM_NAMES = {
    MMEM_ALL: "CMIP6 multi-model ensemble mean (mean of the family means)",
    MMEM_HIGH: "CMIP6 multi-model ensemble mean of the high-resolution models",
    MMEM_LOW: "CMIP6 multi-model ensemble mean of the low-resolution models",
}
REGION_NAMES = {r.id: r.name for r in ALL_REGIONS}
#: Values of a column that mean "none" (pandas reads empty CSV cells as NaN).
_EMPTY = ""


def dataset_long_name(name: str) -> str:
    """Human name of a data set of the table (model, family mean, MMEM or reference)."""
    if name.startswith(FAMILY_PREFIX):
        return f"mean of the {name[len(FAMILY_PREFIX) :]} family"
    return MMEM_NAMES.get(name, name)


def _number(value: Any) -> float | None:
    """Return a JSON number: NaN and infinities become null (CMEC forbids them)."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _text(value: Any) -> str:
    return (
        _EMPTY
        if value is None or (not isinstance(value, str) and pd.isna(value))
        else str(value)
    )


def _columns(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(extra numeric columns, descriptive columns) of the table beyond the keys and ``value``."""
    rest = [
        c for c in table.columns if c not in DIMENSIONS and c != VALUE_COLUMN
    ]
    # An empty text column read from CSV is all-NaN floats: text, unless it is a known estimate.
    numeric = [
        c
        for c in rest
        if is_numeric_dtype(table[c])
        and (c in ESTIMATE_NAMES or not table[c].isna().all())
    ]
    return numeric, [c for c in rest if c not in numeric]


def _owner(table: pd.DataFrame, column: str) -> str | None:
    """Return the innermost key column that alone determines ``column``, or None.

    Innermost first, so that a column constant over the table (``units``)
    describes the statistics rather than the data sets.
    """
    values = table[column].map(_text)
    for key in reversed(DIMENSIONS):
        if (values.groupby(table[key]).nunique() <= 1).all():
            return key
    return None


def _long_name(column: str, value: str) -> str:
    if column == "dataset":
        return dataset_long_name(value)
    if column == "variable":
        return variable_label(value)
    if column == "region":
        return REGION_NAMES.get(value, value)
    return value


def _statistic_entries(
    table: pd.DataFrame, numeric: list[str], attributes: dict[str, str]
) -> dict[str, dict]:
    """Entries of the ``statistic`` dimension: each statistic, then its extra columns."""
    entries = {}
    first = table.drop_duplicates("statistic").set_index("statistic")
    for stat in dict.fromkeys(table["statistic"]):
        attrs = {col: _text(first.at[stat, col]) for col in attributes}
        name = STATISTIC_NAMES.get(stat, stat)
        entries[stat] = {"long_name": name, **attrs}
        for col in numeric:
            entries[f"{stat}_{col}"] = {
                "long_name": f"{ESTIMATE_NAMES.get(col, col)} of the {name}",
                **attrs,
            }
    return entries


def _dimension_entries(
    table: pd.DataFrame, numeric: list[str], owners: dict[str, str | None]
) -> dict[str, dict]:
    """Every value of every dimension with its attributes, keyed by table column.

    ``owners`` maps each descriptive column to the dimension it describes (:func:`_owner`).
    """
    entries: dict[str, dict] = {}
    for key in DIMENSIONS:
        owned = {col: col for col, owner in owners.items() if owner == key}
        if key == "statistic":
            entries[key] = _statistic_entries(table, numeric, owned)
            continue
        first = table.drop_duplicates(key).set_index(key)
        entries[key] = {}
        for value in dict.fromkeys(table[key]):
            entry = {"long_name": _long_name(key, value)}
            if key == "variable" and value in SERIES_UNITS:
                entry["units"] = SERIES_UNITS[value]
            entry.update({col: _text(first.at[value, col]) for col in owned})
            entries[key][value] = entry
    return entries


def _nest(levels: list[list[str]]) -> dict:
    """Empty nested dictionaries over every combination of ``levels`` (CMEC nests fully)."""
    if not levels:
        return {}
    return {value: _nest(levels[1:]) for value in levels[0]}


def metric_bundle(
    table: pd.DataFrame, provenance: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the CMEC metric bundle of a tidy metrics table (a JSON-ready dict).

    Parameters
    ----------
    table
        The tidy table (docs/results.md): key columns ``dataset``,
        ``reference``, ``variable``, ``region``, ``statistic``, the column
        ``value`` and any others (see the module docstring).
    provenance
        Optional ``PROVENANCE`` section (software, inputs).

    Returns
    -------
    dict
        ``{"DIMENSIONS": ..., "RESULTS": ..., "PROVENANCE": ...}``; statistics
        that are NaN are ``null``.
    """
    numeric, descriptive = _columns(table)
    owners = {col: _owner(table, col) for col in descriptive}
    entries = _dimension_entries(table, numeric, owners)
    outer = list(DIMENSIONS)[:-1]
    results = _nest([list(entries[key]) for key in outer])
    leftover = [col for col, owner in owners.items() if owner is None]
    # Plain lists, row by row: a tenth of the time of itertuples' rows.
    columns = {
        c: table[c].tolist()
        for c in [*DIMENSIONS, VALUE_COLUMN, *numeric, *leftover]
    }
    for i, stat in enumerate(columns["statistic"]):
        leaf = results
        for key in outer:
            leaf = leaf[columns[key][i]]
        leaf[stat] = _number(columns[VALUE_COLUMN][i])
        for col in numeric:
            leaf[f"{stat}_{col}"] = _number(columns[col][i])
        for col in leftover:
            leaf.setdefault("attributes", {}).setdefault(col, {})[stat] = (
                _text(columns[col][i])
            )
    dimensions = {"json_structure": [DIMENSIONS[k] for k in DIMENSIONS]}
    dimensions.update({DIMENSIONS[k]: entries[k] for k in DIMENSIONS})
    return {
        "DIMENSIONS": dimensions,
        "RESULTS": results,
        "PROVENANCE": provenance,
    }
