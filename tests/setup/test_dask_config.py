"""A bad ``dask:`` profile ends the run at once with one clear line (issue 15, point 4)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smeval import runner
from smeval.dask_config import problem


def _config(profile: dict) -> dict:
    return {
        "use": "chosen",
        "profiles": {
            "chosen": profile,
            "local_threaded": {"scheduler": "threads"},
        },
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_valid_profiles_pass():
    assert problem(_config({"scheduler": "threads"})) is None
    assert (
        problem(
            _config(
                {
                    "cluster": {
                        "type": "distributed.LocalCluster",
                        "n_workers": 1,
                    }
                }
            )
        )
        is None
    )


def test_listening_scheduler_address_passes():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert (
            problem(
                _config(
                    {
                        "scheduler_address": f"tcp://127.0.0.1:{server.getsockname()[1]}"
                    }
                )
            )
            is None
        )


def test_unreachable_address_named_with_its_setting():
    address = f"tcp://127.0.0.1:{_free_port()}"
    message = problem(_config({"scheduler_address": address}))
    assert message.startswith(
        f"dask.profiles.chosen.scheduler_address '{address}': no Dask scheduler reachable"
    )
    assert "local_threaded" in message
    assert "\n" not in message


def test_malformed_address():
    assert "expected tcp://HOST:PORT" in problem(
        _config({"scheduler_address": "tcp://127.0.0.1"})
    )


def test_cluster_type_not_installed():
    message = problem(
        _config({"cluster": {"type": "smeval_no_such_pkg.SLURMCluster"}})
    )
    assert message.startswith(
        "dask.profiles.chosen.cluster.type 'smeval_no_such_pkg.SLURMCluster': module"
    )
    assert "pip install smeval-no-such-pkg" in message
    assert "has no 'NoCluster'" in problem(
        _config({"cluster": {"type": "distributed.NoCluster"}})
    )


NOOP = "print('the diagnostic ran')\n"


@pytest.mark.parametrize(
    "profile",
    [
        {"scheduler_address": "tcp://127.0.0.1:{port}"},
        {"cluster": {"type": "smeval_no_such_pkg.SLURMCluster", "cores": 1}},
    ],
    ids=["unreachable-address", "missing-cluster-type"],
)
def test_esmvaltool_run_stops_with_one_line(tmp_path, profile):
    profile = yaml.safe_load(
        yaml.safe_dump(profile).replace("{port}", str(_free_port()))
    )
    script = tmp_path / "noop.py"
    script.write_text(NOOP)
    recipe = tmp_path / "recipe_dask.yml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "documentation": {
                    "title": "dask check",
                    "description": "no data",
                    "authors": ["smeval_team"],
                },
                "diagnostics": {
                    "d": {"scripts": {"s": {"script": str(script)}}}
                },
            }
        )
    )
    config = runner.write_config(
        tmp_path / "config",
        tmp_path / "archive",
        tmp_path / "output",
        dask=_config(profile),
    )
    exe = Path(sys.executable).with_name("esmvaltool")
    # Never hangs: the check waits at most a few seconds for a connection.
    process = subprocess.run(
        [str(exe), "run", f"--config_dir={config}", str(recipe)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 1
    output = process.stdout + process.stderr
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert len(errors) == 1, output[-3000:]
    assert "dask.profiles.chosen." in errors[0]
    assert "config-user.yml" in errors[0]
    assert "Traceback" not in output
    assert "the diagnostic ran" not in output
