"""Synthetic climate and soil water of the sample archive (pure numpy).

One *world* per run: a regular latitude-longitude grid (1 degree by default)
with Earth's land fraction rasterised from the Natural Earth shapefiles that
ESMValCore ships, and analytic climatologies of precipitation, temperature
and potential evaporation with the structures that matter for the paper:

- an ITCZ that migrates from about 12 S (February) to 16 N (August),
  the Asian, Australian and South American monsoons,
- Mediterranean (and Californian) winter rain and dry summers,
- arid Sahara/Arabia, Australian interior, Kalahari, central Asia and the
  south-western United States; wet Amazon, Congo and Maritime Continent,
- storm tracks near 48 degrees with winter maxima near coasts and summer
  maxima in continental interiors,
- a cold Tibetan Plateau, continental temperature ranges of 40-50 K in
  Siberia, a mild Europe.

Interannual variability: an ENSO-like AR(1) index (lag-1 0.93 per month)
with teleconnection patterns (dry Australia, Indonesia, Amazon and southern
Africa, wet south-eastern South America and southern United States during
positive phases), plus spatially smooth multiplicative weather noise. Every
data set (each model member, each reanalysis) draws its own weather except
that the reanalyses share the "observed" one.

:func:`run_bucket` is a four-layer soil-water bucket (0-0.1, 0.1-0.4, 0.4-1,
1-3 m, and a slow deep store 3-15 m) stepped month by month and vectorised
over land cells, with snow accumulation and degree-day melt, frozen soil that
blocks infiltration, saturation-excess surface runoff (VIC-like), gravity
drainage, vertical mixing, and evaporation limited by soil water. Models and
reanalyses differ through :class:`Flavour` (biases, phase and amplitude
errors, soil water holding capacity, snow retention, frozen-soil strength,
the share of snow melt that reaches the soil, and a land-analysis nudging).

Cold season, models against reanalyses (the paper's central finding): in
the models, frozen soil blocks infiltration and the snow melt pulse wets the
soil, so shallow soil moisture peaks in spring in the cold NH regions (SIB,
M-AS, EUR, WNA, ENA, TIB). ERA5 and ERA-Interim follow P - E instead: their
land analysis relaxes the top metre towards the wetness of recent rain
(strongly where screen-level observations are dense, north of about 15 N:
:func:`observation_density`), most melt water runs off and frozen soil
barely matters, so they peak with the summer-autumn rains, out of phase with
the models; GLDAS lies in between. In the Southern Hemisphere (sparse
observations, little snow) models and reanalyses stay in phase.

Units: precipitation, evaporation and runoff in mm per day inside this
module; soil water as volumetric content (m3 m-3) per layer; temperature in
degrees Celsius.
"""

from __future__ import annotations

import dataclasses
import zlib
from functools import cache
from pathlib import Path

import numpy as np

#: Bounds (m) of the soil layers of the bucket; the last is the deep store.
BUCKET_LAYERS = np.array(
    [[0.0, 0.1], [0.1, 0.4], [0.4, 1.0], [1.0, 3.0], [3.0, 15.0]]
)
_DZ_MM = (
    BUCKET_LAYERS[:, 1] - BUCKET_LAYERS[:, 0]
) * 1000.0  # layer thickness in mm


def stable_seed(*parts: object) -> list[int]:
    """Return a seed sequence from strings/ints that does not depend on PYTHONHASHSEED."""
    return [
        int(p)
        if isinstance(p, int | np.integer)
        else zlib.crc32(str(p).encode())
        for p in parts
    ]


# ---------------------------------------------------------------------------
# land fraction
# ---------------------------------------------------------------------------


def _ne_folder() -> Path:
    # Located without importing esmvalcore.preprocessor (seconds of imports).
    import importlib.util

    spec = importlib.util.find_spec("esmvalcore")
    return (
        Path(next(iter(spec.submodule_search_locations)))
        / "preprocessor"
        / "ne_masks"
    )


@cache
def _ocean_geometry():
    import shapefile
    import shapely

    reader = shapefile.Reader(str(_ne_folder() / "ne_50m_ocean.shp"))
    geom = shapely.union_all(
        [shapely.geometry.shape(s.__geo_interface__) for s in reader.shapes()]
    )
    shapely.prepare(geom)
    return geom


@cache
def land_fraction(nlat: int, nlon: int, supersample: int = 4) -> np.ndarray:
    """Land fraction (0-1) of a regular grid whose cells start at -90 S, 0 E.

    Rasterised from Natural Earth 1:50m ocean polygons (land = not ocean) by
    testing ``supersample`` x ``supersample`` points per cell. Cached per run.
    """
    import shapely

    geom = _ocean_geometry()
    dlat, dlon = 180.0 / nlat, 360.0 / nlon
    sub_lat = (
        -90.0 + (np.arange(nlat * supersample) + 0.5) * dlat / supersample
    )
    sub_lon = (np.arange(nlon * supersample) + 0.5) * dlon / supersample
    sub_lon = np.where(sub_lon >= 180.0, sub_lon - 360.0, sub_lon)
    x, y = np.meshgrid(sub_lon, sub_lat)
    ocean = shapely.contains_xy(geom, x.ravel(), y.ravel()).reshape(y.shape)
    land = (~ocean).astype(np.float64)
    return land.reshape(nlat, supersample, nlon, supersample).mean(axis=(1, 3))


# ---------------------------------------------------------------------------
# the world: grid, land cells, static fields
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    """The fine regular grid on which every data set's soil water is computed."""

    nlat: int
    nlon: int
    lat: np.ndarray  # (nlat,) cell centres, degrees north
    lon: np.ndarray  # (nlon,) cell centres, degrees east 0..360
    frac: np.ndarray  # (nlat, nlon) land fraction 0-1
    land: np.ndarray  # (nland,) flat indices of cells with land
    clat: np.ndarray  # (ncell,) latitude of every cell (flat)
    clon: np.ndarray  # (ncell,) longitude -180..180 of every cell
    continentality: np.ndarray  # (ncell,) 0 (coast/ocean) .. 1 (interior)

    @property
    def ice_sheet(self) -> np.ndarray:
        """Land cells (nland,) on the Antarctic or Greenland ice sheet: no soil water."""
        lat, lon = self.clat[self.land], self.clon[self.land]
        greenland = (lat > 60.0) & (lat < 84.0) & (lon > -55.0) & (lon < -20.0)
        return (lat < -62.0) | greenland

    @property
    def shape(self) -> tuple[int, int]:
        """Shape (lat, lon) of the world's grid."""
        return self.nlat, self.nlon


def make_world(resolution: float = 1.0) -> World:
    """Build the world on a regular ``resolution``-degree grid."""
    from scipy.ndimage import gaussian_filter

    nlat, nlon = round(180 / resolution), round(360 / resolution)
    lat = -90.0 + (np.arange(nlat) + 0.5) * 180.0 / nlat
    lon = (np.arange(nlon) + 0.5) * 360.0 / nlon
    frac = land_fraction(
        nlat, nlon, supersample=max(2, round(4 * min(resolution, 2.0)))
    )
    sigma = 7.0 / resolution
    ocean_smooth = gaussian_filter(
        1.0 - frac, sigma=(sigma, sigma), mode=("nearest", "wrap")
    )
    cont = np.clip(1.25 * (1.0 - ocean_smooth) - 0.15, 0.0, 1.0)
    la, lo = np.meshgrid(
        lat, np.where(lon > 180, lon - 360, lon), indexing="ij"
    )
    land = np.flatnonzero(frac.ravel() > 0.0)
    return World(
        nlat, nlon, lat, lon, frac, land, la.ravel(), lo.ravel(), cont.ravel()
    )


def _gauss(lat, lon, la0, lo0, sla, slo):
    dlon = (lon - lo0 + 180.0) % 360.0 - 180.0
    return np.exp(-(((lat - la0) / sla) ** 2) - (dlon / slo) ** 2)


def _box(lat, lon, la1, la2, lo1, lo2, w=2.5):
    def s(x):
        return 1.0 / (1.0 + np.exp(-x / w))

    return s(lat - la1) * s(la2 - lat) * s(lon - lo1) * s(lo2 - lon)


# ---------------------------------------------------------------------------
# climatologies (12 months x cells); month phase in months, 0 = mid-January
# ---------------------------------------------------------------------------


def temperature_climatology(
    lat, lon, cont, lag: float = 0.0, bias=0.0
) -> np.ndarray:
    """Monthly surface air temperature, degC, shape (12, ncell)."""
    tann = 28.0 - 42.0 * np.sin(np.radians(lat)) ** 2
    tann = tann - 20.0 * _gauss(
        lat, lon, 33.5, 88.0, 4.5, 12.0
    )  # Tibetan Plateau
    tann = tann + 6.0 * _box(
        lat, lon, 40, 72, -12, 35, 4.0
    )  # North Atlantic drift
    tann = tann - 18.0 * _box(lat, lon, 59, 85, -60, -18, 2.0)  # Greenland ice
    tann = np.where(lat < -62.0, -35.0, tann)  # Antarctica
    amp = (0.5 + 0.26 * np.abs(lat)) * (0.45 + 1.0 * cont)
    m = np.arange(12)[:, None] + 0.0
    season = np.cos(2 * np.pi * (m - 6.4 - lag) / 12.0) * np.sign(lat)
    return tann + amp * season + bias


def _zonal_rain(lat, cont, m, summer):
    """ITCZ, storm-track and polar precipitation (mm/day) of months ``m`` (0 = mid-January)."""
    local_summer = summer * np.sign(lat)
    centre = 2.0 + 14.0 * np.cos(2 * np.pi * (m - 7.2) / 12.0)
    itcz = 8.0 * np.exp(-(((lat - centre) / 9.0) ** 2))
    storm = (
        3.2
        * np.exp(-(((np.abs(lat) - 50.0) / 13.0) ** 2))
        * (1.0 - 0.35 * cont)
    )
    storm = storm * (1.0 + 0.45 * local_summer * (2.0 * cont - 1.0))
    polar = (
        0.6
        * np.exp(-(((np.abs(lat) - 70.0) / 10.0) ** 2))
        * (1.0 + 0.5 * local_summer)
    )
    return itcz, storm, polar


def _monsoons(lat, lon, summer):
    """South and East Asian, Australian, South American and West African monsoon rain, mm/day."""
    return (
        11.0
        * _gauss(lat, lon, 21.0, 88.0, 8.0, 22.0)
        * np.clip(summer, 0, None) ** 2
        + 6.0
        * _gauss(lat, lon, 30.0, 115.0, 8.0, 12.0)
        * np.clip(summer, 0, None)
        + 6.0
        * _gauss(lat, lon, -14.0, 132.0, 5.0, 14.0)
        * np.clip(-summer, 0, None) ** 2
        + 5.0
        * _gauss(lat, lon, -15.0, -50.0, 8.0, 12.0)
        * np.clip(-summer, 0, None)
        + 3.0
        * _gauss(lat, lon, 12.0, 0.0, 4.0, 25.0)
        * np.clip(summer, 0, None) ** 2
    )


def _dryness(lat, lon):
    """Factor (<= 1) that dries the deserts and rain shadows."""
    return (
        1.0
        - 0.94 * _box(lat, lon, 15, 32, -17, 58, 2.5)  # Sahara, Arabia
        - 0.75
        * _gauss(lat, lon, -25.0, 133.0, 8.0, 13.0)  # Australian interior
        - 0.60 * _gauss(lat, lon, -24.0, 19.0, 6.0, 8.0)  # Kalahari, Namib
        - 0.60
        * _box(lat, lon, 36, 48, 52, 108, 3.0)  # central Asian deserts, Gobi
        - 0.60 * _gauss(lat, lon, 31.0, -112.0, 6.0, 9.0)  # south-western US
        - 0.70
        * _box(lat, lon, -45, -15, -76, -68, 2.0)  # Atacama, Patagonia lee
        - 0.45
        * _gauss(lat, lon, 35.0, 85.0, 5.0, 12.0)  # Tibet/Tarim rain shadow
    )


def precipitation_climatology(
    lat, lon, cont, lag: float = 0.0, amplitude: float = 1.0
) -> np.ndarray:
    """Monthly precipitation, mm/day, shape (12, ncell)."""
    m = np.arange(12)[:, None] + 0.0 - lag
    summer = np.cos(2 * np.pi * (m - 6.5) / 12.0)  # +1 in July (NH summer)
    itcz, storm, polar = _zonal_rain(lat, cont, m, summer)
    monsoon = _monsoons(lat, lon, summer)
    wet = (
        3.0 * _gauss(lat, lon, -3.0, -62.0, 8.0, 13.0)
        + 2.5 * _gauss(lat, lon, 0.0, 20.0, 6.0, 11.0)
        + 4.0 * _gauss(lat, lon, 0.0, 115.0, 8.0, 22.0)
    )
    med = _box(lat, lon, 30, 46, -10, 45, 3.0) + _gauss(
        lat, lon, 37.0, -121.0, 5.0, 4.0
    )
    p = itcz + storm + polar + monsoon + wet
    p = p + 2.0 * med * np.clip(-summer, 0, None)
    p = p * (1.0 - 0.85 * np.clip(med, 0, 1) * np.clip(summer, 0, None))
    dry = _dryness(lat, lon)
    p = p * np.clip(dry, 0.03, None)
    p = np.where(lat < -62.0, 0.3, p)
    mean = p.mean(axis=0, keepdims=True)
    p = mean + amplitude * (p - mean)
    return np.clip(p, 0.01, None)


def potential_evaporation(temp: np.ndarray, pann: np.ndarray) -> np.ndarray:
    """Potential evaporation, mm/day, from temperature (degC) and annual-mean P (mm/day)."""
    aridity = np.clip(1.0 - pann / 3.0, 0.0, 1.0)
    return (0.15 + 0.14 * np.clip(temp, 0.0, None)) * (1.0 + 0.35 * aridity)


ENSO_PATTERN = (
    # (lat, lon, sigma_lat, sigma_lon, amplitude): P anomaly per unit index
    (-25.0, 140.0, 12.0, 20.0, -0.30),  # Australia dry in El Nino
    (-2.0, 115.0, 10.0, 20.0, -0.35),  # Maritime Continent
    (0.0, -60.0, 10.0, 15.0, -0.25),  # northern Amazon
    (-22.0, 27.0, 8.0, 10.0, -0.20),  # southern Africa
    (-30.0, -57.0, 8.0, 8.0, 0.25),  # south-eastern South America wet
    (32.0, -95.0, 6.0, 15.0, 0.20),  # southern United States wet
    (0.0, 40.0, 6.0, 8.0, 0.20),  # East Africa short rains
    (22.0, 78.0, 8.0, 10.0, -0.15),  # Indian monsoon
)


def enso_pattern(lat, lon) -> np.ndarray:
    """Fractional precipitation anomaly per unit ENSO index, (ncell,)."""
    out = np.zeros_like(lat, dtype=np.float64)
    for la, lo, sla, slo, amp in ENSO_PATTERN:
        out += amp * _gauss(lat, lon, la, lo, sla, slo)
    return out


def enso_index(
    rng: np.random.Generator, n: int, phi: float = 0.93
) -> np.ndarray:
    """Return an AR(1) index of unit variance, n months (after a 60-month burn-in)."""
    eps = rng.standard_normal(n + 60) * np.sqrt(1.0 - phi**2)
    x = np.empty(n + 60)
    x[0] = rng.standard_normal()
    for i in range(1, n + 60):
        x[i] = phi * x[i - 1] + eps[i]
    return x[60:]


def _interp_matrix(
    coarse: np.ndarray, fine: np.ndarray, period: float | None
) -> np.ndarray:
    """Linear interpolation weights (len(fine), len(coarse)), rows of unit norm."""
    nc = coarse.size
    step = coarse[1] - coarse[0]
    pos = (fine - coarse[0]) / step
    i0 = np.floor(pos).astype(int)
    wt = pos - i0
    mat = np.zeros((fine.size, nc))
    rows = np.arange(fine.size)
    if period is None:
        i0 = np.clip(i0, 0, nc - 2)
        wt = np.clip(pos - i0, 0.0, 1.0)
        i1 = i0 + 1
    else:
        i0 = i0 % nc
        i1 = (i0 + 1) % nc
    np.add.at(mat, (rows, i0), 1.0 - wt)
    np.add.at(mat, (rows, i1), wt)
    # interpolating white noise loses variance; restore unit variance
    return mat / np.sqrt((mat**2).sum(axis=1, keepdims=True))


def smooth_noise(
    rng: np.random.Generator, n: int, world: World, scale_deg: float = 10.0
) -> np.ndarray:
    """Unit-variance noise, smooth over about ``scale_deg``, shape (n, ncell)."""
    clat = np.arange(-90.0 - scale_deg, 90.0 + 2 * scale_deg, scale_deg)
    clon = np.arange(0.0, 360.0, scale_deg)
    coarse = rng.standard_normal((n, clat.size, clon.size)).astype(np.float32)
    my = _interp_matrix(clat, world.lat, None).astype(np.float32)
    mx = _interp_matrix(clon, world.lon, 360.0).astype(np.float32)
    out = np.matmul(my, coarse) @ mx.T
    return out.reshape(n, -1)


# ---------------------------------------------------------------------------
# flavours: what distinguishes one data set from the truth
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Flavour:
    """Errors and land-surface behaviour of one data set.

    error: 0 (perfect) .. 1 (poor); scales biases and phase errors.
    """

    name: str
    error: float = 0.3
    lag: float = 0.0  # phase error of the P seasonal cycle, months
    p_amplitude: float = 1.0  # seasonal amplitude factor of P
    t_bias: float = 0.0  # global temperature bias, K
    pet_factor: float = 1.0
    capacity: float = 1.0  # scales field capacity and porosity
    wilting: float = 1.0  # scales wilting point
    snow_retention: float = 1.0  # fraction of snowfall stored as snow
    frozen_strength: float = 1.0  # 1 = frozen soil fully blocks infiltration
    noise: float = 0.35  # weather noise (lognormal sigma)
    p_bias_sigma: float = 0.0  # spatial P bias (lognormal sigma)
    melt_infiltration: float = (
        1.0  # fraction of snow melt offered to the soil (rest runs off)
    )
    nudge: float = (
        0.0  # monthly relaxation of the top 1 m towards the rain-driven target
    )
    nudge_memory: float = (
        1.0  # e-folding memory (months) of the rain seen by the nudging
    )


def model_flavour(name: str, skill: float, seed: int) -> Flavour:
    """Flavour of a CMIP6 model from its catalogue ``skill`` (0..1)."""
    rng = np.random.default_rng(stable_seed(seed, "flavour", name))
    e = float(np.clip(1.0 - skill, 0.0, 1.0))
    z = rng.standard_normal(8)
    return Flavour(
        name=name,
        error=e,
        lag=1.6 * e * z[0],
        p_amplitude=float(np.exp(0.35 * e * z[1])),
        t_bias=2.5 * e * z[2],
        pet_factor=float(np.exp(0.25 * e * z[3])),
        capacity=float(np.clip(np.exp(0.35 * e * z[4]), 0.6, 1.5)),
        wilting=float(np.clip(np.exp(0.3 * e * z[5]), 0.6, 1.6)),
        snow_retention=1.0,
        frozen_strength=float(np.clip(0.75 + 0.25 * rng.random(), 0, 1)),
        noise=0.35,
        p_bias_sigma=0.55 * e,
    )


REANALYSIS_FLAVOURS = {
    # Reanalyses see the observed weather. Their shallow soil water follows
    # P - E rather than the cold-season processes (paper, Fig. 11 and
    # section 4): the land analysis nudges the top metre towards the wetness
    # implied by recent rain (screen-level analysis; it sees neither melt
    # water nor frozen ground), most snow melt runs off instead of
    # infiltrating, and frozen soil barely blocks infiltration. In the cold
    # NH regions the reanalyses therefore peak in the summer rains while the
    # models peak with the spring melt: out of phase, as in Fig. 7. ERA5 has
    # the narrowest range of shallow soil moisture (Fig. 5). GLDAS (Noah,
    # offline, no soil-moisture analysis) lies in between: a partial melt
    # pulse and a weak pull towards the rain.
    "ERA5": Flavour(
        "ERA5",
        error=0.1,
        capacity=0.92,
        wilting=1.45,
        snow_retention=1.0,
        frozen_strength=0.1,
        noise=0.08,
        p_bias_sigma=0.08,
        melt_infiltration=0.1,
        nudge=0.75,
        nudge_memory=1.0,
    ),
    "ERA-Interim": Flavour(
        "ERA-Interim",
        error=0.15,
        capacity=0.95,
        wilting=1.3,
        lag=0.15,
        snow_retention=1.0,
        frozen_strength=0.15,
        noise=0.1,
        p_bias_sigma=0.12,
        t_bias=0.3,
        melt_infiltration=0.2,
        nudge=0.5,
        nudge_memory=1.0,
    ),
    "GLDAS": Flavour(
        "GLDAS",
        error=0.1,
        capacity=1.05,
        wilting=0.9,
        snow_retention=1.0,
        frozen_strength=0.35,
        noise=0.08,
        p_bias_sigma=0.06,
        melt_infiltration=0.5,
        nudge=0.2,
        nudge_memory=1.0,
    ),
}


# ---------------------------------------------------------------------------
# forcing and the bucket
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Forcing:
    """Monthly forcing on the land cells of the world."""

    precip: np.ndarray  # (nt, nland) mm/day
    temp: np.ndarray  # (nt, nland) degC
    pet: np.ndarray  # (nt, nland) mm/day


def make_forcing(
    world: World,
    months: np.ndarray,
    flavour: Flavour,
    weather: np.random.Generator,
    bias_rng: np.random.Generator,
    enso: np.ndarray | None = None,
    own_noise: float = 0.0,
) -> Forcing:
    """Return forcing of one data set on the land cells of ``world`` (nt, nland).

    ``months``: calendar month (1-12) of every time step. ``weather`` draws
    the weather (shared by reanalyses); ``bias_rng`` the data set's static
    biases and its own extra noise (``own_noise``, lognormal sigma).
    """
    land = world.land
    lat, lon, cont = (
        world.clat[land],
        world.clon[land],
        world.continentality[land],
    )
    nt = months.size
    pclim = precipitation_climatology(
        lat, lon, cont, flavour.lag, flavour.p_amplitude
    )
    tclim = temperature_climatology(
        lat, lon, cont, lag=0.3 * flavour.lag, bias=flavour.t_bias
    )
    if flavour.p_bias_sigma > 0:
        zb = smooth_noise(bias_rng, 1, world, scale_deg=25.0)[0, land]
        pclim = pclim * np.exp(
            flavour.p_bias_sigma * zb - 0.5 * flavour.p_bias_sigma**2
        )
    pann = pclim.mean(axis=0)
    petclim = potential_evaporation(tclim, pann[None, :]) * flavour.pet_factor
    idx = months - 1
    if enso is None:
        enso = enso_index(weather, nt)
    tele = enso_pattern(lat, lon).astype(np.float32)
    noise = smooth_noise(weather, nt, world, scale_deg=12.0)[:, land]
    logm = flavour.noise * noise - np.float32(0.5 * flavour.noise**2)
    if own_noise > 0:
        extra = smooth_noise(bias_rng, nt, world, scale_deg=12.0)[:, land]
        logm += own_noise * extra - np.float32(0.5 * own_noise**2)
    ens = enso.astype(np.float32)[:, None]
    precip = (
        pclim.astype(np.float32)[idx]
        * np.maximum(1.0 + tele[None, :] * ens, 0.1)
        * np.exp(logm)
    )
    tnoise = smooth_noise(weather, nt, world, scale_deg=20.0)[:, land]
    temp = tclim.astype(np.float32)[idx] + 1.5 * tnoise
    # PET follows the temperature anomaly (about 0.14 mm/day per K above 0 C)
    pet = np.maximum(
        petclim.astype(np.float32)[idx]
        + 0.14 * 1.5 * tnoise * (tclim[idx] > 0),
        0.0,
    )
    return Forcing(precip, temp, pet)


def ocean_fluxes(
    world: World, months: np.ndarray, flavour: Flavour
) -> tuple[np.ndarray, np.ndarray]:
    """Climatological precipitation and evaporation (mm/day) of all cells, (ncell, nt).

    Amon ``pr`` and ``evspsbl`` cover the ocean too; over land the caller
    replaces them by the data set's own values.
    """
    lat, lon, cont = world.clat, world.clon, world.continentality
    pclim = precipitation_climatology(
        lat, lon, cont, flavour.lag, flavour.p_amplitude
    )
    tclim = temperature_climatology(lat, lon, cont, bias=flavour.t_bias)
    eclim = 1.0 + 0.12 * np.clip(tclim, 0.0, None)
    idx = months - 1
    return (
        np.ascontiguousarray(pclim.T.astype(np.float32)[:, idx]),
        np.ascontiguousarray(eclim.T.astype(np.float32)[:, idx]),
    )


@dataclasses.dataclass
class BucketOutput:
    """Monthly means on land cells, cell-major: (nland, nt) unless stated.

    Cell-major arrays feed the sparse regridding without a transposed copy.
    """

    theta: np.ndarray  # (nland, nlayer, nt) volumetric water, m3 m-3
    evap: np.ndarray  # mm/day, incl. sublimation
    runoff: np.ndarray  # surface runoff, mm/day
    melt: np.ndarray  # snow melt, mm/day


def soil_parameters(flavour: Flavour, pann_land: np.ndarray):
    """Porosity, field capacity, wilting point (m3 m-3) of land cells."""
    aridity = np.clip(1.0 - pann_land / 2.5, 0.0, 1.0)
    fc = (0.34 - 0.12 * aridity) * flavour.capacity
    sat = np.maximum(0.46 * flavour.capacity, fc + 0.05)
    wp = np.minimum((0.11 - 0.05 * aridity) * flavour.wilting, fc - 0.05)
    return sat, fc, np.maximum(wp, 0.02)


#: Share of the evaporation demand taken from each bucket layer (roots).
ROOT_SHARE = np.array([0.18, 0.37, 0.30, 0.15, 0.0])[:, None]


@dataclasses.dataclass(frozen=True)
class _Soil:
    """Water held by the bucket's layers on land cells at the soil's limits, mm."""

    dz: np.ndarray  # (nlayer, 1) layer thickness
    wsat: np.ndarray  # (nlayer, nland) at saturation
    wfc: np.ndarray  # (nlayer, nland) at field capacity
    wwp: np.ndarray  # (nlayer, nland) at the wilting point
    wres: np.ndarray  # (nlayer, 1) residual water

    @classmethod
    def of(cls, sat, fc, wp) -> _Soil:
        """Limits of the layers from porosity, field capacity and wilting point (m3 m-3, (nland,))."""
        dz = _DZ_MM[:, None]
        return cls(dz, sat * dz, fc * dz, wp * dz, 0.02 * dz)


@dataclasses.dataclass(frozen=True)
class _Analysis:
    """A reanalysis' land analysis: nudging of the top metre towards recent rain."""

    keep: float  # memory of the rain per month (0-1)
    strength: np.ndarray  # (nlayer, nland) relaxation per month
    pann: np.ndarray  # (nland,) annual-mean precipitation, mm/day


def _snow_step(snow, temp, p, dt: float, flavour: Flavour):
    """Snowfall, melt and sublimation of one month; ``snow`` (mm) is updated in place.

    Returns rain, melt and sublimation (mm per month) and the frozen-soil
    factor (0-1) of every land cell.
    """
    snowfrac = np.clip((1.0 - temp) / 3.0, 0.0, 1.0) * flavour.snow_retention
    snowfall = p * snowfrac
    rain = p - snowfall
    snow += snowfall
    melt = np.minimum(snow, 3.0 * np.clip(temp, 0.0, None) * dt)
    snow -= melt
    subl = np.minimum(snow, 0.05 * dt * np.ones(snow.shape[0]))
    snow -= subl
    frozen = np.clip(-(temp + 1.0) / 4.0, 0.0, 1.0) * flavour.frozen_strength
    return rain, melt, subl, frozen


def _infiltrate(w, soil: _Soil, rain, melt, frozen, flavour: Flavour):
    """Let rain and melt into the layers ``w`` (mm, in place); return the surface runoff (mm)."""
    melt_off = melt * (
        1.0 - flavour.melt_infiltration
    )  # melt that never meets the soil
    water_in = rain + melt - melt_off
    wsat, wres = soil.wsat, soil.wres
    sat1 = np.clip((w[0] - wres[0]) / (wsat[0] - wres[0]), 0.0, 1.0)
    surf = water_in * (frozen + (1.0 - frozen) * sat1**3) + melt_off
    infil = water_in - surf
    # fill layers from the top; what the column cannot hold runs off
    carry = infil
    for layer in range(w.shape[0]):
        room = wsat[layer] - w[layer]
        take = np.minimum(carry, room)
        w[layer] += take
        carry = carry - take
    return surf + carry


def _drain_and_mix(w, soil: _Soil, thaw) -> None:
    """Gravity drainage, base flow and vertical mixing of the layers ``w`` (mm, in place)."""
    wsat, wfc, wres = soil.wsat, soil.wfc, soil.wres
    nl = w.shape[0]
    # gravity drainage above field capacity (reduced when frozen)
    for layer in range(nl - 1):
        excess = np.clip(w[layer] - wfc[layer], 0.0, None) * 0.35 * thaw
        room = wsat[layer + 1] - w[layer + 1]
        move = np.minimum(excess, room)
        w[layer] -= move
        w[layer + 1] += move
    w[-1] -= np.clip(w[-1] - wfc[-1], 0.0, None) * 0.05  # slow base flow
    # vertical mixing toward the column's mean wetness (capillary rise)
    rel = (w - wres) / (wsat - wres)
    for layer in range(nl - 1):
        d = 0.15 * (rel[layer + 1] - rel[layer]) * thaw
        move = d * np.minimum(
            wsat[layer] - wres[layer], wsat[layer + 1] - wres[layer + 1]
        )
        w[layer] += move
        w[layer + 1] -= move


def _evaporate(w, soil: _Soil, pet, dt: float, frozen):
    """Take evaporation limited by soil water (beta function per layer) from ``w`` (in place); return it per layer (mm)."""
    wfc, wwp = soil.wfc, soil.wwp
    demand = pet.astype(np.float64) * dt * (1.0 - 0.8 * frozen)
    beta = np.clip((w - wwp) / (wfc - wwp), 0.0, 1.0)
    e_layer = np.minimum(
        demand[None, :] * ROOT_SHARE * beta,
        np.clip(w - 0.6 * wwp, 0.0, None),
    )
    w -= e_layer
    return e_layer


def _nudge(w, soil: _Soil, analysis: _Analysis, rain_seen, rain, dt: float):
    """Land analysis: relax the top metre towards the wetness of the recent rain.

    The target lies between wilting point and just above field capacity.
    Returns the new layers ``w`` (mm) and the rain remembered (mm/day).
    """
    keep = analysis.keep
    rain_seen = keep * rain_seen + (1.0 - keep) * rain / dt
    wet = rain_seen / (rain_seen + analysis.pann)  # 0 .. 1, 0.5 at mean rain
    target = soil.wwp + (0.1 + 1.2 * wet) * (soil.wfc - soil.wwp)
    w += analysis.strength * (target - w)
    return np.clip(w, soil.wres, soil.wsat), rain_seen


def run_bucket(
    world: World,
    forcing: Forcing,
    days: np.ndarray,
    flavour: Flavour,
    spinup_years: int = 3,
) -> BucketOutput:
    """Step the bucket month by month over the land cells of ``world``.

    ``days``: length of every month in days (the data set's calendar).
    """
    P, T, PET = forcing.precip, forcing.temp, forcing.pet
    nt, n = P.shape
    nl = BUCKET_LAYERS.shape[0]
    sat, fc, wp = soil_parameters(flavour, P.mean(axis=0))
    soil = _Soil.of(sat, fc, wp)
    w = np.tile(0.8 * fc, (nl, 1)) * soil.dz  # water per layer, mm
    snow = np.zeros(n)
    pann = np.maximum(P.mean(axis=0).astype(np.float64), 0.3)  # mm/day
    rain_seen = pann.copy()  # rain remembered by the nudging, mm/day
    analysis = _Analysis(
        keep=float(np.exp(-1.0 / max(flavour.nudge_memory, 1e-3))),
        strength=flavour.nudge
        * np.array([1.0, 0.6, 0.3, 0.0, 0.0])[:, None]
        * observation_density(world),
        pann=pann,
    )
    spin = min(12 * spinup_years, nt)
    steps = list(range(spin)) + list(range(nt))
    out = BucketOutput(
        np.empty((n, nl, nt), dtype=np.float32),
        *(np.empty((n, nt), dtype=np.float32) for _ in range(3)),
    )
    for k, t in enumerate(steps):
        dt = float(days[t])
        w_start = w.copy()
        rain, melt, subl, frozen = _snow_step(
            snow, T[t], P[t] * dt, dt, flavour
        )
        surf = _infiltrate(w, soil, rain, melt, frozen, flavour)
        _drain_and_mix(w, soil, 1.0 - frozen)
        e_layer = _evaporate(w, soil, PET[t], dt, frozen)
        if flavour.nudge > 0.0:
            w, rain_seen = _nudge(w, soil, analysis, rain_seen, rain, dt)
        if k >= spin:  # spin-up months are not recorded
            out.theta[:, :, t] = (0.5 * (w + w_start) / soil.dz).T
            out.evap[:, t] = (e_layer.sum(axis=0) + subl) / dt
            out.runoff[:, t] = surf / dt
            out.melt[:, t] = melt / dt
    return out


def observation_density(world: World) -> np.ndarray:
    """Relative density (0.15-1) of the screen-level observations a land analysis uses, (nland,).

    Dense north of about 15 N (the SYNOP networks of Eurasia and North
    America), sparse in the tropics and the Southern Hemisphere, where the
    reanalyses follow their own model more than the observations (the
    paper's explanation of the good SH agreement).
    """
    lat = world.clat[world.land]
    return 0.15 + 0.85 / (1.0 + np.exp(-(lat - 15.0) / 4.0))


def layer_matrix(target_bounds: np.ndarray) -> np.ndarray:
    """Water (kg m-2) in target layers per unit volumetric content of bucket layers.

    ``content[k] = sum_j M[k, j] * theta[j]``: water is uniform within a
    bucket layer; target layers below 15 m take the deep store's content.
    """
    tb = np.asarray(target_bounds, dtype=np.float64)
    src = BUCKET_LAYERS.copy()
    src[-1, 1] = max(src[-1, 1], tb[:, 1].max())
    top = np.maximum(tb[:, None, 0], src[None, :, 0])
    bot = np.minimum(tb[:, None, 1], src[None, :, 1])
    return np.clip(bot - top, 0.0, None) * 1000.0
