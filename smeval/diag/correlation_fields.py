"""The work of ``diagnostics/correlation_fields.py``: correlation maps of soil moisture with P - E (Fig. 11).

Inputs are each data set's monthly fields on the common grid (a model's
ensemble mean, a reference's own field), which the regional-series scripts
computed with ESMValCore's functions (their ``correlation_steps`` option)
from the same read as the series (:mod:`smeval.diag.ensemble_fields`). Models are
combined into CMIP6-MMEM with the hierarchical weighting of SPEC section 4;
the results are written as NetCDF (docs/results.md) with the helpers both
map scripts share (:mod:`smeval.diag.map_fields`).
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
    DEFAULT_FDR_ALPHA,
    benjamini_hochberg,
    gridpoint_correlation_in_blocks,
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


#: Months of the CMIP6-MMEM computed at once: one chunk of the field files
#: (:data:`~smeval.diag.ensemble_fields.CHUNK_MONTHS`). The mean is element
#: by element, so block by block gives the same values; in blocks every
#: intermediate array (5 MB on the common grid) stays in the processor's
#: cache and its memory is reused, where whole fields (177 MB each) cost a
#: fresh allocation for every read and step.
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
    alpha = 1.0 - options.significance_level
    effective_n = options.significance_method == "effective-sample-size"
    period = options.period
    fdr_alpha = options.fdr_alpha
    complete = sorted({d for _, d in files})
    all_months = np.concatenate([f.months for f in files.values()])
    months = np.arange(all_months.min(), all_months.max() + 1)
    template = files[("mrsos", complete[0])].cube
    synthetic = any(is_synthetic(f.cube) for f in files.values())

    def soil(dataset, block):
        return files[("mrsos", dataset)].read(block)

    def pme(dataset, block):
        flux = files[("pr", dataset)].read(block)
        flux -= files[("evspsbl", dataset)].read(block)
        return flux

    models = [d for d in complete if d not in references]
    # Loaders, so that one data set's fields at a time are in memory.
    pairs: dict[str, Any] = {
        d: (lambda d=d: (soil(d, months), pme(d, months)))
        for d in complete
        if d in references
    }
    if models:
        # Each model's ensemble mean; the MMEM is the mean over families.
        # Computed when its turn comes, not held while the references are.
        pairs[MMEM_ALL] = lambda: (
            _mmem_by_blocks(soil, models, families, months),
            _mmem_by_blocks(pme, models, families, months),
        )
    written = []
    work = Path(cfg["work_dir"])
    for name, load in pairs.items():
        x, y = load()
        result = gridpoint_correlation_in_blocks(
            x, y, alpha=alpha, effective_n=effective_n
        )
        out_cubes = iris.cube.CubeList(
            [
                field_cube(
                    result.R,
                    template,
                    name,
                    "1",
                    "correlation of shallow soil moisture with P - E",
                    synthetic,
                ),
                field_cube(
                    result.p_value,
                    template,
                    name,
                    "1",
                    "two-sided p-value of the correlation",
                    synthetic,
                ),
                field_cube(
                    result.significant.astype(float),
                    template,
                    name,
                    "1",
                    f"significant at the {100 * (1 - alpha):g} % level",
                    synthetic,
                ),
            ]
        )
        for cube, short in zip(
            out_cubes, ("r", "p_value", "significant"), strict=True
        ):
            cube.var_name = short
        method = (
            "effective sample size from lag-1 autocorrelation (Bretherton et al. 1999)"
            if effective_n
            else "n - 2 degrees of freedom"
        )
        test = f"two-sided t test at the {100 * (1 - alpha):g} % level with {method}"
        out_cubes[2].attributes["smeval_significance"] = (
            f"each cell alone: {test}"
        )
        if fdr_alpha is not None:
            out_cubes.append(
                _fdr_cube(
                    result.p_value,
                    float(fdr_alpha),
                    template,
                    name,
                    synthetic,
                    f"{method}; {int(result.significant.sum())} cells significant one by one "
                    f"at the {100 * (1 - alpha):g} % level",
                )
            )
            test = out_cubes[-1].attributes["smeval_significance"]
        out = save_cube(out_cubes, work / f"correlation_{name}.nc")
        written.append(out)
        used = models if name == MMEM_ALL else [name]
        what = name
        if name == MMEM_ALL:
            family_names = sorted({families[m] for m in models})
            what = f"{name} (mean over the {len(family_names)} family means of {', '.join(family_names)})"
        provlog.log(
            out,
            field_record(
                f"Correlation of monthly shallow soil moisture with P - E of {what}, {period}, per grid cell "
                f"on the common {grid_spacing(out_cubes[-1])} degree grid; significance: {test}.",
                [
                    files[(v, d)].path
                    for d in used
                    for v in CORRELATION_VARIABLES
                ],
                used,
                ["corr"],
                "geo",
                extra_references=(["bretherton99jc"] if effective_n else [])
                + ([] if fdr_alpha is None else list(FDR_REFERENCES)),
            ),
        )
    return written


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
