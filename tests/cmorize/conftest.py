"""Fixtures of the converter tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from cmorize_helpers import REALDATA


@pytest.fixture(scope="session")
def realdata() -> Path:
    assert REALDATA.is_dir(), f"real data folder missing: {REALDATA}"
    return REALDATA
