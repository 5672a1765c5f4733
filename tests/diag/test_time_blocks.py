"""A member computed in blocks of its time chunks gives the products of the whole period (`smeval.diag.time_blocks`).

Known answers: the same script run without blocks (every file it writes,
values and masks), and blocks worked out by hand.
"""

from __future__ import annotations

import itertools
import logging

import dask
import iris
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_correlation_diagnostic import (
    N_MONTHS,
    _excluded,
    _one_model,
    assert_field_is_mean,
)

from smeval.diag import regional_series, time_blocks
from smeval.diag.regional_series import write_regional_series


def _run(tmp_path, members, blocked: bool, monkeypatch):
    """Run the series script on MODEL-A's ``members``; return (files written by relative path, number of dask.compute calls)."""
    calls = []
    compute = dask.compute

    def counted(*args, **kwargs):
        calls.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(
        regional_series,
        "dask",
        type("D", (), {"compute": staticmethod(counted)}),
    )
    # A chunk of 5 months of the 45 x 90 test grid (4 degrees), and one
    # chunk per block: 36 months in 8 blocks.
    chunk = "81KiB" if blocked else "128MiB"
    budget = 81 * 1024 if blocked else time_blocks.BLOCK_BYTES
    monkeypatch.setattr(time_blocks, "BLOCK_BYTES", budget)
    monkeypatch.setattr(time_blocks.chunk_blocks, "__defaults__", (budget,))
    with dask.config.set({"array.chunk-size": chunk}):
        written = write_regional_series(_one_model(tmp_path, members))
    return {p.relative_to(tmp_path): p for p in written}, len(calls)


def _assert_same_files(whole: dict, blocked: dict, rtol: float) -> None:
    """Check that the files of both runs hold the same masks and values (to ``rtol``)."""
    for name, path in whole.items():
        ours = iris.load_cube(str(blocked[name])).data
        theirs = iris.load_cube(str(path)).data
        np.testing.assert_array_equal(
            np.ma.getmaskarray(ours),
            np.ma.getmaskarray(theirs),
            err_msg=str(name),
        )
        np.testing.assert_allclose(
            np.ma.filled(ours, 0.0),
            np.ma.filled(theirs, 0.0),
            rtol=rtol,
            atol=0,
            err_msg=str(name),
        )


@pytest.mark.parametrize("n_members", [1, 3])
def test_blocks_of_time_chunks_give_the_products_of_the_whole_period(
    tmp_path, monkeypatch, n_members
):
    # One member: the reference-like path (products and correlation branch
    # of one member); three: the running mean, each member by blocks.
    rng = np.random.default_rng(21)
    members = {
        f"r{i}i1p1f1": 50 + 5 * rng.normal(size=N_MONTHS)
        for i in range(1, n_members + 1)
    }
    whole, whole_calls = _run(tmp_path / "whole", members, False, monkeypatch)
    blocked, blocked_calls = _run(
        tmp_path / "blocked", members, True, monkeypatch
    )

    assert whole.keys() == blocked.keys()
    assert len(whole) == 2 * n_members + 1
    assert blocked_calls > whole_calls  # the blocks were used
    _assert_same_files(whole, blocked, rtol=1e-6)


def test_blocks_hold_whole_chunks_within_the_budget():
    # Chunks of 5, 5, 5, 2 months of 10 bytes: a budget of 100 bytes holds
    # two chunks (100), not three; a chunk larger than the budget is a block.
    assert time_blocks.chunk_blocks((5, 5, 5, 2), 10, 100) == [
        slice(0, 10),
        slice(10, 17),
    ]
    assert time_blocks.chunk_blocks((30, 6), 10, 100) == [
        slice(0, 30),
        slice(30, 36),
    ]
    assert time_blocks.chunk_blocks((12,), 10, 100) == [slice(0, 12)]


def test_joined_blocks_keep_their_masks_and_tuples():
    a = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    b = np.array([3.0])
    joined = time_blocks.join([a, b])
    assert joined.tolist() == [1.0, None, 3.0]
    values, valid = time_blocks.join([(b, b > 0), (b, b < 0)])
    assert values.tolist() == [3.0, 3.0]
    assert valid.tolist() == [True, False]
    assert time_blocks.join([None, None]) is None
    assert time_blocks.combine_summaries(
        [(2, 1.0, 5.0), (0, np.inf, -np.inf)]
    ) == (
        2,
        1.0,
        5.0,
    )


def test_only_steps_of_one_time_step_and_a_leading_climate_mean_are_blocked():
    series = {"soil_column": {}, "box_means": {}}
    correlation = {
        "ensemble_statistics": {"statistics": ["mean"]},
        "regrid": {},
    }
    maps = {"climate_mean": {}, "regrid": {}, "mask_landsea": {}}
    assert time_blocks.blockable(series, maps, correlation)
    assert time_blocks.blockable(series, None, correlation)
    assert not time_blocks.blockable(
        series, {"climate_statistics": {}, "regrid": {}}, correlation
    )
    assert not time_blocks.blockable(
        {**series, "detrend": {}}, maps, correlation
    )
    assert not time_blocks.blockable(
        series, maps, {**correlation, "anomalies": {}}
    )


def _mean_in_blocks(monkeypatch, months_per_block: int) -> None:
    """Make a running mean take blocks of ``months_per_block`` months of the 45 x 90 float32 test grid."""
    monkeypatch.setattr(
        time_blocks, "MEAN_BLOCK_BYTES", months_per_block * 45 * 90 * 4
    )


def test_a_running_mean_block_by_block_gives_the_products_of_the_whole_period(
    tmp_path, monkeypatch
):
    # Five members (three batches of at most two) in blocks of 5 months:
    # 36 months in 8 blocks, each over every member, against the same
    # members computed whole.
    rng = np.random.default_rng(22)
    members = {
        f"r{i}i1p1f1": 50 + 5 * rng.normal(size=N_MONTHS) for i in range(1, 6)
    }
    whole, whole_calls = _run(tmp_path / "whole", members, False, monkeypatch)
    _mean_in_blocks(monkeypatch, 5)
    blocked, blocked_calls = _run(
        tmp_path / "blocked", members, False, monkeypatch
    )

    assert whole.keys() == blocked.keys()
    assert len(whole) == 2 * len(members) + 1
    # 8 blocks x 3 batches, each read, then computed; whole: 3 batches.
    assert (whole_calls, blocked_calls) == (3, 2 * 8 * 3)
    # The same sums in the same order of members: the same values.
    _assert_same_files(whole, blocked, rtol=0)


def test_blocks_of_months_cover_the_period_within_the_budget_in_equal_parts():
    # 36 months of 10 bytes, 100 bytes a block: 10 months at most, so 4
    # blocks of 9 months; a month larger than the budget is a block.
    assert time_blocks.month_blocks(36, 10, 100) == [
        slice(0, 9),
        slice(9, 18),
        slice(18, 27),
        slice(27, 36),
    ]
    assert time_blocks.month_blocks(36, 10, 400) == [slice(0, 36)]
    assert time_blocks.month_blocks(3, 1000, 100) == [
        slice(0, 1),
        slice(1, 2),
        slice(2, 3),
    ]


@given(
    months=st.integers(1, 600),
    month_bytes=st.integers(1, 10**6),
    budget=st.integers(1, 10**8),
)
def test_blocks_of_months_are_consecutive_and_within_the_budget(
    months, month_bytes, budget
):
    blocks = time_blocks.month_blocks(months, month_bytes, budget)
    assert blocks[0].start == 0
    assert blocks[-1].stop == months
    assert all(a.stop == b.start for a, b in itertools.pairwise(blocks))
    lengths = [b.stop - b.start for b in blocks]
    assert all(n >= 1 for n in lengths)
    assert all(n == 1 or n * month_bytes <= budget for n in lengths)
    # As few blocks as the budget allows, of lengths differing by at most
    # the remainder of the last.
    per_block = max(1, budget // month_bytes)
    assert len(blocks) == -(-months // per_block)
    assert max(lengths[:-1], default=lengths[-1]) == lengths[0] >= lengths[-1]


def test_a_member_the_full_check_excludes_leaves_a_mean_in_blocks_summed_again(
    tmp_path, monkeypatch, caplog
):
    # r3 passes the check of its first, middle and last months but holds an
    # implausible 500 kg m-2 in its fifth month, in the first block of 5
    # months. It was summed into the blocks' means before the full check
    # could see its whole period, so the mean is summed again from r1 and
    # r2, logged as a second read.
    rng = np.random.default_rng(5)
    r1, r2, r3 = (50 + rng.normal(size=N_MONTHS) for _ in range(3))
    r3[4] = 500.0
    _mean_in_blocks(monkeypatch, 5)
    cfg = _one_model(
        tmp_path, {"r1i1p1f1": r1, "r2i1p1f1": r2, "r3i1p1f1": r3}
    )
    with caplog.at_level(logging.WARNING):
        write_regional_series(cfg)

    [row] = _excluded(tmp_path).itertuples()
    assert row.member == "r3i1p1f1"
    assert "plausible range" in row.reason
    assert_field_is_mean(tmp_path, {"r1i1p1f1": r1, "r2i1p1f1": r2})
    [message] = [
        r.getMessage() for r in caplog.records if "again" in r.message
    ]
    assert "without member r3i1p1f1" in message


_BLOCKS = st.lists(
    st.tuples(
        st.integers(1, 4),  # months in the block
        st.booleans(),  # masked
        st.integers(0, 2**16),  # seed
    ),
    min_size=1,
    max_size=5,
)


def _blocks_of(spec) -> list[np.ndarray]:
    """float32 blocks of (months, 3, 4) values, masked where the spec says so."""
    blocks = []
    for months, masked, seed in spec:
        values = (
            np.random.default_rng(seed)
            .normal(size=(months, 3, 4))
            .astype(np.float32)
        )
        blocks.append(np.ma.masked_less(values, 0.0) if masked else values)
    return blocks


@given(spec=_BLOCKS)
def test_spilled_blocks_read_back_as_the_joined_blocks(tmp_path_factory, spec):
    blocks = _blocks_of(spec)
    folder = tmp_path_factory.mktemp("scratch")
    with time_blocks.SpilledBlocks(folder) as spill:
        for block in blocks:
            spill.add(block)
        lazy = spill.lazy()
        # Read back block by block, as dask writes them.
        assert lazy.chunks[0] == tuple(b.shape[0] for b in blocks)
        ours = lazy.compute()
        theirs = time_blocks.join(blocks)
        assert type(ours) is type(theirs)
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_array_equal(
            np.ma.getmaskarray(ours), np.ma.getmaskarray(theirs)
        )
        np.testing.assert_array_equal(
            np.ma.getdata(ours), np.ma.getdata(theirs)
        )
        spill.clear()
        assert spill.lazy() is None
        assert not list(folder.iterdir())
        spill.add(blocks[0])
    # Nothing is left behind in the scratch folder.
    assert not list(folder.iterdir())


@pytest.mark.parametrize(("n_members", "mean_months"), [(1, None), (3, 5)])
def test_a_field_computed_in_blocks_is_never_joined_in_memory(
    tmp_path, monkeypatch, n_members, mean_months
):
    # One member in blocks of its time chunks (its correlation branch), and
    # a running mean of three members in blocks of 5 months: each block of
    # the field goes to the scratch folder as computed; no (time, lat, lon)
    # array is joined, and the file holds the same values as a whole run.
    rng = np.random.default_rng(23)
    members = {
        f"r{i}i1p1f1": 50 + 5 * rng.normal(size=N_MONTHS)
        for i in range(1, n_members + 1)
    }
    whole, _ = _run(tmp_path / "whole", members, False, monkeypatch)
    spilled, joined, folders = [], [], set()
    add, join = time_blocks.SpilledBlocks.add, time_blocks.join

    def recording_add(self, block):
        spilled.append(block.shape)
        add(self, block)
        folders.add(self._dir.parent)

    def recording_join(blocks):
        joined.extend(np.ndim(b) for b in blocks if b is not None)
        return join(blocks)

    monkeypatch.setattr(time_blocks.SpilledBlocks, "add", recording_add)
    monkeypatch.setattr(time_blocks, "join", recording_join)
    if mean_months:
        _mean_in_blocks(monkeypatch, mean_months)
    blocked, _ = _run(
        tmp_path / "blocked", members, mean_months is None, monkeypatch
    )

    assert len(spilled) > 1
    assert sum(shape[0] for shape in spilled) == N_MONTHS
    assert max(shape[0] for shape in spilled) < N_MONTHS
    assert 3 not in joined  # only series (time, region) are joined
    _assert_same_files(whole, blocked, rtol=1e-6 if n_members == 1 else 0)
    # In the script's run folder, removed once the field is written.
    run = tmp_path / "blocked" / "soil_moisture" / "run"
    assert folders == {run}
    assert not list(run.glob("blocks-*"))
