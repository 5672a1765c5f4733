"""smeval's own equivalent of ESMValTool's ``esmvaltool.diag_scripts.shared``.

Used by the diagnostic scripts (through :mod:`smeval.diag.shared`) when the
``esmvaltool`` package is not installed. Same names, arguments and semantics
as ESMValTool 2.15's ``diag_scripts/shared/_base.py``:

- :func:`run_diagnostic` reads ``settings.yml`` and the metadata of the
  preprocessed files, refuses to run over existing output unless ``-f``
  (empty the output folders first) or ``-i`` (ignore it) is given, sets the
  log level (``-l``), removes a stale ``diagnostic_provenance.yml`` and
  connects a ``distributed.Client`` to ``scheduler_address`` when ESMValCore
  gives one (unless ``-n`` or the option ``no_distributed``);
- :class:`ProvenanceLogger` treats a second record of one file as an error;
- :func:`save_figure` writes each type of ``output_file_type``, in
  ``plot_dir/<type>/``; :func:`save_data` writes a cube to ``work_dir``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Self

import yaml

logger = logging.getLogger(__name__)

#: Files of ESMValCore's in a script's run folder, which are not output of a previous run.
DEFAULT_FILES = {
    "diagnostic_provenance.yml",
    "log.txt",
    "profile.bin",
    "resource_usage.txt",
    "settings.yml",
}


def get_diagnostic_filename(
    basename: str, cfg: dict, extension: str = "nc"
) -> str:
    """``work_dir/<basename>.<extension>``."""
    return os.path.join(cfg["work_dir"], f"{basename}.{extension}")


def output_file_types(cfg: dict) -> tuple[str, ...]:
    """Return the figure types of ``output_file_type`` (both PNG and PDF when unset)."""
    kind = cfg.get("output_file_type")
    if kind is None:
        return ("png", "pdf")
    return (kind,) if isinstance(kind, str) else tuple(kind)


def save_figure(
    basename: str,
    provenance: dict,
    cfg: dict,
    figure=None,
    close: bool = True,
    **kwargs,
) -> None:
    """Save ``figure`` (default: pyplot's current one) as ``plot_dir/<type>/<basename>.<type>`` with provenance."""
    import matplotlib.pyplot as plt

    for ext in output_file_types(cfg):
        filename = Path(cfg["plot_dir"]) / ext / f"{basename}.{ext}"
        filename.parent.mkdir(exist_ok=True)
        logger.info("Plotting analysis results to %s", filename)
        (plt if figure is None else figure).savefig(filename, **kwargs)
        with ProvenanceLogger(cfg) as provenance_logger:
            provenance_logger.log(filename, provenance)
    if close:
        plt.close(figure)


def save_data(
    basename: str, provenance: dict, cfg: dict, cube, **kwargs
) -> None:
    """Save ``cube`` as ``work_dir/<basename>.nc`` with provenance."""
    import iris

    if "target" in kwargs:
        msg = "Please use the `basename` argument to specify the output file"
        raise ValueError(msg)
    filename = get_diagnostic_filename(basename, cfg)
    logger.info("Saving analysis results to %s", filename)
    iris.save(cube, target=filename, **kwargs)
    with ProvenanceLogger(cfg) as provenance_logger:
        provenance_logger.log(filename, provenance)


class ProvenanceLogger:
    """Collect provenance records into ``run_dir/diagnostic_provenance.yml`` (a context manager).

    Records of earlier blocks of the same script are kept; a second record
    of one file raises ``KeyError``.
    """

    def __init__(self, cfg: dict) -> None:
        self._log_file = os.path.join(
            cfg["run_dir"], "diagnostic_provenance.yml"
        )
        self.table: dict = {}
        if os.path.exists(self._log_file):
            with open(self._log_file, encoding="utf-8") as file:
                self.table = yaml.safe_load(file) or {}

    def log(self, filename, record: dict) -> None:
        """Record the provenance of ``filename``."""
        filename = str(filename)
        if filename in self.table:
            msg = f"Provenance record for {filename} already exists."
            raise KeyError(msg)
        self.table[filename] = record

    def _save(self) -> None:
        os.makedirs(os.path.dirname(self._log_file), exist_ok=True)
        with open(self._log_file, "w", encoding="utf-8") as file:
            yaml.safe_dump(self.table, file)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_) -> None:
        self._save()


def select_metadata(metadata: list[dict], **attributes) -> list[dict]:
    """Return the metadata records with all ``attributes`` (value ``'*'``: any value)."""
    return [
        attribs
        for attribs in metadata
        if all(
            a in attribs and v in (attribs[a], "*")
            for a, v in attributes.items()
        )
    ]


def group_metadata(metadata: list[dict], attribute: str, sort=None) -> dict:
    """Metadata records grouped by the value of ``attribute`` (``sort``: not supported here)."""
    if sort:
        msg = "smeval's interface does not sort groups; sort the result"
        raise NotImplementedError(msg)
    groups: dict = {}
    for attributes in metadata:
        groups.setdefault(attributes.get(attribute), []).append(attributes)
    return groups


def get_cfg(filename=None) -> dict:
    """Read a diagnostic script's ``settings.yml``."""
    with open(
        sys.argv[1] if filename is None else filename, encoding="utf-8"
    ) as file:
        return yaml.safe_load(file)


def _input_data(cfg: dict) -> dict:
    """Metadata of every input: the ``metadata.yml`` files, and ``*metadata.yml`` of ancestor folders."""
    metadata_files = []
    for filename in cfg["input_files"]:
        if os.path.isdir(filename):
            metadata_files.extend(
                glob.glob(os.path.join(filename, "*metadata.yml"))
            )
        elif os.path.basename(filename) == "metadata.yml":
            metadata_files.append(filename)
    input_data: dict = {}
    for filename in metadata_files:
        with open(filename, encoding="utf-8") as file:
            input_data.update(yaml.safe_load(file))
    return input_data


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Diagnostic script")
    parser.add_argument("filename", help="Path to settings.yml")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="Force emptying the output directories (useful when re-running the script)",
    )
    parser.add_argument(
        "-i",
        "--ignore-existing",
        action="store_true",
        help="Force running the script, even if output files exist (use at your own risk).",
    )
    parser.add_argument(
        "-n",
        "--no-distributed",
        action="store_true",
        help="Do not use the Dask distributed 'scheduler_address' from the configuration file.",
    )
    parser.add_argument(
        "-l",
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="Set the log-level",
    )
    return parser.parse_args()


def _clear_old_output(cfg: dict, force: bool, ignore_existing: bool) -> None:
    """Refuse, remove (``force``) or keep (``ignore_existing``) the output of a previous run."""
    old_content = [
        p
        for p in (cfg["work_dir"], cfg["plot_dir"])
        if Path(p).exists() and any(Path(p).iterdir())
    ]
    old_content += [
        p
        for p in glob.glob(f"{cfg['run_dir']}{os.sep}*")
        if os.path.basename(p) not in DEFAULT_FILES
    ]
    if not old_content:
        return
    if force:
        for content in old_content:
            logger.info("Removing %s", content)
            if os.path.isfile(content):
                os.remove(content)
            else:
                shutil.rmtree(content)
    elif not ignore_existing:
        msg = (
            "Script will abort to prevent accidentally overwriting your data in the following output files or "
            "directories:\n{}\n Use -f or --force to force emptying the output directories or use -i or "
            "--ignore-existing to ignore existing output directories.".format(
                "\n".join(old_content)
            )
        )
        raise FileExistsError(msg)


def _client(cfg: dict, no_distributed: bool):
    """Return a ``distributed.Client`` of ``scheduler_address``, or a null context."""
    if (
        no_distributed
        or cfg.get("no_distributed", False)
        or "scheduler_address" not in cfg
    ):
        return contextlib.nullcontext()
    import distributed

    try:
        return distributed.Client(cfg["scheduler_address"])
    except OSError as exc:
        msg = (
            f"Unable to connect to the Dask distributed scheduler at {cfg['scheduler_address']}. If the scheduler "
            "is no longer available, try re-running the diagnostic script with the --no-distributed flag."
        )
        raise OSError(msg) from exc


@contextlib.contextmanager
def run_diagnostic():
    """Set up a diagnostic script run by ESMValCore (``script.py settings.yml``) and yield its configuration."""
    args = _parse_args()
    cfg = get_cfg(args.filename)
    if args.log_level:
        cfg["log_level"] = args.log_level
    logging.basicConfig(
        format="%(asctime)s [%(process)d] %(levelname)-8s %(name)s,%(lineno)s\t%(message)s"
    )
    logging.Formatter.converter = time.gmtime
    logging.captureWarnings(True)
    logging.getLogger().setLevel(cfg["log_level"].upper())
    cfg["input_data"] = _input_data(cfg)
    logger.info(
        "Starting diagnostic script %s with configuration:\n%s",
        cfg["script"],
        yaml.safe_dump(cfg),
    )
    _clear_old_output(cfg, args.force, args.ignore_existing)
    for output_directory in (cfg["work_dir"], cfg["plot_dir"]):
        if not os.path.isdir(output_directory):
            logger.info("Creating %s", output_directory)
            os.makedirs(output_directory)
    provenance_file = os.path.join(cfg["run_dir"], "diagnostic_provenance.yml")
    if os.path.exists(provenance_file):
        logger.info("Removing %s from previous run.", provenance_file)
        os.remove(provenance_file)
    with _client(cfg, args.no_distributed):
        yield cfg
    logger.info("End of diagnostic script run.")
