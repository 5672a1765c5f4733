"""Script options of the recipe, checked before a diagnostic script reads any data.

Each diagnostic script has one frozen dataclass of its options, in the module
of its script (``SeriesOptions`` in :mod:`smeval.diag.regional_series`,
``MetricsOptions`` in :mod:`smeval.diag.metrics`, ...): the single home of
each option's default and unit. :func:`parse_options` builds it from the
script's ``settings.yml``:

- a key that is neither an option of the script nor one ESMValCore writes
  itself is an error, with the closest option name as a suggestion;
- each value is converted to the field's type (a wrong type is an error);
- an option with a ``check`` (e.g. the preprocessor steps of a branch,
  :func:`smeval.diag.preprocess.check_steps`) is checked with the name of
  the script in the recipe;
- the dataclass's ``__post_init__`` checks ranges and consistency.

ESMValCore pipes a diagnostic script's output into its ``log.txt`` and shows
only "Diagnostic script ... failed ... See the log" in the terminal. So the
one-line error is also written to the terminal of the ``esmvaltool`` process
that started the script (see :func:`announce`). ``smeval check`` runs the same
checks on a recipe before a run.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Keys ESMValCore writes into every script's settings.yml (and those
#: the interfaces' ``run_diagnostic`` add, :mod:`smeval.diag.shared`): never "unknown".
ESMVALCORE_KEYS = frozenset(
    {
        "recipe",
        "version",
        "script",
        "run_dir",
        "plot_dir",
        "work_dir",
        "input_files",
        "log_level",
        "output_file_type",
        "auxiliary_data_dir",
        "profile_diagnostic",
        "scheduler_address",
        "exit_on_ncl_warning",
        "write_ncl_interface",
        "quickplot",
        "realms",
        "themes",
        "input_data",
        "ancestor_dirs",
    }
)
#: Keys of a script entry in the recipe that ESMValCore consumes itself.
RECIPE_SCRIPT_KEYS = frozenset({"script", "ancestors"})
#: Projects of observations and reanalyses: such a data set is never a model.
OBS_PROJECTS = frozenset({"OBS", "OBS6", "obs4MIPs", "ana4mips", "native6"})


class OptionsError(ValueError):
    """A script option is unknown, of the wrong type, out of range or inconsistent (one line)."""


def option(default: Any, doc: str = "", units: str = "", check=None) -> Any:
    """Return a dataclass field with its default, a short description and its units.

    ``check(where, value)``, if given, checks the value before the dataclass
    is built (``where`` names the script and option, e.g.
    ``soil_moisture/regional_series: map_steps``) and raises OptionsError.
    """
    if isinstance(default, (list, dict, set)):
        msg = "use an immutable default (tuple or MappingProxy)"
        raise TypeError(msg)
    return dataclasses.field(
        default=default, metadata={"doc": doc, "units": units, "check": check}
    )


def option_names(cls: type) -> list[str]:
    """Names of the options of a script's options dataclass."""
    return [f.name for f in dataclasses.fields(cls)]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(
        str(name), list(choices), n=1, cutoff=0.6
    )
    return f" (did you mean `{close[0]}`?)" if close else ""


def _convert(script: str, name: str, value: Any, kind: Any) -> Any:
    """``value`` as the type ``kind`` of the field ``name``; OptionsError if it is not one."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        kind = next(a for a in args if a is not type(None))
        return _convert(script, name, value, kind)
    where = f"{script}: option `{name}`"
    if kind is bool:
        if not isinstance(value, bool):
            msg = f"{where} must be true or false, not {value!r}"
            raise OptionsError(msg)
        return value
    if kind in (int, float):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind is int and value != int(value))
        ):
            msg = f"{where} must be {'an integer' if kind is int else 'a number'}, not {value!r}"
            raise OptionsError(msg)
        return kind(value)
    if kind is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            msg = f"{where} must be a string, not {value!r}"
            raise OptionsError(msg)
        return str(value)
    if origin is tuple:
        items = [value] if isinstance(value, (str, int, float)) else value
        if not isinstance(items, (list, tuple)):
            msg = f"{where} must be a list, not {value!r}"
            raise OptionsError(msg)
        return tuple(_convert(script, name, item, args[0]) for item in items)
    if origin in (dict, Mapping) or kind is dict:
        if not isinstance(value, Mapping):
            msg = f"{where} must be a mapping, not {value!r}"
            raise OptionsError(msg)
        if args and args[1] is not Any:
            return {
                str(k): _convert(script, f"{name}: {k}", v, args[1])
                for k, v in value.items()
            }
        return dict(value)
    return value


def _takes_none(kind: Any) -> bool:
    """Return True if the type hint ``kind`` admits None (``X | None``)."""
    return typing.get_origin(kind) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(kind)


def parse_options(
    cls: type,
    cfg: Mapping[str, Any],
    script: str,
    announce_errors: bool = True,
):
    """Return the options dataclass ``cls`` of ``script`` from its settings ``cfg``, checked.

    Raises
    ------
    OptionsError
        One line naming the script, the option and what is wrong. Before it
        is raised it is also shown in the terminal of ``esmvaltool``
        (:func:`announce`) unless ``announce_errors`` is False.
    """
    try:
        names = option_names(cls)
        unknown = sorted(
            set(cfg) - set(names) - ESMVALCORE_KEYS - RECIPE_SCRIPT_KEYS
        )
        if unknown:
            hints = "; ".join(
                f"`{key}`{did_you_mean(key, names)}" for key in unknown
            )
            msg = f"{script}: unknown option {hints}; its options are {', '.join(names)}"
            raise OptionsError(msg)
        hints_of = typing.get_type_hints(cls)
        # null means "the default", except for options that take null (e.g. fdr_alpha: null = off).
        values = {
            name: _convert(script, name, cfg[name], hints_of[name])
            for name in names
            if name in cfg
            and (cfg[name] is not None or _takes_none(hints_of[name]))
        }
        for field in dataclasses.fields(cls):
            if field.metadata.get("check") is not None:
                field.metadata["check"](
                    f"{script}: {field.name}",
                    values.get(field.name, field.default),
                )
        return cls(**values)
    except OptionsError as exc:
        if announce_errors:
            announce(str(exc))
        raise


def recipe_key(cfg: Mapping[str, Any], script: str) -> str:
    """``<diagnostic>/<script>`` of the recipe for a script's settings (from its run folder), else ``script``."""
    run_dir = cfg.get("run_dir")
    return (
        f"{Path(run_dir).parent.name}/{Path(run_dir).name}"
        if run_dir
        else script
    )


def check_range(
    script: str,
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = True,
    high_open: bool = True,
    units: str = "",
) -> None:
    """OptionsError unless ``low < value < high`` (``<=`` where not open)."""
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        left = "" if low is None else f"{low:g} {'<' if low_open else '<='} "
        right = (
            "" if high is None else f" {'<' if high_open else '<='} {high:g}"
        )
        unit = f" {units}" if units else ""
        msg = f"{script}: option `{name}` is {value:g}{unit}; it must be {left}{name}{right}"
        raise OptionsError(msg)


def check_choices(
    script: str, name: str, values: Iterable[str], choices: Iterable[str]
) -> None:
    """OptionsError if a value of ``values`` is not among ``choices``."""
    choices = list(choices)
    bad = [v for v in values if v not in choices]
    if bad:
        hints = "; ".join(f"`{v}`{did_you_mean(v, choices)}" for v in bad)
        msg = f"{script}: option `{name}` has unknown value {hints}; known: {', '.join(choices)}"
        raise OptionsError(msg)


def check_references(
    script: str,
    references: Iterable[str],
    present: Mapping[str, str],
    strict: bool = True,
    announce_errors: bool = True,
) -> None:
    """Every reference must be a data set of the run, and an observation or reanalysis.

    ``present`` maps the data set names of the run to their projects. An
    empty ``present`` (a script without data inputs) checks nothing. With
    ``strict=False`` (a script that sees only some of the run's variables) a
    reference absent from ``present`` is only logged.

    Raises
    ------
    OptionsError
        If a reference is not among the run's data sets (with the closest
        name), or is a model (not of an observation project).
    """
    if not present:
        return
    try:
        _check_references(script, references, present)
    except OptionsError as exc:
        if not strict and not all(ref in present for ref in references):
            logger.warning("%s", exc)
            return
        if announce_errors:
            announce(str(exc))
        raise


def _check_references(
    script: str, references: Iterable[str], present: Mapping[str, str]
) -> None:
    for ref in references:
        if ref not in present:
            obs = [d for d, p in present.items() if p in OBS_PROJECTS]
            msg = (
                f"{script}: reference `{ref}` of option `references` is not a data set of this "
                f"run{did_you_mean(ref, obs or present)}; data sets of observation projects: "
                f"{', '.join(sorted(obs)) or 'none'}"
            )
            raise OptionsError(msg)
        if present[ref] not in OBS_PROJECTS:
            msg = (
                f"{script}: reference `{ref}` of option `references` is a {present[ref]} data set, "
                f"not an observation or reanalysis ({', '.join(sorted(OBS_PROJECTS))})"
            )
            raise OptionsError(msg)


def is_model(dataset: str, project: str, references: Iterable[str]) -> bool:
    """Return True if a data set is evaluated as a model: not a reference, not of an observation project."""
    return dataset not in set(references) and str(project) not in OBS_PROJECTS


def announce(message: str) -> None:
    """Log ``message`` as an error and show it in the terminal of the ``esmvaltool`` run.

    ESMValCore writes a script's stdout and stderr only into the script's
    ``log.txt``. Its parent process (one of ESMValCore's task workers, a fork
    of ``esmvaltool``) still writes to the user's terminal (or the batch
    job's output file): on Linux, the line is written to that process's
    standard error through ``/proc``. Elsewhere, or outside an ``esmvaltool``
    run, it is only logged.
    """
    logger.error("%s", message)
    parent = Path(f"/proc/{os.getppid()}")
    try:
        cmdline = (
            (parent / "cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode(errors="replace")
        )
        if (
            "esmvaltool" not in cmdline
            or not sys.stdout
            or sys.stdout.isatty()
        ):
            return
        with (parent / "fd" / "2").open("a", encoding="utf-8") as terminal:
            terminal.write(f"smeval: error: {message}\n")
    except OSError:
        pass
