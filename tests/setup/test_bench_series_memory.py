"""The series-memory benchmark runs on a tiny archive and reports what it ran (not timed)."""

from __future__ import annotations

import pytest
from bench_helpers import load_benchmark

from smeval.cli import main


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    main(
        [
            "sample-data",
            "--out",
            str(out),
            "--scale",
            "tiny",
            "--models",
            "CNRM-CM6-1",
            "--members",
            "2",
            "--reanalyses",
            "none",
            "--quiet",
        ]
    )
    return out


def test_one_row_per_number_of_members_with_the_files_it_wrote(
    archive, capsys
):
    bench = load_benchmark("bench_series_memory")
    assert (
        bench.main(
            [str(archive), "--model", "CNRM-CM6-1", "--members", "1", "2"]
        )
        == 0
    )
    header, *rows = capsys.readouterr().out.strip().splitlines()
    assert header.startswith("members | files")
    cells = [row.split(" | ") for row in rows]
    assert [c[0] for c in cells] == ["1", "2"]
    # mrsos of 1 or 2 members plus sftlf and areacella; each member's series
    # and climatology, and the data set's field on the common grid.
    assert [(c[1], c[2]) for c in cells] == [("3", "3"), ("4", "5")]
    assert all(float(c[5]) > 0.1 for c in cells)


def test_a_model_with_too_few_members_is_refused(archive):
    bench = load_benchmark("bench_series_memory")
    with pytest.raises(ValueError, match="has 2 members of mrsos, not 3"):
        bench.input_data(archive, "CNRM-CM6-1", "mrsos", 3)
