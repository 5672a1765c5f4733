"""One name for one thing: the variables of the evaluation (docs/results.md).

CMOR variables read from the archives, and the variables of the results
(``sm_shallow``, ``sm_deep``, fluxes, ``pme``, ``pmer``) with the human names
and units used in captions, figures and the report.
"""

from __future__ import annotations

#: CMOR table of each CMIP6/OBS6 variable the evaluation reads.
CMOR_TABLES = {
    "mrsos": "Lmon",
    "mrsol": "Emon",
    "pr": "Amon",
    "evspsbl": "Amon",
    "mrros": "Lmon",
    "snm": "LImon",
    "sftlf": "fx",
    "areacella": "fx",
}

#: The soil-moisture variables of the results, shallow first.
SOIL_MOISTURE = ("sm_shallow", "sm_deep")

#: Human names of the results variables, in the order of the paper.
VARIABLE_LABELS = {
    "sm_shallow": "shallow soil moisture (0-10 cm)",
    "sm_deep": "deep soil moisture (0-200 cm)",
    "pr": "precipitation",
    "evspsbl": "evaporation",
    "mrros": "surface runoff",
    "snm": "snow melt",
    "pme": "P - E",
    "pmer": "P - E - R",
}

#: Units of the regional-mean monthly series of the results variables.
SERIES_UNITS = {
    "sm_shallow": "kg m-2",
    "sm_deep": "kg m-2",
    "pr": "kg m-2 s-1",
    "evspsbl": "kg m-2 s-1",
    "mrros": "kg m-2 s-1",
    "snm": "kg m-2 s-1",
    "pme": "kg m-2 s-1",
    "pmer": "kg m-2 s-1",
}

#: Units of the climatology maps (fluxes are converted to mm per year).
MAP_UNITS = {
    "sm_shallow": "kg m-2",
    "sm_deep": "kg m-2",
    "pr": "mm yr-1",
    "evspsbl": "mm yr-1",
    "mrros": "mm yr-1",
    "pme": "mm yr-1",
    "pmer": "mm yr-1",
}


def variable_label(variable: str) -> str:
    """Human name of a results variable (the name itself if unknown)."""
    return VARIABLE_LABELS.get(variable, variable)
