"""The overview figures of a sample archive (python -m smeval.sample.overview)."""

from __future__ import annotations

import pytest

from smeval.sample.overview import (
    dataset_summary,
    main,
    model_files,
    overview,
    reference_files,
)


def test_overview_writes_both_pngs(tiny_archive, tmp_path):
    paths = overview(tiny_archive, "MPI-ESM1-2-LR", "ERA5", tmp_path / "fig")
    names = sorted(p.name for p in paths)
    assert names == [
        "overview_mrsos_cycles_MPI-ESM1-2-LR_ERA5.png",
        "overview_mrsos_maps_MPI-ESM1-2-LR_ERA5.png",
    ]
    for p in paths:
        assert p.stat().st_size > 10_000
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_overview_numbers_are_plausible(tiny_archive):
    files, sftlf, area, variant = model_files(tiny_archive, "MPI-ESM1-2-LR")
    assert variant == "r1i1p1f1"
    assert sftlf is not None
    assert area is not None
    (lat, lon, clim), cycles, regions, years = dataset_summary(
        files, sftlf, area, (1979, 2014)
    )
    assert years == (1979, 1981)
    assert len(regions) == 13
    assert cycles.shape == (12, 13)
    assert clim.shape == (lat.size, lon.size)
    # 0-10 cm of soil holds at most 100 kg m-2 of water
    assert ((cycles > 0) & (cycles < 100)).all()
    _rfiles, rsftlf, name = reference_files(tiny_archive, "GLDAS")
    assert name == "GLDAS-NOAH"
    assert rsftlf is not None


def test_overview_cli(tiny_archive, tmp_path, capsys):
    assert (
        main(
            [
                str(tiny_archive),
                "--model",
                "CNRM-CM6-1",
                "--reference",
                "ERA-Interim",
                "--out",
                str(tmp_path),
                "--years",
                "1979-1980",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "overview_mrsos_maps_CNRM-CM6-1_ERA-Interim.png" in out
    assert (
        main([str(tiny_archive), "--model", "NOPE-1", "--out", str(tmp_path)])
        == 2
    )
    with pytest.raises(SystemExit):
        main(
            [
                str(tiny_archive),
                "--model",
                "CNRM-CM6-1",
                "--out",
                str(tmp_path),
                "--reference",
                "X",
            ]
        )
