"""The evaluation regions (SPEC section 3) and their exact fractional cell weights.

Regions are latitude/longitude boxes, longitudes east positive in
[-180, 180]. On a grid given by cell bounds, the fraction of a cell's area
inside a box is exact on the sphere: cell area is proportional to
``d(lon) * d(sin lat)``, so the fraction is the overlap fraction in longitude
times the overlap fraction in sin(latitude).

The analysis domain excludes Antarctica (south of 60 S) and Greenland, as
the paper does. Greenland is approximated by the boxes in
``GREENLAND_BOXES``; see there for the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Degrees in a full circle of longitude.
FULL_CIRCLE = 360.0
#: Rounding (degrees) up to which bounds 180 degrees apart still count as half a turn.
HALF_TURN_TOL = 1e-9


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box (degrees north, degrees east in [-180, 180]).

    ``lon_min < lon_max``; no box here crosses the antimeridian.
    """

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    def __post_init__(self):
        if not -90 <= self.lat_min < self.lat_max <= 90:
            msg = f"bad latitude range {self.lat_min}..{self.lat_max}"
            raise ValueError(msg)
        if not -180 <= self.lon_min < self.lon_max <= 180:
            msg = f"bad longitude range {self.lon_min}..{self.lon_max}"
            raise ValueError(msg)

    def intersection(self, other: Box) -> Box | None:
        """Return the box common to *self* and *other*, or None if they do not overlap."""
        lat0, lat1 = (
            max(self.lat_min, other.lat_min),
            min(self.lat_max, other.lat_max),
        )
        lon0, lon1 = (
            max(self.lon_min, other.lon_min),
            min(self.lon_max, other.lon_max),
        )
        if lat0 >= lat1 or lon0 >= lon1:
            return None
        return Box(lat0, lat1, lon0, lon1)


@dataclass(frozen=True)
class Region:
    """An evaluation region: SPEC id, long name and its box."""

    id: str
    name: str
    box: Box

    @property
    def hemisphere(self) -> str:
        """``"NH"`` or ``"SH"``: where the box's centre lies.

        Gives the paper's eight Northern Hemisphere regions of Fig. 9 (C-AF
        and NSA, which straddle the equator, count as southern).
        """
        return "NH" if self.box.lat_min + self.box.lat_max > 0 else "SH"


def _region(id_, name, lat_min, lat_max, lon_min, lon_max):
    return Region(id_, name, Box(lat_min, lat_max, lon_min, lon_max))


#: The 13 regions of Qiao et al. (2022), Fig. 1 and SPEC section 3.
REGIONS: tuple[Region, ...] = (
    _region("SIB", "Siberia", 50, 75, 60, 140),
    _region("M-AS", "inland mid-latitude Asia", 38, 50, 60, 112),
    _region("TIB", "Tibetan Plateau", 30, 38, 75, 100),
    _region("L-AS", "low-latitude Asia", 10, 30, 70, 120),
    _region("NA-WA", "North Africa and West Asia", 10, 35, -20, 60),
    _region("EUR", "Europe", 35, 70, -10, 60),
    _region("C-AF", "central Africa", -15, 10, -20, 50),
    _region("S-AF", "southern Africa", -35, -15, 10, 40),
    _region("WNA", "western North America", 20, 60, -125, -98),
    _region("ENA", "eastern North America", 30, 60, -98, -60),
    _region("NSA", "northern South America", -12, 10, -80, -40),
    _region("SSA", "southern South America", -40, -12, -65, -40),
    _region("AUS", "Australia", -40, -10, 112, 155),
)

#: Hemispheres of the Taylor diagrams of Figs. 7-8 (exclusions still apply).
HEMISPHERES: tuple[Region, ...] = (
    _region("NH", "Northern Hemisphere land", 0, 90, -180, 180),
    _region("SH", "Southern Hemisphere land", -90, 0, -180, 180),
)

#: The Northern-Hemisphere regions (Fig. 9), in the order of :data:`REGIONS`.
NH_REGIONS = tuple(r.id for r in REGIONS if r.box.lat_min >= 0)

#: Ids of the hemispheres, shown after the regions in tables and Taylor diagrams.
HEMISPHERE_IDS = tuple(r.id for r in HEMISPHERES)

#: Every region the diagnostics evaluate, in output order.
ALL_REGIONS: tuple[Region, ...] = REGIONS + HEMISPHERES

#: Antarctica: everything south of 60 S (SPEC section 3).
ANTARCTICA_BOX = Box(-90, -60, -180, 180)

#: Greenland as five latitude bands, each a box following the coast. Boxes
#: rather than a coastline polygon because (i) fractions of boxes in cells are
#: exact and cheap on any grid, (ii) on the 1.125 degree analysis grid a finer
#: outline changes only a handful of coastal cells. The bands were drawn to
#: cover the main island (59.8 N-83.7 N, 73 W-11 W) while keeping out the
#: neighbours across the straits: Baffin Island (Davis Strait, west of
#: ~61 W at 66-68 N), Ellesmere Island (Nares Strait, west of ~68 W at
#: 78-81 N and ~62 W beyond), Iceland (east of 24.5 W, south of 66.6 N) and
#: Svalbard/Jan Mayen (east of 9 W). Known misses, each well under one grid
#: cell wide: a sliver of Inglefield Land (78-79 N, 68-73 W) and of
#: Washington Land (80-81 N, 62-66 W); at Robeson Channel (81-82.5 N,
#: 61-62 W) the two islands are closer than a grid cell and the box follows
#: Greenland's coast, taking in a sliver of north-east Ellesmere.
GREENLAND_BOXES: tuple[Box, ...] = (
    Box(59.5, 67.0, -56.0, -30.0),
    Box(67.0, 72.0, -58.0, -20.0),
    Box(72.0, 78.0, -73.0, -17.0),
    Box(78.0, 81.0, -68.0, -12.0),
    Box(81.0, 84.0, -62.0, -10.0),
)

#: All excluded boxes; they are pairwise disjoint, so their fractions add.
EXCLUDED_BOXES: tuple[Box, ...] = (ANTARCTICA_BOX, *GREENLAND_BOXES)

_BY_ID = {r.id: r for r in ALL_REGIONS}


def get_region(region_id: str) -> Region:
    """Return the region with SPEC id *region_id* (e.g. ``"TIB"``, ``"NH"``)."""
    try:
        return _BY_ID[region_id]
    except KeyError:
        msg = f"unknown region {region_id!r}; known: {', '.join(_BY_ID)}"
        raise KeyError(msg) from None


def _lat_fraction(lat_bounds, lat_min, lat_max) -> np.ndarray:
    """Fraction of each latitude band's area between *lat_min* and *lat_max*.

    Area on the sphere between two latitudes is proportional to the
    difference of their sines.
    """
    lb = np.sort(
        np.clip(np.asarray(lat_bounds, dtype=np.float64), -90, 90), axis=-1
    )
    s = np.sin(np.deg2rad(lb))
    lo = np.sin(np.deg2rad(lat_min))
    hi = np.sin(np.deg2rad(lat_max))
    overlap = np.clip(
        np.minimum(s[:, 1], hi) - np.maximum(s[:, 0], lo), 0.0, None
    )
    width = s[:, 1] - s[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(width > 0, overlap / width, 0.0)


def lon_arcs(lon_bounds) -> tuple[np.ndarray, np.ndarray]:
    """Western edge and eastward width (degrees) of each longitude band.

    Works for cell bounds in 0..360 or -180..180, in either order, and for
    cells that cross 0 or 180: a cell is the shorter arc between its two
    bounds (every real grid cell is narrower than 180 degrees), except that
    bounds a whole turn apart make a full circle. A cell half a turn wide
    (two columns) runs east from its first bound, also when rounding makes
    its bounds a hair more than 180 degrees apart.

    Returns
    -------
    start : numpy.ndarray, shape (n_lon,)
        Western edge (degrees east, in [-180, 180)).
    width : numpy.ndarray, shape (n_lon,)
        Width (degrees), in (0, 360].
    """
    lb = np.asarray(lon_bounds, dtype=np.float64)
    d = np.mod(lb[:, 1] - lb[:, 0], FULL_CIRCLE)
    east_from_first = d <= FULL_CIRCLE / 2 + HALF_TURN_TOL
    start = np.where(east_from_first, lb[:, 0], lb[:, 1])
    width = np.where(east_from_first, d, FULL_CIRCLE - d)
    full_turn = (d == 0) & (lb[:, 1] != lb[:, 0])
    width = np.where(full_turn, FULL_CIRCLE, width)
    return np.mod(start + 180.0, FULL_CIRCLE) - 180.0, width


def _lon_fraction(lon_bounds, lon_min, lon_max) -> np.ndarray:
    """Fraction of each longitude band between *lon_min* and *lon_max* (deg E).

    The cell's arc (:func:`lon_arcs`) is compared with every copy of the box
    shifted by whole turns, so any longitude convention works.
    """
    start, width = lon_arcs(lon_bounds)
    # An arc spans at most a turn, the box too, so shifts of -2..2 turns
    # relative to the wrapped start cover every possible overlap.
    shifts = FULL_CIRCLE * np.arange(-2, 3)[:, None]
    lo = np.maximum(start[None, :], lon_min + shifts)
    hi = np.minimum((start + width)[None, :], lon_max + shifts)
    overlap = np.clip(hi - lo, 0.0, None).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(width > 0, np.minimum(overlap / width, 1.0), 0.0)


def box_fraction(lat_bounds, lon_bounds, box: Box) -> np.ndarray:
    """Fraction of each grid cell's area inside *box* (dimensionless, 0..1).

    Parameters
    ----------
    lat_bounds : array_like, shape (n_lat, 2)
        Latitude bounds of the grid rows (degrees north), either order.
    lon_bounds : array_like, shape (n_lon, 2)
        Longitude bounds of the grid columns (degrees east), 0..360 or
        -180..180.
    box : Box

    Returns
    -------
    numpy.ndarray, shape (n_lat, n_lon)
    """
    return np.outer(
        _lat_fraction(lat_bounds, box.lat_min, box.lat_max),
        _lon_fraction(lon_bounds, box.lon_min, box.lon_max),
    )


def excluded_fraction(
    lat_bounds, lon_bounds, within: Box | None = None
) -> np.ndarray:
    """Fraction of each cell's area in Antarctica or Greenland (0..1).

    Parameters
    ----------
    lat_bounds, lon_bounds : array_like
        Cell bounds (degrees), see :func:`box_fraction`.
    within : Box, optional
        Count only the excluded area that also lies inside this box.

    Returns
    -------
    numpy.ndarray, shape (n_lat, n_lon)
    """
    total = np.zeros((len(lat_bounds), len(lon_bounds)))
    for ex in EXCLUDED_BOXES:
        part = ex if within is None else within.intersection(ex)
        if part is not None:
            total += box_fraction(lat_bounds, lon_bounds, part)
    return total


def domain_fraction(lat_bounds, lon_bounds) -> np.ndarray:
    """Fraction of each cell's area inside the analysis domain (0..1).

    The domain is the globe without Antarctica (south of 60 S) and
    Greenland (``GREENLAND_BOXES``). Multiply by land fraction for land.
    """
    return np.clip(1.0 - excluded_fraction(lat_bounds, lon_bounds), 0.0, 1.0)


def region_weights(
    lat_bounds, lon_bounds, region, exclude: bool = True
) -> np.ndarray:
    """Fraction of each grid cell's area inside *region* (0..1).

    Parameters
    ----------
    lat_bounds : array_like, shape (n_lat, 2)
        Latitude bounds (degrees north); rows may run north-to-south.
    lon_bounds : array_like, shape (n_lon, 2)
        Longitude bounds (degrees east), 0..360 or -180..180.
    region : Region or str
        A region or its SPEC id.
    exclude : bool, default True
        Remove the area of Antarctica and Greenland from the region. Exact,
        since the intersection of two boxes is a box.

    Returns
    -------
    numpy.ndarray, shape (n_lat, n_lon)
        Area fraction; multiply by cell area and land fraction to weight.
    """
    if isinstance(region, str):
        region = get_region(region)
    frac = box_fraction(lat_bounds, lon_bounds, region.box)
    if exclude:
        frac = frac - excluded_fraction(
            lat_bounds, lon_bounds, within=region.box
        )
    # Subtraction of fractions can leave -1e-17 where the two are equal.
    return np.clip(frac, 0.0, 1.0)
