"""smeval inside the ``esmvaltool`` command, with or without ESMValTool installed.

ESMValCore 2.15 looks for recipes (bare names), diagnostic scripts, citations
(``references/<tag>.bibtex``) and provenance tags (``config-references.yml``)
in one folder: the installed ``esmvaltool`` package when it can be imported,
else the working directory. So beside an installed ESMValTool, smeval's recipe
name, its authors' tags and its citations are unknown, and from any other
folder its scripts are not found. ESMValCore offers no setting for these.

It does offer one extension point: before it reads a recipe, the
``esmvaltool`` command loads every entry point of the group
``esmvaltool_commands`` (that is how ESMValTool adds ``esmvaltool data``).
smeval registers one (``pyproject.toml``: ``esmvaltool smeval``), so the
command itself calls :func:`activate`, which changes nothing on disk:

- smeval's tags (``config-references.yml``) are added to ESMValCore's tags
  where a section lacks them; a tag the installed file has is never replaced;
- the lookups of recipes, diagnostic scripts and references fall back to
  smeval's folders (:func:`smeval.resources.root`) for a file the first folder lacks;
- ESMValCore's check of the ``dask:`` section, when the tasks start, also
  reports a cluster type that is not installed and a ``scheduler_address``
  nobody listens at, in one line (:mod:`smeval.dask_config`);
- provenance documents that ESMValCore restored from their files stay out
  of the pickles that carry tasks and results between its processes
  (:mod:`smeval.provenance_transfer`), each record of a product's
  lineage is copied into its document once (:mod:`smeval.provenance_lineage`),
  and an output of smeval's scripts made from another refers to that one's
  provenance file instead of copying it (:mod:`smeval.provenance_chain`);
- the ``save`` preprocessor step takes a ``compression`` option (a codec of
  netCDF4, e.g. zstd) for ``preproc/`` written with ``compress_netcdf``
  (:mod:`smeval.preproc_codec`);
- while tasks run in parallel, each diagnostic script's Dask has the
  threads ESMValCore gives each preprocessing task, cores / tasks at once,
  instead of one per core (:mod:`smeval.script_threads`).

ESMValCore's task processes are forked from the command's process and inherit
this; where the platform's default start method is ``forkserver`` the server
imports this module first. With ``spawn`` (the default on macOS) they would
not, so :func:`activate` stops the run at once with one line that says so.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import yaml

from smeval import (
    preproc_codec,
    provenance_chain,
    provenance_lineage,
    provenance_transfer,
    resources,
    script_threads,
)


def smeval_tags() -> dict[str, dict]:
    """Smeval's provenance tags: section -> tag -> value."""
    with (resources.root() / "config-references.yml").open(
        encoding="utf-8"
    ) as file:
        return yaml.safe_load(file) or {}


class _FallbackDir(type(Path())):
    """A folder whose ``/`` takes a file from a second folder when the first lacks it."""

    def __init__(self, primary: Path, fallback: Path) -> None:
        super().__init__(primary)
        self.fallback = Path(fallback)

    def with_segments(self, *segments) -> Path:
        # Paths derived from this one (parent, children) are plain paths.
        return Path(*segments)

    def __truediv__(self, name) -> Path:
        own = Path(self) / name
        if own.exists() or not (self.fallback / name).exists():
            return own
        return self.fallback / name


def _with_fallbacks(diagnostics_class: type) -> type:
    """Return a subclass of ESMValCore's ``Diagnostics`` whose folders fall back to smeval's."""

    class WithSmeval(diagnostics_class):
        @property
        def recipes(self) -> Path:
            return _FallbackDir(
                self.path / "recipes", resources.root() / "recipes"
            )

        @property
        def references(self) -> Path:
            return _FallbackDir(
                self.path / "references", resources.root() / "references"
            )

        @property
        def scripts(self) -> Path:
            # Scripts are named in the recipe as diagnostics/<name>.py.
            return _FallbackDir(self.path / "diag_scripts", resources.root())

    return WithSmeval


def activate() -> None:
    """Make ESMValCore find smeval's tags, references, recipes and scripts (idempotent).

    Raises
    ------
    SystemExit
        With one line, if ESMValCore's task processes would be started with
        ``spawn`` and so would not see smeval's tags.
    """
    from esmvalcore.config import (
        _diagnostics,
    )

    diagnostics = _diagnostics.DIAGNOSTICS
    if getattr(type(diagnostics), "smeval_fallbacks", False):
        return
    _check_start_method()
    for section, tags in smeval_tags().items():
        known = _diagnostics.TAGS.setdefault(section, {})
        for tag, value in (tags or {}).items():
            known.setdefault(tag, value)
    # Change the class of the one instance in place: modules that imported
    # DIAGNOSTICS already (esmvalcore._task, _citation) hold the same object.
    diagnostics.__class__ = _with_fallbacks(type(diagnostics))
    type(diagnostics).smeval_fallbacks = True
    _check_dask_profiles()
    provenance_transfer.install()
    provenance_lineage.install()
    provenance_chain.install()
    preproc_codec.install()
    script_threads.install()


def _check_dask_profiles() -> None:
    """Let ESMValCore's check of the ``dask:`` section also find what :mod:`smeval.dask_config` finds.

    ESMValCore calls ``validate_dask_config`` when it sets up the cluster,
    before the first task; an error of its own type ends the run with the
    message as one line.
    """
    from esmvalcore.config import _dask
    from esmvalcore.exceptions import InvalidConfigParameter

    from smeval.dask_config import problem

    original = _dask.validate_dask_config

    def validate_dask_config(dask_config) -> None:
        original(dask_config)
        message = problem(dask_config)
        if message:
            raise InvalidConfigParameter(message)

    _dask.validate_dask_config = validate_dask_config


def _check_start_method() -> None:
    method = (
        multiprocessing.get_start_method(allow_none=True)
        or multiprocessing.get_all_start_methods()[0]
    )
    if method == "forkserver":
        multiprocessing.set_forkserver_preload(["smeval._activate"])
    elif method == "spawn":
        msg = (
            "smeval: ESMValCore's task processes start with 'spawn' here, so they would not see smeval's "
            "provenance tags; run on Linux (fork or forkserver), or without the esmvaltool package installed "
            "and from the smeval folder"
        )
        raise SystemExit(msg)


class SmevalCommand:
    """smeval's part of the esmvaltool command (``esmvaltool smeval --help``).

    Loading it (the esmvaltool command does, at start) lets ESMValCore find
    smeval's recipes, diagnostic scripts, provenance tags and citations from
    any folder, with or without ESMValTool installed; for ``esmvaltool run``,
    SIGTERM and SIGINT then end every process of the run, not only the
    ``esmvaltool`` process (:mod:`smeval.interrupts`).
    """

    def __init__(self) -> None:
        try:
            activate()
        except FileNotFoundError as exc:
            # Other recipes still run; smeval's would stop at its first tag.
            print(exc, file=sys.stderr)
        if sys.argv[1:2] == ["run"]:
            from smeval import (
                interrupts,
            )

            interrupts.install()

    def paths(self) -> None:
        """Print where ESMValCore finds recipes, scripts, references and tags."""
        from esmvalcore.config._diagnostics import (
            DIAGNOSTICS,
            TAGS,
        )

        print(f"diagnostics root: {DIAGNOSTICS.path}")
        print(f"smeval folder (fallback): {resources.root()}")
        print(
            f"tags: {TAGS.source_file or 'none'} + {resources.root() / 'config-references.yml'}"
        )
