"""One member's products computed in blocks of its time chunks, so that memory does not grow with the years.

A member's fields feed several products at once: its regional series, the
value checks, the map branch's climatology and, for the
``correlation_variables``, the correlation branch. Given a long period in
one ``dask.compute``, dask kept more of the read chunks alive the more
there were: on ERA5's 0.25-degree grid the series script's peak memory grew
from 1.6 GB at 6 years to 3.9 GB at 36 (``benchmarks/README.md``).

So a member whose data come in several chunks along time is computed one
block of chunks at a time (at most :data:`BLOCK_BYTES`; a block never cuts
a chunk, so no stored chunk is decoded twice), and the blocks' products
combine exactly:

- the regional series, the correlation branch (one time step at a time:
  ESMValCore's ``ensemble_statistics`` over members, ``regrid``) and the
  running mean's contributions are joined along time;
- the value checks' valid counts, minima and maxima are reduced;
- the map branch's first step, :func:`smeval.preprocessor.climate_mean`, is
  the ratio of two sums over time (:func:`smeval.preprocessor.climate_sums`):
  the blocks' sums are added, then the mean and the map branch's other steps
  are taken once.

This holds for steps that act on each time step alone (:data:`PER_TIME_STEP`)
and a map branch that starts with ``climate_mean``; with other steps the
member is computed whole, as before (:func:`blockable`).

A data set whose members are summed into a running ensemble mean is
computed the other way round: block by block of months (:func:`month_blocks`,
at most :data:`MEAN_BLOCK_BYTES` of one member), each block over all its
members, so that the mean's float64 sums span one block and not the period.

What such a member or data set gives for the whole period on a grid (the
correlation branch, the running mean before its regridding) is kept block
by block in files (:class:`SpilledBlocks`) until it is written, so that it
is never in memory whole.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import dask
import dask.array as da
import numpy as np

from .preprocess import ENSEMBLE_STEP

#: Steps that act on each time step alone, so that a block of months gives
#: those months of the whole period's result.
PER_TIME_STEP = frozenset(
    {
        "soil_column",
        "box_means",
        ENSEMBLE_STEP,
        "regrid",
        "mask_landsea",
        "convert_units",
        "extract_region",
    }
)
#: The map step whose result the blocks' sums give.
BLOCKED_MAP_STEP = "climate_mean"
#: Bytes of a member's data in one block: iris reads chunks of up to dask's
#: ``array.chunk-size`` (128 MiB), so a block is one such chunk, or several
#: smaller ones.
BLOCK_BYTES = 128 * 2**20
#: Bytes of one member's data in a block of the running ensemble mean
#: (:mod:`smeval.diag.running_mean`): its sums are float64, two members are
#: computed at once, so a block holds about eight times this.
MEAN_BLOCK_BYTES = 32 * 2**20


def blockable(
    series_steps: Mapping[str, Any],
    map_steps: Mapping[str, Any] | None,
    correlation_steps: Mapping[str, Any],
) -> bool:
    """Return True if blocks of months give the whole period's products with these steps (``map_steps`` None: no map branch)."""
    if (
        map_steps is not None
        and next(iter(map_steps), None) != BLOCKED_MAP_STEP
    ):
        return False
    return set(series_steps) | set(correlation_steps) <= PER_TIME_STEP


def chunk_blocks(
    time_chunks: Sequence[int], month_bytes: int, budget: int = BLOCK_BYTES
) -> list[slice]:
    """Consecutive blocks of whole time chunks, each at most ``budget`` bytes (or one chunk), covering the time axis."""
    blocks, start, size = [], 0, 0
    end = 0
    for length in time_chunks:
        if end > start and (size + length) * month_bytes > budget:
            blocks.append(slice(start, end))
            start, size = end, 0
        end += length
        size += length
    blocks.append(slice(start, end))
    return blocks


def month_blocks(
    months: int, month_bytes: int, budget: int = MEAN_BLOCK_BYTES
) -> list[slice]:
    """Consecutive blocks of about equal numbers of months, each at most ``budget`` bytes (or one month), covering ``months``.

    Unlike :func:`chunk_blocks`, these may cut dask's chunks: a block's
    months computed alone are read as one hyperslab (the series script's
    ``_read_block``), so with ``preproc/`` stored one month per chunk (the
    recipe's ``optimize_access: map``) nothing is decoded twice.
    """
    per_block = max(1, budget // max(month_bytes, 1))
    if months <= per_block:
        return [slice(0, months)]
    count = -(-months // per_block)
    length = -(-months // count)
    return [
        slice(start, min(start + length, months))
        for start in range(0, months, length)
    ]


def join(blocks: list):
    """Return the blocks' arrays joined along their first axis (time), masks kept; tuples element by element; None stays None."""
    first = blocks[0]
    if first is None:
        return None
    if isinstance(first, tuple):
        return tuple(join(list(parts)) for parts in zip(*blocks, strict=True))
    if any(np.ma.isMaskedArray(b) for b in blocks):
        return np.ma.concatenate(blocks, axis=0)
    return np.concatenate(blocks, axis=0)


def combine_summaries(blocks: list[tuple]) -> tuple:
    """Return one (valid count, minimum, maximum) from those of consecutive blocks (:func:`smeval.diag.checks.lazy_value_summary`)."""
    counts, minima, maxima = zip(*blocks, strict=True)
    return sum(counts), min(minima), max(maxima)


def combine_sums(blocks: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Return one (total, length) of :func:`smeval.preprocessor.climate_sums` from those of consecutive blocks."""
    totals, lengths = zip(*blocks, strict=True)
    return np.sum(totals, axis=0), np.sum(lengths, axis=0)


class SpilledBlocks:
    """Consecutive blocks of months of one array, kept in files until the whole is written.

    A whole period's field (88 MB of float32 on the common grid at 36
    years; the running mean of a model's members on its native grid, 127
    MB for MPI-ESM1-2-HR) joined in memory was held twice while joined, so
    the series script's peak grew with the years. Here each block goes to a
    ``.npy`` file in a scratch folder under ``folder`` as it is computed;
    :meth:`lazy` joins them lazily, each block read back when dask writes
    it. The folder is removed when the context ends.
    """

    def __init__(self, folder: str | Path) -> None:
        self._folder = folder
        self._dir: Path | None = None
        self._blocks: list[tuple[Path, Path | None, tuple, np.dtype]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.clear()

    def add(self, block: np.ndarray) -> None:
        """Keep ``block`` (numpy or masked array) as the next block of months."""
        if self._dir is None:
            Path(self._folder).mkdir(parents=True, exist_ok=True)
            self._dir = Path(
                tempfile.mkdtemp(prefix="blocks-", dir=self._folder)
            )
        stem = self._dir / str(len(self._blocks))
        data = stem.with_suffix(".data.npy")
        np.save(data, np.ma.getdata(block))
        mask = None
        if np.ma.isMaskedArray(block):
            mask = stem.with_suffix(".mask.npy")
            np.save(mask, np.ma.getmaskarray(block))
        self._blocks.append((data, mask, block.shape, block.dtype))

    def lazy(self) -> da.Array | None:
        """Return the blocks joined along time, lazily (None if there are none); masked if any block is, as :func:`join` gives them."""
        if not self._blocks:
            return None
        masked = any(mask is not None for _, mask, _, _ in self._blocks)
        kind = np.ma.MaskedArray if masked else np.ndarray
        parts = [
            da.from_delayed(
                dask.delayed(_load_block)(data, mask, masked),
                shape,
                dtype=dtype,
                meta=np.empty((0,) * len(shape), dtype).view(kind),
            )
            for data, mask, shape, dtype in self._blocks
        ]
        return da.concatenate(parts, axis=0)

    def clear(self) -> None:
        """Remove the blocks kept so far (and their files)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir, self._blocks = None, []


def _load_block(data: Path, mask: Path | None, masked: bool) -> np.ndarray:
    """Read one block of :class:`SpilledBlocks` back (a masked array if ``masked``)."""
    values = np.load(data)
    if not masked:
        return values
    return np.ma.MaskedArray(
        values, mask=False if mask is None else np.load(mask)
    )
