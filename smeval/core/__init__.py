"""The science core of smeval (SPEC sections 2-5).

Pure array code on numpy, numpy masked and (where arrays are large) dask
arrays: no file I/O, no plotting, no iris. One concern per module:

depth
    Vertical normalisation of layered soil water to 0-D m.
regions
    The 13 regions, NH and SH, the Antarctica/Greenland exclusion, and exact
    fractional cell weights.
regional
    Area-weighted means over all regions in one matrix product.
ensemble
    Member -> model -> family -> CMIP6-MMEM, MMEM-high, MMEM-low.
taylor
    R, sigma, E' and the Taylor skill score.
fields
    Annual cycles, climatologies, bias ratios, flux units, P - E.
correlation
    Grid-point correlation with a t test and optional effective sample size.
"""

from .correlation import (
    CorrelationResult,
    effective_sample_size,
    gridpoint_correlation,
    lag1_autocorrelation,
)
from .depth import (
    DEEP_DEPTH,
    SHALLOW_DEPTH,
    DepthNotReachedError,
    deep_from_layers,
    layer_weights,
    normalise_depth,
    shallow_from_layers,
    volumetric_to_mass,
)
from .ensemble import (
    EnsembleMeans,
    hierarchical_means,
    resolution_group,
    streamed_mmem,
)
from .fields import (
    annual_cycle,
    annual_mean_climatology,
    bias_ratio,
    flux_to_mm_per_year,
    month_lengths,
    p_minus_e,
    p_minus_e_minus_r,
)
from .regional import (
    RegionWeights,
    cell_areas,
    region_weight_matrix,
    regional_means,
)
from .regions import (
    ALL_REGIONS,
    HEMISPHERES,
    REGIONS,
    Region,
    domain_fraction,
    get_region,
    region_weights,
)
from .taylor import TaylorStatistics, taylor_skill_score, taylor_statistics

__all__ = [
    # depth
    "DEEP_DEPTH",
    "SHALLOW_DEPTH",
    "DepthNotReachedError",
    "deep_from_layers",
    "layer_weights",
    "normalise_depth",
    "shallow_from_layers",
    "volumetric_to_mass",
    # regions and regional means
    "ALL_REGIONS",
    "HEMISPHERES",
    "REGIONS",
    "Region",
    "domain_fraction",
    "get_region",
    "region_weights",
    "RegionWeights",
    "cell_areas",
    "region_weight_matrix",
    "regional_means",
    # ensembles
    "EnsembleMeans",
    "hierarchical_means",
    "resolution_group",
    "streamed_mmem",
    # statistics
    "TaylorStatistics",
    "taylor_skill_score",
    "taylor_statistics",
    "CorrelationResult",
    "effective_sample_size",
    "gridpoint_correlation",
    "lag1_autocorrelation",
    # fields
    "annual_cycle",
    "annual_mean_climatology",
    "bias_ratio",
    "flux_to_mm_per_year",
    "month_lengths",
    "p_minus_e",
    "p_minus_e_minus_r",
]
