"""smeval's diagnostic interface without ESMValTool (smeval.diag.standalone through smeval.diag.shared).

It must behave as ESMValTool's ``esmvaltool.diag_scripts.shared`` does; the
same script run through both is compared in
tests/e2e/test_beside_esmvaltool.py (it needs the environment with esmvaltool).
"""

from __future__ import annotations

import logging
from pathlib import Path

import dask
import dask.array as da
import pytest
import yaml

from smeval.diag import shared, standalone


@pytest.fixture(autouse=True)
def _own_interface(monkeypatch):
    monkeypatch.setenv(shared.INTERFACE_ENV, "smeval")


def _settings(tmp_path: Path, **extra) -> Path:
    run_dir = tmp_path / "run" / "diag" / "script"
    run_dir.mkdir(parents=True)
    preproc = tmp_path / "preproc" / "diag" / "var"
    preproc.mkdir(parents=True)
    (preproc / "metadata.yml").write_text(
        yaml.safe_dump({"/x/a.nc": {"dataset": "A", "short_name": "mrsos"}})
    )
    ancestor = tmp_path / "work" / "other" / "script"
    ancestor.mkdir(parents=True)
    settings = {
        "run_dir": str(run_dir),
        "work_dir": str(tmp_path / "work" / "diag" / "script"),
        "plot_dir": str(tmp_path / "plots" / "diag" / "script"),
        "log_level": "info",
        "script": "script",
        "output_file_type": "png",
        "input_files": [str(preproc / "metadata.yml"), str(ancestor)],
        **extra,
    }
    path = run_dir / "settings.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _run(settings: Path, *options: str) -> dict:
    with shared.run_diagnostic(["script.py", str(settings), *options]) as cfg:
        return cfg


def test_configuration_has_inputs_and_ancestors(tmp_path):
    cfg = _run(_settings(tmp_path))
    assert cfg["input_data"] == {
        "/x/a.nc": {"dataset": "A", "short_name": "mrsos"}
    }
    assert cfg["ancestor_dirs"] == [tmp_path / "work" / "other" / "script"]
    assert Path(cfg["work_dir"]).is_dir()
    assert Path(cfg["plot_dir"]).is_dir()
    assert shared.interface() is standalone


def test_existing_output_refused_unless_forced_or_ignored(tmp_path):
    settings = _settings(tmp_path)
    cfg = _run(settings)
    old = Path(cfg["work_dir"]) / "old.csv"
    old.write_text("1")
    with pytest.raises(FileExistsError, match="-f or --force"):
        _run(settings)
    _run(settings, "-i")
    assert old.is_file()
    _run(settings, "-f")
    assert not old.exists()


def test_log_level_option(tmp_path):
    _run(_settings(tmp_path), "-l", "warning")
    assert logging.getLogger().level == logging.WARNING
    logging.getLogger().setLevel(logging.WARNING)


def test_stale_provenance_removed(tmp_path):
    settings = _settings(tmp_path)
    stale = settings.parent / "diagnostic_provenance.yml"
    stale.write_text(yaml.safe_dump({"/old.png": {"caption": "old"}}))
    _run(settings)
    assert not stale.exists()


def _record(tmp_path: Path) -> dict:
    return {
        "caption": "c",
        "ancestors": [
            str(tmp_path / "b"),
            str(tmp_path / "a"),
            str(tmp_path / "a"),
        ],
        "authors": ["smeval_team"],
        "references": ["qiao22jcli"],
    }


def test_provenance_kept_across_blocks_and_duplicates_refused(tmp_path):
    cfg = _run(_settings(tmp_path))
    first, second = (
        Path(cfg["work_dir"]) / "x.csv",
        Path(cfg["work_dir"]) / "y.csv",
    )
    with shared.ProvenanceLogger(cfg) as provlog:
        provlog.log(first, _record(tmp_path))
    with shared.ProvenanceLogger(cfg) as provlog:
        provlog.log(second, _record(tmp_path))
        with pytest.raises(KeyError, match="already exists"):
            provlog.log(first, _record(tmp_path))
    records = yaml.safe_load(
        (Path(cfg["run_dir"]) / "diagnostic_provenance.yml").read_text()
    )
    assert sorted(records) == [str(first), str(second)]
    assert records[str(first)]["ancestors"] == [
        str(tmp_path / "a"),
        str(tmp_path / "b"),
    ]


def test_incomplete_record_refused(tmp_path):
    cfg = _run(_settings(tmp_path))
    with (
        shared.ProvenanceLogger(cfg) as provlog,
        pytest.raises(ValueError, match="lacks references"),
    ):
        provlog.log(
            Path(cfg["work_dir"]) / "x.csv",
            {**_record(tmp_path), "references": []},
        )


@pytest.mark.parametrize(
    ("kind", "types"),
    [("png", ["png"]), ("pdf", ["pdf"]), (None, ["pdf", "png"])],
)
def test_save_figure_honours_output_file_type(tmp_path, kind, types):
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    cfg = _run(_settings(tmp_path))
    cfg["output_file_type"] = kind
    figure = plt.figure()
    shared.save_figure("fig", _record(tmp_path), cfg, figure=figure)
    written = sorted(
        p.relative_to(cfg["plot_dir"]).as_posix()
        for p in Path(cfg["plot_dir"]).rglob("fig.*")
    )
    assert written == [f"{t}/fig.{t}" for t in types]
    records = yaml.safe_load(
        (Path(cfg["run_dir"]) / "diagnostic_provenance.yml").read_text()
    )
    assert sorted(records) == sorted(
        str(Path(cfg["plot_dir"]) / t / f"fig.{t}") for t in types
    )


def test_metadata_selection_and_groups():
    metadata = [
        {"dataset": "A", "short_name": "pr"},
        {"dataset": "B", "short_name": "pr"},
        {"dataset": "A", "short_name": "mrsos"},
        {"short_name": "tas"},
    ]
    assert shared.select_metadata(metadata, dataset="A") == [
        metadata[0],
        metadata[2],
    ]
    assert (
        shared.select_metadata(metadata, dataset="*", short_name="pr")
        == metadata[:2]
    )
    groups = shared.group_metadata(metadata, "dataset")
    assert groups == {
        "A": [metadata[0], metadata[2]],
        "B": [metadata[1]],
        None: [metadata[3]],
    }
    cfg = {"work_dir": "/w"}
    assert shared.get_diagnostic_filename("m", cfg, "csv") == "/w/m.csv"


def test_scheduler_address_connects_a_client(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        settings = _settings(
            tmp_path, scheduler_address=cluster.scheduler_address
        )
        with shared.run_diagnostic(["script.py", str(settings)]):
            client = distributed.get_client()
            assert client.scheduler.address == cluster.scheduler_address
            # dask computations of the script run on the cluster.
            assert dask.base.get_scheduler() == client.get
            assert int(da.ones(10, chunks=5).sum().compute()) == 10
        with shared.run_diagnostic(["script.py", str(settings), "-f", "-n"]):
            assert dask.base.get_scheduler() != client.get


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    settings = _settings(tmp_path, scheduler_address="tcp://127.0.0.1:1")
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(OSError, match=r"127.0.0.1:1.*--no-distributed"),
    ):
        _run(settings)
