"""Fixtures shared by all tests: where the real sample files live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def realdata_dir() -> Path:
    """``../shared/realdata`` beside the checkout ($SMEVAL_REALDATA overrides).

    The real files are read in place, never copied into the repository.
    """
    if os.environ.get("SMEVAL_REALDATA"):
        return Path(os.environ["SMEVAL_REALDATA"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    return beside if beside.is_dir() else Path("/work/shared/realdata")


@pytest.fixture(scope="session")
def realdata() -> Path:
    folder = realdata_dir()
    assert folder.is_dir(), (
        f"real data folder missing: {folder} (set SMEVAL_REALDATA)"
    )
    return folder
