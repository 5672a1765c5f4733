"""Provenance records of smeval's outputs (ESMValTool conventions).

Tags must exist in ``config-references.yml`` and every reference needs a
``references/<key>.bibtex``; ESMValCore refuses the run otherwise.
"""

from __future__ import annotations

from typing import Any

#: Authors of every smeval output.
AUTHORS = ["smeval_team"]
#: Citation of the method.
METHOD_REFERENCES = ["qiao22jcli"]
#: Citation of each reference data set (by dataset name).
DATASET_REFERENCES = {
    "ERA5": "hersbach20qjrms",
    "ERA-Interim": "dee11qjrms",
    "GLDAS-NOAH": "rodell04bams",
    "GLDAS": "rodell04bams",
    "ESACCI-SM": "dorigo17rse",
}


def period(meta: dict[str, Any]) -> str:
    """'1979-2014' style period of a metadata record."""
    if meta.get("timerange"):
        start, end = str(meta["timerange"]).split("/")
        return f"{start[:4]}-{end[:4]}"
    return f"{meta.get('start_year')}-{meta.get('end_year')}"


def grid_spacing(cube) -> str:
    """Latitude spacing of a map field as captions name it, degrees (``"1.125"`` on the common grid).

    Read from the field itself, so a caption names the grid the map is on
    whatever ``target_grid`` the recipe chose.
    """
    lat = cube.coord("latitude")
    width = (
        lat.bounds[0, 1] - lat.bounds[0, 0]
        if lat.has_bounds()
        else lat.points[1] - lat.points[0]
    )
    return f"{abs(float(width)):g}"


def references_for(datasets) -> list[str]:
    """Return method reference plus the references of the data sets used."""
    refs = list(METHOD_REFERENCES)
    refs += sorted(
        {DATASET_REFERENCES[d] for d in datasets if d in DATASET_REFERENCES}
    )
    return refs


def record(
    caption: str,
    ancestors,
    datasets=(),
    *,
    domains=("reg",),
    themes=("phys",),
    statistics=(),
    plot_type: str | None = None,
    extra_references=(),
    **smeval_keys: Any,
) -> dict[str, Any]:
    """Return a provenance record of an smeval output (tags of config-references.yml).

    ``datasets`` name the data sets used (their references are added to the
    method's); ``smeval_keys`` are extra attributes such as ``figure``.
    """
    out: dict[str, Any] = {
        "caption": caption,
        "ancestors": sorted({str(a) for a in ancestors}),
        "authors": list(AUTHORS),
        "references": references_for(datasets) + list(extra_references),
        "domains": list(domains),
        "realms": ["land"],
        "themes": list(themes),
    }
    if statistics:
        out["statistics"] = list(statistics)
    if plot_type:
        out["plot_types"] = [plot_type]
    out.update(smeval_keys)
    return out


def series_record(
    meta: dict[str, Any], ancestor: str, region_ids
) -> dict[str, Any]:
    """Provenance of a file of regional-mean series of one data set."""
    member = f" member {meta['ensemble']}" if meta.get("ensemble") else ""
    caption = (
        f"Area-weighted regional-mean monthly {meta.get('long_name', meta['short_name'])} "
        f"({meta['short_name']}, {meta.get('units', '')}) of {meta['dataset']}{member}, "
        f"{period(meta)}, land only, over the regions {', '.join(region_ids)} "
        "(Qiao et al. 2022, Fig. 1)."
    )
    return record(caption, [ancestor], [meta["dataset"]], statistics=["mean"])
