"""The interface of smeval's diagnostic scripts to ESMValCore: one adapter.

ESMValCore runs a diagnostic as ``python script.py <run_dir>/settings.yml``
(options ``-f``, ``-i``, ``-n``, ``-l``). The settings name the preprocessed
files (``input_files``: the ``metadata.yml`` of each preprocessed variable
group, and the work folders of ancestor scripts) and the output folders.
After the script, ESMValCore reads ``<run_dir>/diagnostic_provenance.yml``,
which maps every output file to its provenance record.

When the ``esmvaltool`` package is importable, the scripts use ESMValTool's
own ``esmvaltool.diag_scripts.shared`` (``run_diagnostic``,
``ProvenanceLogger``, ``select_metadata``, ``group_metadata``,
``save_figure``, ``save_data``, ``get_diagnostic_filename``); without it,
smeval's equivalent with the same semantics, :mod:`smeval.diag.standalone`
(``SMEVAL_DIAG_INTERFACE=smeval`` chooses it in any case). Each script's
code is the same with both: this module adds only what smeval needs on top
(checked provenance records, ``ancestor_dirs``, quiet fontTools).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Self

from smeval.cmorio import atomic_output
from smeval.interrupts import die_with_parent

logger = logging.getLogger(__name__)

#: Keys every provenance record of smeval must have.
REQUIRED_RECORD_KEYS = ("caption", "ancestors", "authors", "references")
#: Environment variable that, set to ``smeval``, chooses smeval's interface even beside ESMValTool.
INTERFACE_ENV = "SMEVAL_DIAG_INTERFACE"
#: Environment variable naming a folder for Dask performance reports of the scripts' work.
PERFORMANCE_REPORT_ENV = "SMEVAL_DASK_PERFORMANCE_REPORT"


def interface() -> ModuleType:
    """``esmvaltool.diag_scripts.shared`` if ``esmvaltool`` is importable, else :mod:`smeval.diag.standalone`."""
    if (
        os.environ.get(INTERFACE_ENV) != "smeval"
        and importlib.util.find_spec("esmvaltool") is not None
    ):
        return importlib.import_module("esmvaltool.diag_scripts.shared")
    return importlib.import_module("smeval.diag.standalone")


def select_metadata(metadata: list[dict], **attributes) -> list[dict]:
    """Return the metadata records with all ``attributes`` (the interface's ``select_metadata``)."""
    return interface().select_metadata(metadata, **attributes)


def group_metadata(metadata: list[dict], attribute: str, sort=None) -> dict:
    """Metadata records grouped by ``attribute`` (the interface's ``group_metadata``)."""
    return interface().group_metadata(metadata, attribute, sort=sort)


def get_diagnostic_filename(
    basename: str, cfg: dict, extension: str = "nc"
) -> str:
    """``work_dir/<basename>.<extension>`` (the interface's ``get_diagnostic_filename``)."""
    return interface().get_diagnostic_filename(
        basename, cfg, extension=extension
    )


def save_figure(
    basename: str,
    provenance: dict,
    cfg: dict,
    figure=None,
    close: bool = True,
    **kwargs,
) -> None:
    """Save a figure in every type of ``output_file_type``, with provenance (the interface's ``save_figure``)."""
    interface().save_figure(
        basename,
        checked_record(provenance),
        cfg,
        figure=figure,
        close=close,
        **kwargs,
    )


def save_data(
    basename: str, provenance: dict, cfg: dict, cube, **kwargs
) -> None:
    """Save ``work_dir/<basename>.nc`` with provenance (the interface's ``save_data``)."""
    interface().save_data(
        basename, checked_record(provenance), cfg, cube, **kwargs
    )


def checked_record(
    record: dict[str, Any], filename: str = "an output"
) -> dict[str, Any]:
    """Return a copy of a provenance record with sorted, unique ancestors.

    Raises
    ------
    ValueError
        If the record lacks a required key or has no ancestors.
    """
    missing = [key for key in REQUIRED_RECORD_KEYS if not record.get(key)]
    if missing:
        msg = f"Provenance record of {filename} lacks {', '.join(missing)}"
        raise ValueError(msg)
    record = dict(record)
    record["ancestors"] = sorted({str(a) for a in record["ancestors"]})
    return record


class ProvenanceLogger:
    """The interface's ``ProvenanceLogger``, with smeval's checks of each record.

    Use as a context manager; records are written to
    ``run_dir/diagnostic_provenance.yml`` when the block ends, kept with those
    of earlier blocks of the same script. A second record of one file is an
    error (``KeyError``), as in ESMValTool.

    Examples
    --------
    >>> with ProvenanceLogger(cfg) as provlog:              # doctest: +SKIP
    ...     provlog.log(path, {"caption": "...", "ancestors": [...], ...})
    """

    def __init__(self, cfg: dict[str, Any]) -> None:
        self._logger = interface().ProvenanceLogger(cfg)

    def __enter__(self) -> Self:
        self._logger.__enter__()
        return self

    def log(self, filename: str | os.PathLike, record: dict[str, Any]) -> None:
        """Record the provenance of an output file (see :func:`checked_record`)."""
        filename = str(Path(filename).absolute())
        self._logger.log(filename, checked_record(record, filename))

    def __exit__(self, *exc_info: object) -> None:
        self._logger.__exit__(*exc_info)


def family_of(meta: dict[str, Any]) -> str:
    """Parent family of a data set (SPEC section 4).

    The ``family`` facet the recipe gives the data set; without one, the
    family of the model catalogue (``smeval/catalogue.yml``); for a
    model in neither, its own name.
    """
    if meta.get("family"):
        return str(meta["family"])
    from smeval.catalogue import (
        load_catalogue,
    )

    return load_catalogue().families.get(
        str(meta["dataset"]), str(meta["dataset"])
    )


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to ``path`` through a temporary file and a rename."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def run_diagnostic(argv: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the interface's ``run_diagnostic``: yields the configuration of a diagnostic script.

    ``argv`` (default ``sys.argv``) is ``[script, settings.yml, options...]``.
    Besides the interface's keys (``input_data``: metadata of each
    preprocessed file), the configuration has ``ancestor_dirs``: the work
    folders of ancestor scripts.
    """
    # A worker of ESMValCore killed outright must not leave its script running (smeval.interrupts).
    die_with_parent()
    if argv is not None:
        sys.argv = list(argv)
    chosen = interface()
    with chosen.run_diagnostic() as cfg:
        cfg["ancestor_dirs"] = [
            Path(p) for p in cfg.get("input_files", []) if Path(p).is_dir()
        ]
        # matplotlib's PDF backend has fontTools log every glyph subset it
        # embeds at INFO: hundreds of lines per figure script that bury ours.
        logging.getLogger("fontTools").setLevel(
            max(logging.WARNING, logging.getLogger().level)
        )
        logger.info("Diagnostic interface: %s", chosen.__name__)
        with _on_cluster(cfg):
            yield cfg


@contextlib.contextmanager
def _on_cluster(cfg: dict[str, Any]) -> Iterator[None]:
    """Log the Dask cluster the script computes on; record its work if asked.

    With ``$SMEVAL_DASK_PERFORMANCE_REPORT`` set to a folder, the script's
    work on the cluster is recorded there as Dask's performance report
    ``<diagnostic>_<script>.html`` (benchmarks/pipeline.py --dask).
    """
    client = None
    if cfg.get("scheduler_address"):
        import distributed

        with contextlib.suppress(ValueError):  # -n / no_distributed: no client
            client = distributed.default_client()
    if client is None:
        yield
        return
    logger.info(
        "Dask: computing on the distributed scheduler at %s",
        client.scheduler.address,
    )
    folder = os.environ.get(PERFORMANCE_REPORT_ENV)
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    name = f"{Path(cfg['run_dir']).parent.name}_{cfg['script']}.html"
    with distributed.performance_report(filename=str(Path(folder) / name)):
        yield
