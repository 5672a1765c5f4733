"""The work of ``diagnostics/correlation_fields.py``: correlation maps of soil moisture with P - E (Fig. 11).

Inputs are each data set's monthly fields on the common grid (a model's
ensemble mean, a reference's own field), which the regional-series scripts
computed with ESMValCore's functions (their ``correlation_steps`` option)
from the same read as the series (:mod:`smeval.diag.ensemble_fields`). Models are
combined into CMIP6-MMEM with the hierarchical weighting of SPEC section 4;
the results are written as NetCDF (docs/results.md) with the helpers both
map scripts share (:mod:`smeval.diag.map_fields`).

Each data set's map is computed a band of grid rows at a time: the band's
rows of its fields (of every model, for CMIP6-MMEM) are read for all months,
and a band's float64 field over the period is at most
:data:`smeval.core.correlation.BLOCK_BYTES`, so the memory does not grow
with the years or the models. A cell's correlation depends on its own
series alone; the false discovery rate control, over all cells of a map,
is applied to the joined map. HDF5 decompresses a chunk (12 months of the
whole map) whole, so each band decompresses the files again (three times at
36 years on the common grid).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import iris
import iris.cube
import numpy as np

from smeval.core.correlation import (
    BLOCK_BYTES,
    DEFAULT_FDR_ALPHA,
    CorrelationResult,
    benjamini_hochberg,
    correlation_in_bands,
)
from smeval.core.ensemble import MMEM_ALL, streamed_mmem

from .ensemble_fields import CHUNK_MONTHS, FieldFile, find_ensemble_fields
from .io import is_synthetic, save_cube
from .map_fields import ensemble_inputs, field_cube, field_record
from .metrics import EvaluationOptions
from .options import (
    check_choices,
    check_range,
    is_model,
    option,
    parse_options,
    recipe_key,
)
from .provenance import grid_spacing
from .shared import ProvenanceLogger

logger = logging.getLogger(__name__)

#: Significance tests of the correlation maps.
SIGNIFICANCE_METHODS = ("t-test", "effective-sample-size")


@dataclass(frozen=True)
class CorrelationOptions(EvaluationOptions):
    """Options of ``diagnostics/correlation_fields.py`` (see its docstring)."""

    SCRIPT: ClassVar[str] = "correlation_fields"
    significance_level: float = option(
        0.95, "confidence level of the two-sided t test", "1"
    )
    significance_method: str = option(
        "t-test", "significance test of each cell"
    )
    fdr_alpha: float | None = option(
        DEFAULT_FDR_ALPHA,
        "field significance: Benjamini-Hochberg control of "
        "the false discovery rate at this alpha_FDR",
        "1",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range(
            self.SCRIPT,
            "significance_level",
            self.significance_level,
            0.0,
            1.0,
        )
        if self.fdr_alpha is not None:
            check_range(self.SCRIPT, "fdr_alpha", self.fdr_alpha, 0.0, 1.0)
        check_choices(
            self.SCRIPT,
            "significance_method",
            [self.significance_method],
            SIGNIFICANCE_METHODS,
        )

    @property
    def alpha(self) -> float:
        """Significance level of the t test: 1 - ``significance_level``."""
        return 1.0 - self.significance_level

    @property
    def effective_n(self) -> bool:
        """True if the t test takes the effective sample size (``significance_method``)."""
        return self.significance_method == "effective-sample-size"


#: Months of the CMIP6-MMEM computed at once: one chunk of the field files
#: (:data:`~smeval.diag.ensemble_fields.CHUNK_MONTHS`). The mean is element
#: by element, so block by block gives the same values; in blocks every
#: intermediate array (5 MB on the whole common grid, less in a band of
#: rows) stays in the processor's cache and its memory is reused, where a
#: band's fields over the whole period (up to BLOCK_BYTES each) cost a fresh
#: allocation for every read and step.
BLOCK_MONTHS = CHUNK_MONTHS


def _mmem_by_blocks(
    load: Callable[[str, np.ndarray], np.ndarray],
    models: list[str],
    families: dict[str, str],
    months: np.ndarray,
) -> np.ndarray:
    """CMIP6-MMEM of the fields ``load(model, block)`` on ``months``, :data:`BLOCK_MONTHS` months at a time."""
    return np.concatenate(
        [
            streamed_mmem(
                {m: partial(load, m, block) for m in models}, families
            )
            for block in (
                months[i : i + BLOCK_MONTHS]
                for i in range(0, len(months), BLOCK_MONTHS)
            )
        ]
    )


#: CMOR variables of the correlation maps.
CORRELATION_VARIABLES = ("mrsos", "pr", "evspsbl")


def correlation_fields(cfg: dict[str, Any]) -> list[Path]:
    """Write the correlation of shallow soil moisture with P - E (Fig. 11).

    The inputs are each data set's monthly fields of ``mrsos``, ``pr`` and
    ``evspsbl`` on the common grid (a model's ensemble mean, a reference's
    own field) that the regional-series scripts (the ancestors) computed
    from the same read as the series (their ``correlation_steps``;
    :mod:`smeval.diag.ensemble_fields`). Members and data sets those
    scripts left out are listed in their ``excluded.csv``.
    """
    options = parse_options(
        CorrelationOptions, cfg, recipe_key(cfg, CorrelationOptions.SCRIPT)
    )
    found = [
        (f, m, c)
        for f, m, c in find_ensemble_fields(cfg["ancestor_dirs"])
        if m["short_name"] in CORRELATION_VARIABLES
    ]
    families, _, references = ensemble_inputs(
        options, [m for _, m, _ in found]
    )
    # Observations that are no reference never become models.
    cubes: dict[tuple[str, str], iris.cube.Cube] = {}
    sources: dict[tuple[str, str], str] = {}
    for filename, meta, cube in found:
        if meta["dataset"] in references or is_model(
            meta["dataset"], meta["project"], references
        ):
            cubes[(meta["short_name"], meta["dataset"])] = cube
            sources[(meta["short_name"], meta["dataset"])] = filename
    complete = sorted(
        d
        for (v, d) in cubes
        if v == "mrsos" and all((w, d) in cubes for w in CORRELATION_VARIABLES)
    )
    if not complete:
        logger.warning(
            "No data set with mrsos, pr and evspsbl: no correlation maps written"
        )
        return []
    with ProvenanceLogger(cfg) as provlog, contextlib.ExitStack() as stack:
        files = {
            v_d: stack.enter_context(FieldFile(sources[v_d], cube))
            for v_d, cube in cubes.items()
            if v_d[1] in complete
        }
        return _write_correlations(
            cfg, options, provlog, files, families, references
        )


def _write_correlations(
    cfg,
    options: CorrelationOptions,
    provlog,
    files: dict[tuple[str, str], FieldFile],
    families,
    references,
) -> list[Path]:
    """Correlation maps of the references and of CMIP6-MMEM from ``files``: (variable, data set) -> its open field file."""
    complete = sorted({d for _, d in files})
    all_months = np.concatenate([f.months for f in files.values()])
    months = np.arange(all_months.min(), all_months.max() + 1)
    template = files[("mrsos", complete[0])].cube
    synthetic = any(is_synthetic(f.cube) for f in files.values())
    models = [d for d in complete if d not in references]
    # One data set at a time; CMIP6-MMEM last, computed when its turn comes.
    names = [d for d in complete if d in references]
    names += [MMEM_ALL] if models else []
    written = []
    for name in names:
        used = models if name == MMEM_ALL else [name]
        band = partial(
            _band_fields, files, used, families, months, name == MMEM_ALL
        )
        # A band of rows at a time, read from the files for all months: a
        # data set's whole-period fields (177 MB each at 36 years) are
        # never held.
        result = correlation_in_bands(
            band,
            (len(months), *template.shape[1:]),
            options.alpha,
            options.effective_n,
            BLOCK_BYTES,
        )
        out_cubes, test = _correlation_cubes(
            result, options, template, name, synthetic
        )
        out = save_cube(
            out_cubes, Path(cfg["work_dir"]) / f"correlation_{name}.nc"
        )
        written.append(out)
        provlog.log(
            out,
            _provenance(options, files, families, name, used, test, out_cubes),
        )
    return written


def _band_fields(
    files: dict[tuple[str, str], FieldFile],
    datasets: list[str],
    families: dict[str, str],
    months: np.ndarray,
    mmem: bool,
    rows: slice,
) -> tuple[np.ndarray, np.ndarray]:
    """Soil moisture and P - E, (month, row, lon) on ``months`` in the grid ``rows``.

    CMIP6-MMEM of the models ``datasets`` if ``mmem``, else the fields of
    the one data set in ``datasets``.
    """

    def soil(dataset, block):
        return files[("mrsos", dataset)].read(block, rows)

    def pme(dataset, block):
        flux = files[("pr", dataset)].read(block, rows)
        flux -= files[("evspsbl", dataset)].read(block, rows)
        return flux

    if mmem:
        return (
            _mmem_by_blocks(soil, datasets, families, months),
            _mmem_by_blocks(pme, datasets, families, months),
        )
    [dataset] = datasets
    return soil(dataset, months), pme(dataset, months)


def _correlation_cubes(
    result: CorrelationResult,
    options: CorrelationOptions,
    template,
    name: str,
    synthetic: bool,
) -> tuple[iris.cube.CubeList, str]:
    """Return the cubes of ``correlation_<name>.nc`` from the whole map's ``result``, and a description of their significance test."""
    level = f"{100 * options.significance_level:g} % level"
    described = (
        ("r", "correlation of shallow soil moisture with P - E"),
        ("p_value", "two-sided p-value of the correlation"),
        ("significant", f"significant at the {level}"),
    )
    values = (result.R, result.p_value, result.significant.astype(float))
    out_cubes = iris.cube.CubeList()
    for (short, long_name), data in zip(described, values, strict=True):
        cube = field_cube(data, template, name, "1", long_name, synthetic)
        cube.var_name = short
        out_cubes.append(cube)
    method = (
        "effective sample size from lag-1 autocorrelation (Bretherton et al. 1999)"
        if options.effective_n
        else "n - 2 degrees of freedom"
    )
    test = f"two-sided t test at the {level} with {method}"
    out_cubes[2].attributes["smeval_significance"] = f"each cell alone: {test}"
    if options.fdr_alpha is not None:
        out_cubes.append(
            _fdr_cube(
                result.p_value,
                float(options.fdr_alpha),
                template,
                name,
                synthetic,
                f"{method}; {int(result.significant.sum())} cells significant one by one "
                f"at the {level}",
            )
        )
        test = out_cubes[-1].attributes["smeval_significance"]
    return out_cubes, test


def _provenance(
    options: CorrelationOptions,
    files: dict[tuple[str, str], FieldFile],
    families: dict[str, str],
    name: str,
    used: list[str],
    test: str,
    out_cubes: iris.cube.CubeList,
) -> dict[str, Any]:
    """Provenance record of ``correlation_<name>.nc``, the map of the data sets ``used`` (``test``: its significance test)."""
    what = name
    if name == MMEM_ALL:
        family_names = sorted({families[m] for m in used})
        what = f"{name} (mean over the {len(family_names)} family means of {', '.join(family_names)})"
    return field_record(
        f"Correlation of monthly shallow soil moisture with P - E of {what}, {options.period}, per grid cell "
        f"on the common {grid_spacing(out_cubes[-1])} degree grid; significance: {test}.",
        [files[(v, d)].path for d in used for v in CORRELATION_VARIABLES],
        used,
        ["corr"],
        "geo",
        extra_references=(["bretherton99jc"] if options.effective_n else [])
        + ([] if options.fdr_alpha is None else list(FDR_REFERENCES)),
    )


#: Citations of the false discovery rate control.
FDR_REFERENCES = ("benjamini95jrssb", "wilks16bams")


def _fdr_cube(
    p_value,
    fdr_alpha: float,
    template,
    name: str,
    synthetic: bool,
    method: str,
) -> iris.cube.Cube:
    """0/1 field of the cells that survive Benjamini-Hochberg at ``fdr_alpha`` over all land cells (var ``significant_fdr``).

    ``method`` describes the t test of the p-values (for the attribute ``smeval_significance``).
    """
    survives = benjamini_hochberg(p_value, fdr_alpha)
    tested = int(np.isfinite(p_value).sum())
    cube = field_cube(
        survives.astype(float),
        template,
        name,
        "1",
        f"survives Benjamini-Hochberg control of the false discovery rate at {fdr_alpha:g}",
        synthetic,
    )
    cube.var_name = "significant_fdr"
    cube.attributes["smeval_significance"] = (
        f"Benjamini-Hochberg control of the false discovery rate at alpha_FDR = {fdr_alpha:g} (Wilks 2016) over "
        f"the p-values of all {tested} land cells, from the two-sided t test with {method}; "
        f"{int(survives.sum())} cells survive"
    )
    return cube
