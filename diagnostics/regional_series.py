"""Regional-mean monthly series of every data set and member (SPEC sections 2-3).

ESMValCore runs this script with the ``settings.yml`` of its task. Input:
the preprocessed files of one diagnostic (soil moisture ``mrsos``/``mrsol``
or the water-budget fluxes), on each data set's native grid, plus the fixed
fields ``sftlf`` and ``areacella`` where a data set provides them. For each
data set and member it writes the area-weighted mean over the 13 regions and
both hemispheres as a (time, region) NetCDF file, with provenance:

- ``mrsos``  -> ``sm_shallow`` (0-10 cm, kg m-2);
- ``mrsol``  -> ``sm_deep`` (0-``deep_depth`` m from the layer bounds), and
  ``sm_shallow`` for data sets without ``mrsos`` when ``shallow_from_mrsol``;
- fluxes     -> their CMOR name (kg m-2 s-1).

Data sets whose layers do not reach a depth, or that fail to load, are
listed with the reason in ``excluded.csv``; the run goes on without them.
So are members whose units are not their variable's, whose values leave the
plausible range (smeval/diag/checks.py), that have no valid value, or whose
time axis misses months of the variable's ``timerange``.

Options are checked before any data is read (unknown keys, region ids,
``0 < shallow_depth < deep_depth``; ``shallow_depth`` must be 0.1 m when
``mrsos`` is read, as ``mrsos`` is 0-10 cm); an error is one line in the
terminal of ``esmvaltool``.

Script options (recipe)
-----------------------
regions : list of str, default [SIB, M-AS, TIB, L-AS, NA-WA, EUR, C-AF, S-AF, WNA, ENA,
        NSA, SSA, AUS, NH, SH]
    Region ids: the 13 regions, then the hemispheres.
shallow_depth : float, default 0.1
    Depth of the shallow product from ``mrsol`` (m), for data sets without
    ``mrsos``.
deep_depth : float, default 2.0
    Depth of the deep product (m).
shallow_from_mrsol : bool, default true
    Shallow soil moisture from ``mrsol`` without ``mrsos``: derive it for
    data sets that lack ``mrsos``.
series_steps : mapping, default {soil_column: null, box_means: null}
    Steps of the series branch, in order (``soil_column``, ...,
    ``box_means``): preprocessor steps (functions of
    ``smeval.preprocessor`` or ESMValCore's) and their options, applied in
    order to each member; must include ``soil_column`` (applied to layered
    variables only, ``depth`` set by the script from ``shallow_depth`` and
    ``deep_depth``) and end with ``box_means`` (``regions`` set by the script
    from ``regions``; weights from ``areacella`` and ``sftlf``).
map_variables : list of str, optional
    CMOR variables whose members' climatologies the maps need, written to ``map_climatologies/<short_name>/<dataset>_<member>.nc``. For
    ``mrsol`` these are its depth columns (``sm_deep``, and ``sm_shallow``
    when derived from ``mrsol``), which become the ``<short_name>`` of their
    files. A member whose climatology fails is listed in ``excluded.csv``;
    its series are kept.
map_steps : mapping, optional
    Steps of the map branch, in order, from the field before ``box_means``
    (the field it averages; e.g. ``climate_mean``, ``regrid``,
    ``mask_landsea``); they must reduce time to one climatology. Computed from the same read as the
    series, in one ``dask.compute``; for a member in several time chunks,
    one block of chunks at a time when the steps start with
    ``climate_mean`` (whose sums the blocks add), else in one.
correlation_variables : list of str, optional
    CMOR variables whose data sets' monthly fields on the common grid the
    correlation maps need, written to
    ``ensemble_fields/<short_name>/<dataset>.nc`` (float32, zstd): the
    ``correlation_steps`` applied to the data set's members (a model's
    ensemble mean; a data set of an observation project has no ensemble and
    skips ``ensemble_statistics``). The members of such a data set are
    computed two at a time, each with its series and climatologies, and
    added to a running sum for the mean (``ensemble_statistics`` with
    ``statistics: [mean]``; memory does not grow with the members; members
    of more than 32 MiB are summed block by block of months, each block
    over all members, so it does not grow with the years either); with
    another statistic, all of them in one ``dask.compute``. A member the
    checks exclude is not in the mean: its first, middle and last time
    steps are checked before the mean is built; a member the full check
    excludes after its compute is not added (summed in blocks, the mean is
    summed again without it; computed all at once, the
    statistic is computed again without it: a second read of that data
    set's other members, logged as a warning). A data set whose members the steps cannot
    combine is listed in ``excluded.csv``; its series are kept.
correlation_steps : mapping, default {ensemble_statistics: {statistics: [mean]},
        regrid: {target_grid: 1.125x1.125, scheme: {reference: "smeval.regrid:AreaWeighted"}}}
    Steps of the correlation branch, in order: ensemble mean, regrid;
    preprocessor functions (of ESMValCore or ``smeval.preprocessor``) and
    their options; ``ensemble_statistics`` (one statistic) is applied to all
    members of a data set at once, every other step to each.

Every step and option (``series_steps``, ``map_steps``,
``correlation_steps``) is checked against the functions' signatures before
any data is read; an unknown step or option, or a missing one, is one line
naming the recipe key (e.g. ``soil_moisture/regional_series: map_steps:
regrid: unknown option 'targt_grid' (accepted: ...)``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from smeval.diag.regional_series import write_regional_series

logger = logging.getLogger(Path(__file__).stem)


if __name__ == "__main__":
    from smeval.diag.shared import run_diagnostic

    with run_diagnostic() as config:
        write_regional_series(config)
