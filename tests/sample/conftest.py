"""Fixtures of the sample-archive tests: one tiny archive per test session."""

from __future__ import annotations

import pytest

from smeval.sample.generate import generate


@pytest.fixture(scope="session")
def tiny_archive(tmp_path_factory):
    """The tiny archive (seed 0) with PLANTED-1 against ERA5; its root path."""
    root = tmp_path_factory.mktemp("tiny")
    generate(root, scale="tiny", seed=0, planted="ERA5", progress=False)
    return root
