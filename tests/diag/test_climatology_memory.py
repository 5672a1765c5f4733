"""The maps script reads one member's climatology at a time: memory flat in the members.

It used to read every member's map of every variable at once (1.25 GB at
the paper's scale, growing with the members). Now each data set's members
are averaged as they are read, and only the data sets' maps are held: no
more than one member's map is alive besides them, the inputs stay lazy, and
the memory does not grow with the members. The maps are those of the same
weighting worked out with numpy by hand, NaN cells of some members included.
"""

from __future__ import annotations

import tracemalloc
import warnings
import weakref

import iris.coords
import iris.cube
import numpy as np

from smeval.diag import climatology_fields as maps_script
from smeval.diag.io import fields_by_dataset, save_cube
from smeval.diag.map_climatologies import climatology_path, label

#: kg m-2 s-1 of water in mm per Julian year (1 kg m-2 of water is 1 mm).
PER_JULIAN_YEAR = 86400.0 * 365.25
#: The models of the tests (in the catalogue) and the family of each.
FAMILY = {"MIROC6": "MIROC", "MIROC-ES2L": "MIROC", "MPI-ESM1-2-HR": "MPI"}
REFERENCE = "ERA5"
#: A small grid whose maps iris still reads lazily (it reads a variable of
#: fewer than 5000 bytes at once).
SHAPE = (40, 48)


def _write(
    series, dataset: str, member: str, short_name: str, values, masked: bool
):
    """Write one member's climatology (kg m-2 s-1), its NaN cells masked or left NaN."""
    values = np.asarray(values, np.float32)
    n_lat, n_lon = values.shape
    lat = iris.coords.DimCoord(
        np.linspace(-60.0, 60.0, n_lat),
        standard_name="latitude",
        units="degrees",
    )
    lon = iris.coords.DimCoord(
        np.linspace(0.0, 360.0, n_lon, endpoint=False),
        standard_name="longitude",
        units="degrees",
    )
    # Both kinds of missing values the series scripts could write.
    data = np.ma.masked_invalid(values) if masked else values
    cube = iris.cube.Cube(
        data,
        var_name=short_name,
        units="kg m-2 s-1",
        dim_coords_and_dims=[(lat, 0), (lon, 1)],
    )
    meta = {
        "dataset": dataset,
        "ensemble": member,
        "project": "OBS6" if dataset == REFERENCE else "CMIP6",
        "short_name": short_name,
        "family": FAMILY.get(dataset, ""),
    }
    path = climatology_path(series, meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_cube(label(cube, meta), path)


def _cfg(tmp_path, planted) -> dict:
    """Settings of the maps script whose ancestor holds ``planted``: (short_name, dataset) -> member -> values."""
    series = tmp_path / "series"
    for (short_name, dataset), members in planted.items():
        for i, (member, values) in enumerate(members.items()):
            _write(series, dataset, member, short_name, values, i % 2 == 0)
    for name in ("work", "run"):
        (tmp_path / name).mkdir()
    return {
        "ancestor_dirs": [str(series)],
        "work_dir": str(tmp_path / "work"),
        "run_dir": str(tmp_path / "run"),
        "references": [REFERENCE],
    }


def _planted(rng, members: dict[str, int], shape, fluxes=("pr", "evspsbl")):
    """Random flux climatologies (1 to 5 mm a day) with missing cells: (short_name, dataset) -> member -> values."""
    planted = {}
    for flux in fluxes:
        for dataset, n in members.items():
            names = [f"r{i + 1}i1p1f1" for i in range(n)] if n > 1 else [""]
            planted[(flux, dataset)] = {
                name: np.where(
                    rng.random(shape) < 0.3,
                    np.nan,
                    rng.uniform(1.0, 5.0, shape) / 86400.0,
                ).astype(np.float32)  # as written
                for name in names
            }
    return planted


def _nanmean(arrays) -> np.ndarray:
    """The mean of the arrays with a value at each cell, NaN where none has one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells
        return np.nanmean(np.stack(list(arrays)), axis=0)


def _mmem_by_hand(model_maps: dict[str, np.ndarray]) -> np.ndarray:
    """Models -> families -> CMIP6-MMEM, each a mean over what has a value."""
    families = {
        family: _nanmean(
            m for name, m in model_maps.items() if FAMILY[name] == family
        )
        for family in sorted(set(FAMILY.values()))
    }
    return _nanmean(families.values())


def _float64(field: iris.cube.Cube) -> np.ndarray:
    return np.ma.filled(np.ma.asarray(field.data, dtype=float), np.nan)


def test_mmem_and_budget_are_the_means_worked_out_by_hand(tmp_path):
    rng = np.random.default_rng(20261207)
    members = {"MIROC6": 3, "MIROC-ES2L": 2, "MPI-ESM1-2-HR": 2, REFERENCE: 1}
    planted = _planted(rng, members, SHAPE)
    # Cells where a whole model is missing and where no model has a value.
    planted[("pr", "MIROC6")]["r2i1p1f1"][0, :] = np.nan
    for name in ("r1i1p1f1", "r3i1p1f1"):
        planted[("pr", "MIROC6")][name][0, :4] = np.nan
    for (flux, dataset), fields in planted.items():
        if flux == "pr" and dataset != REFERENCE:
            for values in fields.values():
                values[5, 7] = np.nan
    maps_script.climatology_fields(_cfg(tmp_path, planted))

    mean = {  # each data set's member mean, in mm per Julian year
        key: _nanmean(
            v.astype(float) * PER_JULIAN_YEAR for v in fields.values()
        )
        for key, fields in planted.items()
    }
    models = [m for m in members if m != REFERENCE]
    pr_mmem = _mmem_by_hand({m: mean[("pr", m)] for m in models})
    pme_mmem = _mmem_by_hand(
        {m: mean[("pr", m)] - mean[("evspsbl", m)] for m in models}
    )
    # The test means something: NaN cells in some members only, a model
    # missing where the MMEM is not, and a cell where the MMEM is missing.
    missing = np.isnan(np.stack(list(planted[("pr", "MIROC6")].values())))
    assert (missing.any(axis=0) & ~missing.all(axis=0)).any()
    assert np.isnan(mean[("pr", "MIROC6")][0, :4]).all()
    assert np.isfinite(pr_mmem[0, :4]).any()
    assert np.isnan(pr_mmem[5, 7])
    work = tmp_path / "work"
    pr = fields_by_dataset(work / "climatology_pr.nc")
    pme = fields_by_dataset(work / "climatology_pme.nc")
    assert list(pr) == list(pme) == ["CMIP6-MMEM", REFERENCE]
    np.testing.assert_allclose(_float64(pr["CMIP6-MMEM"]), pr_mmem, rtol=1e-6)
    np.testing.assert_allclose(
        _float64(pme["CMIP6-MMEM"]), pme_mmem, rtol=1e-6
    )
    np.testing.assert_allclose(
        _float64(pme[REFERENCE]),
        mean[("pr", REFERENCE)] - mean[("evspsbl", REFERENCE)],
        rtol=1e-6,
    )


def test_no_more_than_one_member_map_is_alive_at_a_time(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    members = {"MIROC6": 6, "MPI-ESM1-2-HR": 4, REFERENCE: 1}
    cfg = _cfg(
        tmp_path, _planted(rng, members, SHAPE, ("pr", "evspsbl", "mrros"))
    )
    # Weak references to the maps of the models' members (those of the
    # one-member reference are its data set's maps, held by design).
    member_maps, most_alive = [], [0]
    map_values = maps_script._map_values

    def recording(cube, variable):
        alive = sum(ref() is not None for ref in member_maps)
        most_alive[0] = max(most_alive[0], alive)
        values = map_values(cube, variable)
        if cube.attributes["smeval_dataset"] != REFERENCE:
            member_maps.append(weakref.ref(values))
        return values

    inputs = []
    find = maps_script.find_climatologies
    monkeypatch.setattr(maps_script, "_map_values", recording)
    monkeypatch.setattr(
        maps_script,
        "find_climatologies",
        lambda folders: inputs.extend(find(folders)) or inputs,
    )
    maps_script.climatology_fields(cfg)

    # Each member of each flux is read once, P - E and P - E - R included.
    assert len(member_maps) == 3 * (6 + 4)
    # When a member is read, the previous one of its data set may still be
    # alive (nanmean_of asks for the next before it lets go), no other.
    assert most_alive[0] <= 1
    # No input cube keeps its data once read: they stay lazy.
    assert len(inputs) == 3 * (6 + 4 + 1)
    assert all(cube.has_lazy_data() for _, _, cube in inputs)


def _peak_bytes(tmp_path, n_members: int, shape) -> int:
    """Peak of memory traced while the maps script runs on one model of ``n_members`` members."""
    rng = np.random.default_rng(n_members)
    planted = _planted(rng, {"MIROC6": n_members, REFERENCE: 1}, shape)
    cfg = _cfg(tmp_path, planted)
    tracemalloc.start()
    try:
        maps_script.climatology_fields(cfg)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_members(tmp_path):
    shape = (160, 320)  # the common grid: a float64 map is 410 kB
    map_bytes = np.zeros(shape).nbytes
    # A first run also allocates what a process does once (the catalogue,
    # imports): left out of both measurements.
    _peak_bytes(tmp_path / "first", 1, shape)
    few = _peak_bytes(tmp_path / "few", 2, shape)
    many = _peak_bytes(tmp_path / "many", 12, shape)
    # 20 more member files (10 of pr, 10 of evspsbl): all read at once, they
    # added more than a float64 map each; now only their lazy cubes remain.
    assert many - few < 20 * map_bytes / 4, (few, many)
