"""Benchmark of the science core: regional means and Taylor statistics at archive scale.

Times ``smeval.core.regional.regional_means`` (all regions in one matrix
product) and ``smeval.core.taylor.taylor_statistics`` (vectorised over data
sets x regions x references) on synthetic monthly fields, against a plain
per-data-set, per-region numpy loop and a per-series scipy loop.

Data sets are generated one at a time and dropped after use, so memory
does not grow with their number (the full archive, 250 x 432 x 160 x 320
float32, would be 22 GB). The loops are timed on a subset of the data sets
(``--loop-datasets``) and extrapolated linearly to all of them: both do the
same work for every data set, so their cost is proportional to the count.

Generating the random fields is timed separately and excluded from both
sides of the comparison.

With ``--bootstrap``, it times the uncertainty step of the metrics
instead (SPEC section 8; ``smeval.metrics.uncertainty``): the moving-block
bootstrap of R, sigma, E' and TSS of every data set against every reference
and of the references against each other, the percentile intervals as tidy
rows, TSS(MMEM-high) - TSS(MMEM-low) and the robust ranking, per variable,
from resampled years drawn once. The default case is the issue's: 1000
resamples x 40 data sets x 15 regions x 3 references x 6 variables of 432
months.

Example::

    .venv/bin/python benchmarks/bench_core.py --n-datasets 250 --loop-datasets 3
    .venv/bin/python benchmarks/bench_core.py --bootstrap
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import numpy as np
from scipy import stats

from smeval.core.regional import (
    cell_areas,
    region_weight_matrix,
    regional_means,
)
from smeval.core.regions import ALL_REGIONS, region_weights
from smeval.core.taylor import taylor_skill_score, taylor_statistics


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--n-datasets",
        type=int,
        default=250,
        help="number of model data sets (default 250)",
    )
    p.add_argument(
        "--n-time",
        type=int,
        default=432,
        help="monthly time steps per data set (default 432)",
    )
    p.add_argument(
        "--n-lat", type=int, default=160, help="grid rows (default 160)"
    )
    p.add_argument(
        "--n-lon", type=int, default=320, help="grid columns (default 320)"
    )
    p.add_argument(
        "--n-refs",
        type=int,
        default=2,
        help="reference data sets (default 2: ERA5, GLDAS)",
    )
    p.add_argument(
        "--loop-datasets",
        type=int,
        default=3,
        help="data sets on which the plain loops are timed, then extrapolated (default 3)",
    )
    p.add_argument(
        "--land-share",
        type=float,
        default=0.3,
        help="share of cells with land (default 0.3)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="skip tracemalloc (it slows allocation slightly); ru_maxrss is still reported",
    )
    b = p.add_argument_group("bootstrap case (--bootstrap)")
    b.add_argument(
        "--bootstrap",
        action="store_true",
        help="time the uncertainty step instead",
    )
    b.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="bootstrap resamples (default 1000)",
    )
    b.add_argument(
        "--boot-datasets",
        type=int,
        default=40,
        help="data sets per variable, incl. MMEM-high and -low (default 40)",
    )
    b.add_argument(
        "--boot-refs", type=int, default=3, help="references (default 3)"
    )
    b.add_argument(
        "--variables", type=int, default=6, help="variables (default 6)"
    )
    return p.parse_args(argv)


def make_grid(n_lat, n_lon):
    lat_edges = np.linspace(-90, 90, n_lat + 1)
    lon_edges = np.linspace(0, 360, n_lon + 1)
    return (
        np.stack([lat_edges[:-1], lat_edges[1:]], 1),
        np.stack([lon_edges[:-1], lon_edges[1:]], 1),
    )


def make_land(rng, shape, share):
    """Return a fixed land fraction (0..1): `share` of the cells are land, some of them coastal (partial)."""
    u = rng.random(shape)
    return np.where(u < share, np.minimum(1.0, 2 * rng.random(shape)), 0.0)


def make_dataset(rng, n_time, sea):
    """One data set: float32 soil moisture (kg m-2) masked over the sea, as iris delivers it."""
    data = rng.standard_normal((n_time, *sea.shape), dtype=np.float32)
    data *= 5.0
    data += 30.0
    return np.ma.masked_array(data, mask=np.broadcast_to(sea, data.shape))


def loop_regional_means(data, region_w):
    """Return the plain approach: for each region, a weighted mean over the full grid at every time step."""
    filled = data.filled(0).astype(np.float64)
    valid = ~np.ma.getmaskarray(data)
    out = np.empty((data.shape[0], len(region_w)))
    for j, w in enumerate(region_w):
        out[:, j] = (filled * w).sum(axis=(1, 2)) / (valid * w).sum(
            axis=(1, 2)
        )
    return out


def loop_taylor(model, ref):
    """Per-series scipy/numpy: R, sigma, E' and TSS for every (data set, region, reference)."""
    n_d, n_r, _ = model.shape
    out = np.empty((n_d, n_r, ref.shape[0], 4))
    for d in range(n_d):
        for g in range(n_r):
            for f in range(ref.shape[0]):
                m, r = model[d, g], ref[f, g]
                corr = stats.pearsonr(m, r).statistic
                sigma = np.std(m) / np.std(r)
                e = np.sqrt(
                    np.mean(((m - m.mean()) - (r - r.mean())) ** 2)
                ) / np.std(r)
                out[d, g, f] = corr, sigma, e, taylor_skill_score(corr, sigma)
    return out


def maxrss_mib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_bootstrap(a) -> int:
    """Time and memory of the uncertainty step of the metrics (see the module docstring)."""
    from smeval.core.bootstrap import (
        BootstrapOptions,
        block_indices,
        year_counts,
    )
    from smeval.core.ensemble import MMEM_HIGH, MMEM_LOW
    from smeval.metrics.uncertainty import variable_uncertainty

    rng = np.random.default_rng(a.seed)
    region_ids = tuple(r.id for r in ALL_REGIONS)
    months = np.arange(1979 * 12, 1979 * 12 + a.n_time)
    season = 30 + 5 * np.sin(2 * np.pi * np.arange(a.n_time) / 12)
    names = [f"MODEL-{i:02d}" for i in range(a.boot_datasets - 2)] + [
        MMEM_HIGH,
        MMEM_LOW,
    ]
    info = {
        n: (
            ("model", n, "low")
            if n.startswith("MODEL")
            else ("mmem", "", n.rsplit("-", 1)[-1])
        )
        for n in names
    }
    ref_names = ["ERA5", "ERA-Interim", "GLDAS-NOAH", "REF-4", "REF-5"][
        : a.boot_refs
    ]
    variables = [f"var{k}" for k in range(a.variables)]
    inputs = {
        v: (
            {
                n: season + rng.normal(0, 2, (len(region_ids), a.n_time))
                for n in names
            },
            {
                r: season + rng.normal(0, 2, (len(region_ids), a.n_time))
                for r in ref_names
            },
        )
        for v in variables
    }
    opts = BootstrapOptions(resamples=a.resamples)
    print(
        f"bootstrap: {a.resamples} resamples x {a.boot_datasets} data sets x {len(region_ids)} regions x "
        f"{a.boot_refs} references x {a.variables} variables, {a.n_time} months"
    )
    if not a.no_tracemalloc:
        tracemalloc.start()
    rss0 = maxrss_mib()
    t0, cpu0 = time.perf_counter(), time.process_time()
    n_years = a.n_time // 12
    counts = year_counts(
        block_indices(n_years, opts.block_years, opts.resamples, opts.seed),
        n_years,
    )
    rows = 0
    per_variable = []
    for v in variables:
        t1 = time.perf_counter()
        series, refs = inputs[v]
        result = variable_uncertainty(
            series,
            info,
            refs,
            v,
            region_ids,
            months,
            counts,
            opts,
            ref_names[:2],
            0.6,
        )
        rows += len(result.rows)
        per_variable.append(time.perf_counter() - t1)
    total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak_traced = (
        tracemalloc.get_traced_memory()[1] / 2**20
        if not a.no_tracemalloc
        else float("nan")
    )
    if not a.no_tracemalloc:
        tracemalloc.stop()
    print(
        f"total {total:.2f} s wall, {cpu:.2f} s CPU ({', '.join(f'{t:.2f}' for t in per_variable)} s wall "
        f"per variable), {rows} tidy rows"
    )
    print(
        f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine)"
    )
    print(
        f"peak traced memory: {peak_traced:.0f} MiB (tracemalloc); ru_maxrss {rss0:.0f} -> {maxrss_mib():.0f} MiB"
    )
    return 0


def main(argv=None):
    a = parse_args(argv)
    if a.bootstrap:
        return bench_bootstrap(a)
    rng = np.random.default_rng(a.seed)
    lat_b, lon_b = make_grid(a.n_lat, a.n_lon)
    land = make_land(rng, (a.n_lat, a.n_lon), a.land_share)
    sea = land == 0
    gb = a.n_datasets * a.n_time * a.n_lat * a.n_lon * 4 / 1e9
    print(
        f"{a.n_datasets} data sets x {a.n_time} months x {a.n_lat} x {a.n_lon} float32 "
        f"= {gb:.1f} GB streamed, {len(ALL_REGIONS)} regions, {a.n_refs} references"
    )

    t0 = time.perf_counter()
    weights = region_weight_matrix(lat_b, lon_b, land_fraction=land)
    t_weights = time.perf_counter() - t0
    print(
        f"weight matrix: {weights.matrix.shape} (cells read: {weights.cells.size} of {a.n_lat * a.n_lon}), "
        f"built in {t_weights:.3f} s"
    )

    refs = np.stack(
        [
            regional_means(make_dataset(rng, a.n_time, sea), weights)
            for _ in range(a.n_refs)
        ]
    )
    refs = np.moveaxis(refs, -1, 1)  # (refs, regions, time)

    # --- fast path: stream over data sets ---------------------------------
    if not a.no_tracemalloc:
        tracemalloc.start()
    series = np.empty((a.n_datasets, len(ALL_REGIONS), a.n_time))
    t_gen = t_fast = 0.0
    rss_checkpoints = []
    for d in range(a.n_datasets):
        t0 = time.perf_counter()
        data = make_dataset(rng, a.n_time, sea)
        t1 = time.perf_counter()
        series[d] = regional_means(data, weights).T
        t_fast += time.perf_counter() - t1
        t_gen += t1 - t0
        del data
        if d + 1 in {1, max(1, a.n_datasets // 10), a.n_datasets}:
            rss_checkpoints.append((d + 1, maxrss_mib()))
    t0 = time.perf_counter()
    stats_fast = taylor_statistics(
        series[:, :, None, :], np.swapaxes(refs, 0, 1)[None]
    )
    t_taylor_fast = time.perf_counter() - t0
    peak_traced = (
        tracemalloc.get_traced_memory()[1] / 2**20
        if not a.no_tracemalloc
        else float("nan")
    )
    if not a.no_tracemalloc:
        tracemalloc.stop()

    # --- plain loops on a subset, extrapolated linearly ---------------------
    n_loop = min(a.loop_datasets, a.n_datasets)
    areas = cell_areas(lat_b, lon_b)
    region_w = [
        areas * land * region_weights(lat_b, lon_b, r) for r in ALL_REGIONS
    ]
    sub_rng = np.random.default_rng(a.seed + 1)
    t_loop = 0.0
    check = []
    for _ in range(n_loop):
        data = make_dataset(sub_rng, a.n_time, sea)
        t0 = time.perf_counter()
        slow = loop_regional_means(data, region_w)
        t_loop += time.perf_counter() - t0
        check.append(np.nanmax(np.abs(slow - regional_means(data, weights))))
        del data
    t_loop_all = t_loop / n_loop * a.n_datasets
    t0 = time.perf_counter()
    slow_stats = loop_taylor(series[:n_loop], refs)
    t_taylor_loop = (time.perf_counter() - t0) / n_loop * a.n_datasets
    fast_sub = np.stack(
        [
            stats_fast.R[:n_loop],
            stats_fast.sigma[:n_loop],
            stats_fast.E[:n_loop],
            stats_fast.TSS[:n_loop],
        ],
        axis=-1,
    )
    taylor_diff = np.nanmax(np.abs(fast_sub - slow_stats))

    print()
    print(f"{'step':<34}{'core (s)':>12}{'loop (s)':>12}{'ratio':>9}")
    print(
        f"{'regional means':<34}{t_fast:>12.2f}{t_loop_all:>12.2f}{t_loop_all / t_fast:>9.1f}"
    )
    print(
        f"{'Taylor statistics':<34}{t_taylor_fast:>12.4f}{t_taylor_loop:>12.2f}"
        f"{t_taylor_loop / t_taylor_fast:>9.0f}"
    )
    total_fast = t_fast + t_taylor_fast
    total_loop = t_loop_all + t_taylor_loop
    print(
        f"{'total':<34}{total_fast:>12.2f}{total_loop:>12.2f}{total_loop / total_fast:>9.1f}"
    )
    print(
        f"(loops timed on {n_loop} data sets and extrapolated linearly to {a.n_datasets}; "
        f"data generation, {t_gen:.1f} s, excluded)"
    )
    print(
        f"max |core - loop|: regional means {max(check):.2e} kg m-2, Taylor statistics {taylor_diff:.2e}"
    )
    print(
        f"peak traced memory of the streaming pass: {peak_traced:.0f} MiB (tracemalloc)"
    )
    print(
        "ru_maxrss after n data sets: "
        + ", ".join(f"{n}: {m:.0f} MiB" for n, m in rss_checkpoints)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
