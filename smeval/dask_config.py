"""Checks of the ``dask:`` section of ESMValCore's configuration that ESMValCore lacks.

ESMValCore 2.15 imports the cluster type of the chosen profile and connects
to its ``scheduler_address`` only when the tasks start: a type whose package
is not installed ends the run with a traceback, and an address nobody
listens at keeps it waiting for distributed's connect timeout before one.
:func:`problem` finds both at once, in one line that names the setting and
what to change; :mod:`smeval.plugin` makes ESMValCore report it as its own
configuration error.
"""

from __future__ import annotations

import importlib
import importlib.util
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

#: Seconds to wait for the scheduler to accept a connection.
CONNECT_TIMEOUT = 5.0
#: What to set instead of a broken profile.
FALLBACK = "or set 'dask: use: local_threaded' in config-user.yml"


def problem(dask_config: Mapping) -> str | None:
    """One line on what is wrong with the chosen Dask profile, or None.

    Parameters
    ----------
    dask_config : mapping
        The ``dask`` section (``use`` and ``profiles``), already valid in
        ESMValCore's sense.
    """
    use = dask_config.get("use")
    profile = (dask_config.get("profiles") or {}).get(use) or {}
    if "cluster" in profile:
        return _cluster_problem(use, str(profile["cluster"].get("type", "")))
    address = profile.get(
        "scheduler_address", profile.get("scheduler-address")
    )
    if address:
        return _address_problem(use, str(address))
    return None


def _cluster_problem(use: str, cluster_type: str) -> str | None:
    module_name, _, class_name = cluster_type.rpartition(".")
    where = f"dask.profiles.{use}.cluster.type '{cluster_type}'"
    try:
        found = (
            bool(module_name)
            and importlib.util.find_spec(module_name) is not None
        )
    except ModuleNotFoundError:  # a parent package is missing
        found = False
    if not found:
        package = (module_name or cluster_type).split(".")[0].replace("_", "-")
        return (
            f"{where}: module '{module_name or cluster_type}' is not installed; "
            f"install it (pip install {package}) or choose another profile, {FALLBACK}"
        )
    if not hasattr(importlib.import_module(module_name), class_name):
        return f"{where}: '{module_name}' has no '{class_name}'; correct the type, {FALLBACK}"
    return None


def _address_problem(use: str, address: str) -> str | None:
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    where = f"dask.profiles.{use}.scheduler_address '{address}'"
    if parts.scheme not in {"tcp", "tls"}:
        return None  # other transports (ucx, ws, inproc): distributed's own errors
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or not port:
        return f"{where}: expected tcp://HOST:PORT; correct it, {FALLBACK}"
    try:
        with socket.create_connection(
            (parts.hostname, port), timeout=CONNECT_TIMEOUT
        ):
            return None
    except OSError as exc:
        return (
            f"{where}: no Dask scheduler reachable there ({exc.strerror or exc}); start the scheduler or "
            f"correct the address, {FALLBACK}"
        )
