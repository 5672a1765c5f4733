"""The series-memory benchmark and the long stand-in it measures run on a tiny archive (not timed)."""

from __future__ import annotations

import iris
import numpy as np
import pytest
import yaml
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
            "obs6",
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


def test_a_reference_of_the_obs6_tree_is_one_data_set(archive, capsys):
    bench = load_benchmark("bench_series_memory")
    assert bench.main([str(archive), "--model", "ERA5", "--members", "1"]) == 0
    [row] = capsys.readouterr().out.strip().splitlines()[1:]
    # ERA5's mrsos and land fraction; its series, climatology and field.
    assert row.split(" | ")[:3] == ["1", "2", "3"]


def test_the_long_stand_in_repeats_the_months_on_a_continuous_axis(
    archive, tmp_path
):
    tile = load_benchmark("tile_years")
    [source] = archive.glob("OBS6/Tier*/ERA5/*_Lmon_mrsos_*.nc")
    out = tmp_path / "long.nc"
    assert tile.main([str(source), str(out), "--times", "3"]) == 0
    short, long = iris.load_cube(str(source)), iris.load_cube(str(out))
    n = short.shape[0]
    assert long.shape == (3 * n, *short.shape[1:])
    np.testing.assert_array_equal(long.data[2 * n :], short.data)
    bounds = long.coord("time").bounds
    np.testing.assert_array_equal(bounds[1:, 0], bounds[:-1, 1])
    first = long.coord("time").units.num2date(bounds[0, 0])
    last = long.coord("time").units.num2date(bounds[-1, 1])
    assert (first.year, first.month) == (1979, 1)
    assert last.year - first.year == 3 * n // 12
    with pytest.raises(SystemExit):
        tile.main([str(source), str(out)])  # never overwritten


def test_series_peaks_charges_each_step_of_a_replayed_task(
    archive, tmp_path, capsys
):
    # A finished task in miniature: a settings.yml with the recipe's options
    # and a metadata.yml naming the archive's files of two members and ERA5.
    memory = load_benchmark("bench_series_memory")
    peaks = load_benchmark("series_peaks")
    inputs = {
        **memory.input_data(archive, "CNRM-CM6-1", "mrsos", 2),
        **memory.input_data(archive, "ERA5", "mrsos", 1),
    }
    metadata = tmp_path / "preproc" / "metadata.yml"
    metadata.parent.mkdir()
    metadata.write_text(yaml.safe_dump(inputs))
    settings = tmp_path / "settings.yml"
    settings.write_text(
        yaml.safe_dump(
            {**memory.script_options("mrsos"), "input_files": [str(metadata)]},
            sort_keys=False,  # the steps' order is theirs
        )
    )
    argv = [str(settings), str(tmp_path / "scratch")]
    assert peaks.main([*argv, "--only", "CNRM-CM6-1/mrsos"]) == 0
    header, table, *rows = capsys.readouterr().out.strip().splitlines()
    assert header.startswith("peak RSS of the process")
    assert table == "step | peak RSS GB | RSS at its start GB"
    steps = {row.split(" | ")[0] for row in rows}
    # Each member prepared, then the data set's members computed together.
    assert steps == {
        "CNRM-CM6-1/mrsos/r1i1p1f2",
        "CNRM-CM6-1/mrsos/r2i1p1f2",
        "CNRM-CM6-1/mrsos/all 2",
    }
    for row in rows:
        peak, start = (float(v) for v in row.split(" | ")[1:])
        assert peak >= start > 0.05
    assert (tmp_path / "scratch" / "work" / "sm_shallow").is_dir()
    with pytest.raises(SystemExit):  # the scratch folder exists now
        peaks.main(argv)
    with pytest.raises(ValueError, match="none of GLDAS-NOAH/mrsos"):
        peaks.selected(inputs, ["GLDAS-NOAH/mrsos"])
