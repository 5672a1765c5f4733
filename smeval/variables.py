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

#: Units of the climatology maps (CF/udunits). Fluxes are in mm per Julian
#: year (365.25 days, the mean Gregorian year over 1979-2014; udunits' ``yr``
#: is the tropical year, 365.2422 days).
MAP_UNITS = {
    "sm_shallow": "kg m-2",
    "sm_deep": "kg m-2",
    "pr": "mm Julian_year-1",
    "evspsbl": "mm Julian_year-1",
    "mrros": "mm Julian_year-1",
    "pme": "mm Julian_year-1",
    "pmer": "mm Julian_year-1",
}


#: CMOR variable each results variable is made from, whose CF standard_name it
#: keeps (the depth columns are soil water like ``mrsos``; P - E and P - E - R
#: have no standard_name).
CMOR_SOURCES = {
    "sm_shallow": "mrsos",
    "sm_deep": "mrsol",
    "pr": "pr",
    "evspsbl": "evspsbl",
    "mrros": "mrros",
    "snm": "snm",
}


def standard_name(variable: str) -> str | None:
    """CF standard_name of a results variable, from ESMValCore's CMIP6 CMOR tables; None if it has none."""
    source = CMOR_SOURCES.get(variable)
    if source is None:
        return None
    from smeval.cmorio import (
        variable_info,
    )  # ESMValCore's tables, read on first use

    return (
        variable_info("CMIP6", CMOR_TABLES[source], source).standard_name
        or None
    )


def variable_label(variable: str) -> str:
    """Human name of a results variable (the name itself if unknown)."""
    return VARIABLE_LABELS.get(variable, variable)
