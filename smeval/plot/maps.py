"""Maps: regions, climatologies, bias ratios and correlation with P - E.

The regions (Fig. 1), climatologies and bias ratios (Figs. 2-4),
correlation with P - E (Fig. 11).

Coastlines come from the Natural Earth shapefiles ESMValCore ships for its
land/sea masks, read once, simplified and cached: nothing is downloaded
(``ax.coastlines()`` would fetch from the network, so it is never called).

A field is ``(lat, lon, data)`` with 1-D cell-centre coordinates in degrees
(longitudes in 0..360 or -180..180) and a 2-D ``data[lat, lon]`` with NaN or
a mask where there is no value; an iris cube with ``latitude`` and
``longitude`` coordinates is accepted too.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import matplotlib as mpl
import numpy as np

from smeval import defaults
from smeval.core.regions import REGIONS

from .style import RC, new_figure, savefig, units_label

#: Map extent (lon_min, lon_max, lat_min, lat_max): land without Antarctica.
EXTENT = (-180.0, 180.0, -60.0, 90.0)
#: Simplification tolerance of the 10 m land polygons (degrees).
SIMPLIFY_DEG = 0.1
#: Colour of land where a field has no value.
MISSING_LAND = "#d9d9d9"


def natural_earth_dir() -> Path:
    """Folder of ESMValCore's Natural Earth shapefiles (``ne_masks``)."""
    spec = importlib.util.find_spec("esmvalcore")
    if spec is None or not spec.submodule_search_locations:
        msg = "esmvalcore is not installed: no Natural Earth shapefiles"
        raise FileNotFoundError(msg)
    return (
        Path(next(iter(spec.submodule_search_locations)))
        / "preprocessor"
        / "ne_masks"
    )


@cache
def land_geometries(tolerance: float = SIMPLIFY_DEG) -> tuple:
    """Return the Natural Earth 10 m land polygons, simplified (shapely, degrees)."""
    from cartopy.io.shapereader import Reader

    reader = Reader(str(natural_earth_dir() / "ne_10m_land.shp"))
    try:
        geoms = []
        for geom in reader.geometries():
            simple = geom.simplify(tolerance, preserve_topology=True)
            if not simple.is_empty and simple.area > tolerance**2:
                geoms.append(simple)
    finally:
        reader.close()
    return tuple(geoms)


def coastlines(
    ax, linewidth: float = 0.4, color: str = "black", zorder: float = 4
):
    """Draw land outlines on a cartopy GeoAxes (no network access)."""
    import cartopy.crs as ccrs

    ax.add_geometries(
        land_geometries(),
        ccrs.PlateCarree(),
        facecolor="none",
        edgecolor=color,
        linewidth=linewidth,
        zorder=zorder,
    )


def land_background(ax, color: str = MISSING_LAND):
    """Fill land in grey below the field, so masked land cells read as 'no value'."""
    import cartopy.crs as ccrs

    ax.add_geometries(
        land_geometries(),
        ccrs.PlateCarree(),
        facecolor=color,
        edgecolor="none",
        zorder=0,
    )


def region_outlines(
    ax,
    regions=REGIONS,
    labels: bool = False,
    linewidth: float = 0.6,
    color: str = "black",
    fontsize: float = 7,
):
    """Draw the region boxes (thin lines); optionally their ids at the centre."""
    import cartopy.crs as ccrs

    pc = ccrs.PlateCarree()
    texts = []
    for region in regions:
        b = region.box
        # Densify edges so boxes follow parallels in curved projections.
        lon = np.r_[
            np.linspace(b.lon_min, b.lon_max, 30),
            np.full(30, b.lon_max),
            np.linspace(b.lon_max, b.lon_min, 30),
            np.full(30, b.lon_min),
        ]
        lat = np.r_[
            np.full(30, b.lat_min),
            np.linspace(b.lat_min, b.lat_max, 30),
            np.full(30, b.lat_max),
            np.linspace(b.lat_max, b.lat_min, 30),
        ]
        ax.plot(
            lon, lat, transform=pc, color=color, linewidth=linewidth, zorder=5
        )
        if labels:
            texts.append(_region_label(ax, region, pc, fontsize))
    return texts


# Label positions (lon, lat) where the box centre would collide with another
# box's label (overlapping boxes EUR / NA-WA / M-AS share corners).
_LABEL_AT = {
    "EUR": (25.0, 55.0),
    "NA-WA": (10.0, 22.0),
    "M-AS": (86.0, 44.0),
    "TIB": (87.5, 34.0),
    "L-AS": (95.0, 20.0),
    "SIB": (100.0, 62.5),
}


def _region_label(ax, region, pc, fontsize):
    b = region.box
    lon, lat = _LABEL_AT.get(
        region.id, ((b.lon_min + b.lon_max) / 2, (b.lat_min + b.lat_max) / 2)
    )
    return ax.text(
        lon,
        lat,
        region.id,
        transform=pc,
        ha="center",
        va="center",
        fontsize=fontsize,
        fontweight="bold",
        zorder=6,
        bbox={
            "boxstyle": "round,pad=0.15",
            "fc": "white",
            "ec": "none",
            "alpha": 0.8,
        },
    )


def _projection(name: str):
    import cartopy.crs as ccrs

    if name.lower() in ("platecarree", "plate_carree", "pc"):
        return ccrs.PlateCarree()
    if name.lower() == "robinson":
        return ccrs.Robinson()
    msg = f"unknown projection {name!r}; use 'platecarree' or 'robinson'"
    raise ValueError(msg)


def _gridlines(ax, left: bool, bottom: bool):
    import cartopy.crs as ccrs

    if not isinstance(ax.projection, ccrs.PlateCarree):
        ax.gridlines(linewidth=0.3, color="grey", alpha=0.5, linestyle=":")
        return
    from cartopy.mpl.ticker import LatitudeFormatter, LongitudeFormatter

    # No ticks at +-180: neighbouring panels' labels would touch.
    ax.set_xticks(np.arange(-120, 121, 60), crs=ccrs.PlateCarree())
    ax.set_yticks(np.arange(-60, 91, 30), crs=ccrs.PlateCarree())
    ax.xaxis.set_major_formatter(LongitudeFormatter())
    ax.yaxis.set_major_formatter(LatitudeFormatter())
    ax.tick_params(length=2, labelsize=6, labelleft=left, labelbottom=bottom)


def as_field(obj):
    """``(lat, lon, data)`` as float arrays from a tuple or an iris cube.

    Longitudes are wrapped to [-180, 180) and sorted; masked values become NaN.
    """
    if hasattr(obj, "coord") and hasattr(obj, "data"):  # iris cube
        lat = obj.coord("latitude").points
        lon = obj.coord("longitude").points
        data = obj.data
        if (
            obj.coord_dims(obj.coord("latitude"))[0]
            > obj.coord_dims(obj.coord("longitude"))[0]
        ):
            data = (
                np.ma.swapaxes(data, 0, 1)
                if np.ma.isMaskedArray(data)
                else data.T
            )
    else:
        lat, lon, data = obj
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    data = np.ma.filled(np.ma.asarray(data, dtype=float), np.nan)
    if data.shape != (lat.size, lon.size):
        msg = f"field of shape {data.shape} does not match lat {lat.size} x lon {lon.size}"
        raise ValueError(msg)
    lon = np.mod(lon + 180.0, 360.0) - 180.0
    order = np.argsort(lon, kind="stable")
    return lat, lon[order], data[:, order]


def _edges(centres):
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.r_[c[0] - (mid[0] - c[0]), mid, c[-1] + (c[-1] - mid[-1])]


def _norm(levels, cmap, extend):
    from matplotlib.colors import BoundaryNorm

    return BoundaryNorm(
        np.asarray(levels, dtype=float), ncolors=cmap.N, extend=extend
    )


def auto_levels(fields, symmetric: bool = False, n: int = 10):
    """Round colour levels spanning the 2nd-98th percentiles of *fields*."""
    from matplotlib.ticker import MaxNLocator

    values = np.concatenate([np.ravel(as_field(f)[2]) for f in fields])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.linspace(0, 1, n + 1)
    lo, hi = np.percentile(values, [2, 98])
    if symmetric:
        hi = max(abs(lo), abs(hi)) or 1.0
        lo = -hi
    if hi <= lo:
        hi = lo + 1.0
    return MaxNLocator(n, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)


def map_panel(ax, field, cmap, norm, outlines: bool = True):
    """Draw one field on GeoAxes *ax*; return the QuadMesh for a colour bar."""
    import cartopy.crs as ccrs

    lat, lon, data = as_field(field)
    ax.set_extent(EXTENT, crs=ccrs.PlateCarree())
    land_background(ax)
    mesh = ax.pcolormesh(
        _edges(lon),
        np.clip(_edges(lat), -90, 90),
        np.ma.masked_invalid(data),
        cmap=cmap,
        norm=norm,
        transform=ccrs.PlateCarree(),
        zorder=1,
        rasterized=True,
    )
    coastlines(ax)
    if outlines:
        region_outlines(ax, linewidth=0.5)
    return mesh


def _map_axes(
    fig,
    nrows,
    ncols,
    projection,
    colorbar_row: bool = False,
    wspace: float = 0.06,
):
    """Return rows x columns of GeoAxes and their gridspec.

    With *colorbar_row*, the gridspec's last (thin) row holds the colour bars
    (see :func:`_cax`).
    """
    proj = _projection(projection)
    if colorbar_row:
        # Manual spacing: constrained layout collapses a row this thin. The
        # colour bar's labels hang below the figure's bottom edge and are
        # kept by savefig(bbox_inches="tight").
        gs = fig.add_gridspec(
            nrows + 1,
            ncols,
            height_ratios=[1.0] * nrows + [0.06],
            hspace=0.28,
            wspace=wspace,
            left=0.05,
            right=0.98,
            bottom=0.04,
            top=0.94,
        )
    else:
        gs = fig.add_gridspec(nrows, ncols)
    axes = [
        [fig.add_subplot(gs[i, j], projection=proj) for j in range(ncols)]
        for i in range(nrows)
    ]
    return (axes, gs) if colorbar_row else axes


def _cax(fig, gs, columns: slice, fraction: float = 0.75):
    """Return a colour-bar axes in the last gridspec row under *columns*.

    Centred, *fraction* of their width.
    """
    margin = (1.0 - fraction) / 2
    sub = gs[gs.nrows - 1, columns].subgridspec(
        1, 3, width_ratios=[margin, fraction, margin]
    )
    return fig.add_subplot(sub[0, 1])


def _panel_letter(i: int) -> str:
    return f"({chr(ord('a') + i)})"


def plot_regions(out_stem, projection: str = "platecarree") -> list[Path]:
    """Fig. 1: the 13 SPEC regions as boxes labelled with their ids.

    Returns the PNG and PDF paths.
    """
    with mpl.rc_context(RC):
        fig = new_figure(8.0, 4.0)
        ax = _map_axes(fig, 1, 1, projection)[0][0]
        import cartopy.crs as ccrs

        ax.set_extent(EXTENT, crs=ccrs.PlateCarree())
        ax.add_geometries(
            land_geometries(),
            ccrs.PlateCarree(),
            facecolor="#f0ead6",
            edgecolor="black",
            linewidth=0.4,
            zorder=0,
        )
        region_outlines(
            ax, labels=True, linewidth=1.0, color="#b2182b", fontsize=7
        )
        _gridlines(ax, True, True)
        ax.set_title(
            "Evaluation regions (Qiao et al. 2022, Fig. 1); "
            "land south of 60$^\\circ$S and Greenland excluded"
        )
        return savefig(fig, out_stem, pdf=True)


def _colorbar(fig, mesh, cax, units, label=None, extend="both"):
    cb = fig.colorbar(mesh, cax=cax, orientation="horizontal", extend=extend)
    boundaries = np.asarray(mesh.norm.boundaries)
    if boundaries.size <= 12:
        cb.set_ticks(boundaries)
    cb.set_label(label or units_label(units))
    cb.ax.tick_params(labelsize=7)
    return cb


def plot_field_panels(
    fields: dict,
    title: str,
    units: str,
    cmap,
    levels,
    out_stem,
    region_outlines: bool = True,
    ncols: int = 1,
    projection: str = "platecarree",
    extend: str = "both",
    colorbar_label: str | None = None,
    pdf: bool = False,
) -> list[Path]:
    """Return maps of several fields with one colour scale (e.g. Fig. 2a, 2b, 11 without stippling).

    Parameters
    ----------
    fields : dict[str, field]
        Panel title -> ``(lat, lon, data)`` or iris cube, drawn in dict order.
    title : str
        Figure title: say variable, period and reference(s).
    units : str
        CF units of the data (``"kg m-2"``, ``"mm yr-1"``, ``"1"``), shown on
        the colour bar.
    cmap : str or Colormap
        Sequential for climatologies, diverging for bias ratios.
    levels : sequence of float or None
        Colour boundaries; None chooses round levels from the data
        (symmetric about zero if *cmap* is one of matplotlib's diverging maps).
    out_stem : path
        Output path without extension.
    region_outlines : bool
        Draw the 13 region boxes.
    ncols : int
        Panels per row.

    Returns
    -------
    list of Path
    """
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    if levels is None:
        levels = auto_levels(fields.values(), symmetric=_is_diverging(cmap))
    n = len(fields)
    nrows = -(-n // ncols)
    with mpl.rc_context(RC):
        fig = new_figure(4.2 * ncols, 2.3 * nrows + 0.8)
        axes, gs = _map_axes(fig, nrows, ncols, projection, colorbar_row=True)
        flat = [a for row in axes for a in row]
        norm = _norm(levels, cmap, extend)
        mesh = None
        for k, (ax, (name, field)) in enumerate(
            zip(flat[:n], fields.items(), strict=True)
        ):
            mesh = map_panel(ax, field, cmap, norm, outlines=region_outlines)
            ax.set_title(f"{_panel_letter(k)} {name}", loc="left")
            _gridlines(ax, left=k % ncols == 0, bottom=k >= n - ncols)
        for ax in flat[n:]:
            ax.set_visible(False)
        _colorbar(
            fig,
            mesh,
            _cax(fig, gs, slice(0, ncols), 0.7 if ncols > 1 else 0.85),
            units,
            colorbar_label,
            extend,
        )
        fig.suptitle(title)
        return savefig(fig, out_stem, pdf=pdf)


def _is_diverging(cmap) -> bool:
    return cmap.name.removesuffix("_r") in {
        "PiYG",
        "PRGn",
        "BrBG",
        "PuOr",
        "RdGy",
        "RdBu",
        "RdYlBu",
        "RdYlGn",
        "Spectral",
        "coolwarm",
        "bwr",
        "seismic",
        "vlag",
        "icefire",
    }


#: Default colour boundaries of bias ratios (dimensionless).
BIAS_LEVELS = np.round(np.arange(-1.0, 1.01, 0.2), 10)


def plot_climatology_bias(
    climatology: dict,
    bias: dict,
    variable: str,
    units: str,
    out_stem,
    period: str = defaults.PERIOD,
    clim_levels=None,
    bias_levels=BIAS_LEVELS,
    clim_cmap="YlGnBu",
    bias_cmap="BrBG",
    projection: str = "platecarree",
) -> list[Path]:
    """Figs. 2-3: (a) annual-mean climatologies, (b) bias ratios of the MMEM.

    Parameters
    ----------
    climatology : dict[str, field]
        Data set -> climatology (e.g. ERA5, ERA-Interim, GLDAS-NOAH, CMIP6-MMEM).
    bias : dict[str, field]
        Reference -> (MMEM - reference) / MMEM (dimensionless).
    variable : str
        Human name used in titles, e.g. ``"shallow soil moisture (0-10 cm)"``.
    units : str
        Units of the climatologies (e.g. ``"kg m-2"``).

    Left column: climatologies with a sequential scale; right column: bias
    ratios on a symmetric diverging scale (default -1..1, extended both ways).
    """
    clim_cmap = (
        mpl.colormaps[clim_cmap] if isinstance(clim_cmap, str) else clim_cmap
    )
    bias_cmap = (
        mpl.colormaps[bias_cmap] if isinstance(bias_cmap, str) else bias_cmap
    )
    if clim_levels is None:
        clim_levels = auto_levels(climatology.values())
    nrows = max(len(climatology), len(bias))
    with mpl.rc_context(RC):
        fig = new_figure(8.6, 2.1 * nrows + 1.0)
        axes, gs = _map_axes(fig, nrows, 2, projection, colorbar_row=True)
        cnorm = _norm(clim_levels, clim_cmap, "max")
        bnorm = _norm(bias_levels, bias_cmap, "both")
        left, right = [r[0] for r in axes], [r[1] for r in axes]
        mesh_c = mesh_b = None
        for i, (name, field) in enumerate(climatology.items()):
            mesh_c = map_panel(left[i], field, clim_cmap, cnorm)
            left[i].set_title(f"(a{i + 1}) {name}", loc="left")
        for i, (ref, field) in enumerate(bias.items()):
            mesh_b = map_panel(right[i], field, bias_cmap, bnorm)
            right[i].set_title(
                f"(b{i + 1}) (CMIP6-MMEM $-$ {ref}) / CMIP6-MMEM", loc="left"
            )
        _two_column_gridlines(left, right, len(climatology), len(bias))
        _climatology_bias_colorbars(
            fig,
            gs,
            mesh_c,
            mesh_b,
            f"{variable} ({units_label(units)})",
            units,
        )
        fig.suptitle(
            f"Annual-mean {variable}, {period}: (a) climatology, "
            f"(b) bias ratio of CMIP6-MMEM against each reanalysis"
        )
        return savefig(fig, out_stem)


def _two_column_gridlines(left, right, n_left: int, n_right: int):
    """Draw the gridlines of the used panels of two columns (latitudes on the left, longitudes at each bottom); hide the rest."""
    for col, used in ((left, n_left), (right, n_right)):
        for i, ax in enumerate(col):
            if i >= used:
                ax.set_visible(False)
            else:
                _gridlines(ax, left=col is left, bottom=i == used - 1)


def _climatology_bias_colorbars(fig, gs, mesh_c, mesh_b, clim_label, units):
    """Add the colour bars under the climatologies (extended above) and the bias ratios, for the columns drawn."""
    if mesh_c is not None:
        _colorbar(
            fig,
            mesh_c,
            _cax(fig, gs, slice(0, 1), 0.85),
            units,
            clim_label,
            "max",
        )
    if mesh_b is not None:
        _colorbar(
            fig,
            mesh_b,
            _cax(fig, gs, slice(1, 2), 0.85),
            "1",
            "bias ratio (1)",
            "both",
        )


def plot_flux_maps(
    climatology: dict,
    bias: dict,
    units: dict | str,
    out_stem,
    period: str = defaults.PERIOD,
    dataset: str = "CMIP6-MMEM",
    clim_levels: dict | None = None,
    bias_levels=BIAS_LEVELS,
    projection: str = "platecarree",
) -> list[Path]:
    """Fig. 4: water-budget climatologies and their bias ratios.

    Parameters
    ----------
    climatology : dict[str, field]
        Variable label (e.g. ``"P"``, ``"E"``, ``"runoff"``, ``"P - E"``,
        ``"P - E - R"``) -> climatology of *dataset* (mm yr-1). One row each.
    bias : dict[str, dict[str, field]]
        Variable label -> {reference -> bias ratio}; the references are the
        columns (b), (c), (d).
    units : str or dict[str, str]
        Units of the climatologies (default mm yr-1), per variable if a dict.
    clim_levels : dict[str, levels], optional
        Colour levels per variable (P - E is drawn on a diverging scale).
    """
    refs = list(dict.fromkeys(r for per in bias.values() for r in per))
    variables = list(dict.fromkeys(list(climatology) + list(bias)))
    nrows, ncols = len(variables), 1 + len(refs)
    bias_cmap = mpl.colormaps["BrBG"]
    with mpl.rc_context(RC):
        fig = new_figure(3.3 * ncols + 0.6, 1.75 * nrows + 1.0)
        axes, gs = _map_axes(
            fig, nrows, ncols, projection, colorbar_row=True, wspace=0.22
        )
        bnorm = _norm(bias_levels, bias_cmap, "both")
        mesh_b = None
        for i, var in enumerate(variables):
            if var in climatology:
                _flux_climatology_panel(
                    fig,
                    axes[i][0],
                    var,
                    climatology[var],
                    units,
                    (clim_levels or {}).get(var),
                    dataset,
                )
            else:
                axes[i][0].set_visible(False)
            mesh = _flux_bias_row(
                axes[i][1:], var, bias.get(var, {}), refs, bias_cmap, bnorm
            )
            mesh_b = mesh if mesh is not None else mesh_b
            for j in range(ncols):
                _gridlines(axes[i][j], left=j == 0, bottom=i == nrows - 1)
        if mesh_b is not None:
            _colorbar(
                fig,
                mesh_b,
                _cax(fig, gs, slice(1, ncols), 0.7),
                "1",
                "bias ratio (CMIP6-MMEM $-$ reanalysis) / CMIP6-MMEM (1)",
                "both",
            )
        fig.suptitle(
            f"Annual-mean water budget, {period}: (a) {dataset} climatology; "
            f"(b)-({chr(ord('a') + ncols - 1)}) bias ratio against "
            + ", ".join(refs)
        )
        return savefig(fig, out_stem)


def _flux_climatology_panel(fig, ax, var, field, units, levels, dataset):
    """Draw the climatology of flux *var* (column a of Fig. 4) with its own colour bar.

    *units* is a string, or a dict variable -> units (default mm yr-1).
    P - E and P - E - R are drawn on a diverging scale; *levels* None
    chooses round levels from the field.
    """
    diverging = "-" in var or var.lower() in ("pme", "pmer")
    cmap = mpl.colormaps["BrBG" if diverging else "YlGnBu"]
    if levels is None:
        levels = auto_levels([field], symmetric=diverging, n=8)
    mesh = map_panel(ax, field, cmap, _norm(levels, cmap, "both"))
    # An inset colour bar keeps this panel as large as the others.
    cb = fig.colorbar(
        mesh,
        cax=ax.inset_axes([1.02, 0.05, 0.03, 0.9]),
        orientation="vertical",
        extend="both",
    )
    own = units.get(var, "mm yr-1") if isinstance(units, dict) else units
    cb.set_label(units_label(own), fontsize=6)
    cb.ax.tick_params(labelsize=5)
    ax.set_title(f"(a) {var}, {dataset}", loc="left", fontsize=7)


def _flux_bias_row(axes, var, bias, refs, cmap, norm):
    """Draw the bias ratios of *var* against each of *refs* (columns b, c, ... of Fig. 4).

    *bias* maps reference -> field; the panel of a reference without one is
    hidden. Returns the last mesh drawn, or None.
    """
    mesh = None
    for j, (ax, ref) in enumerate(zip(axes, refs, strict=True), start=1):
        field = bias.get(ref)
        if field is None:
            ax.set_visible(False)
            continue
        mesh = map_panel(ax, field, cmap, norm)
        ax.set_title(
            f"({chr(ord('a') + j)}) {var}, vs {ref}",
            loc="left",
            fontsize=7,
        )
    return mesh


def plot_correlation_maps(
    correlation: dict,
    significant: dict,
    out_stem,
    period: str = defaults.PERIOD,
    levels=None,
    stipple_every: int = 2,
    projection: str = "platecarree",
    title: str | None = None,
) -> list[Path]:
    """Fig. 11: correlation of shallow soil moisture with P - E, with stippling.

    Parameters
    ----------
    correlation : dict[str, field]
        Data set (ERA5, GLDAS-NOAH, CMIP6-MMEM) -> Pearson R (dimensionless).
    significant : dict[str, field]
        Data set -> boolean (or 0/1) field, True where R passes the 95 % test.
    stipple_every : int
        Stipple every n-th significant cell in each direction (2 keeps dots
        legible on the 1.125 degree grid; 1 marks every cell).

    The stipple dots are one scatter collection per panel with ``gid``
    ``"significance"``; their offsets are the (lon, lat) cell centres.
    """
    import cartopy.crs as ccrs

    cmap = mpl.colormaps["RdBu_r"]
    levels = (
        np.round(np.arange(-1.0, 1.01, 0.1), 10) if levels is None else levels
    )
    n = len(correlation)
    with mpl.rc_context(RC):
        fig = new_figure(5.5, 2.6 * n + 0.8)
        grid, gs = _map_axes(fig, n, 1, projection, colorbar_row=True)
        axes = [row[0] for row in grid]
        norm = _norm(levels, cmap, "neither")
        mesh = None
        for k, (ax, (name, field)) in enumerate(
            zip(axes, correlation.items(), strict=True)
        ):
            mesh = map_panel(ax, field, cmap, norm, outlines=False)
            if name in significant:
                lat, lon, sig = as_field(significant[name])
                sig = np.nan_to_num(sig) > 0.5
                sel = np.zeros_like(sig)
                sel[::stipple_every, ::stipple_every] = True
                ii, jj = np.nonzero(sig & sel)
                ax.scatter(
                    lon[jj],
                    lat[ii],
                    s=0.4,
                    c="black",
                    marker=".",
                    linewidths=0,
                    transform=ccrs.PlateCarree(),
                    zorder=3,
                    gid="significance",
                )
            ax.set_title(f"{_panel_letter(k)} {name}", loc="left")
            _gridlines(ax, left=True, bottom=k == n - 1)
        _colorbar(
            fig,
            mesh,
            _cax(fig, gs, slice(0, 1), 0.85),
            "1",
            "correlation coefficient R (1)",
            "neither",
        )
        fig.suptitle(
            title
            or f"Correlation of monthly shallow soil moisture with P $-$ E, "
            f"{period}; dots: significant at the 95 % level"
        )
        return savefig(fig, out_stem)
