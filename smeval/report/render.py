"""Jinja2 rendering of smeval's HTML pages (templates live in ``reports/``).

Autoescaping is always on: dataset names, captions and every other value
from the data are escaped, so a malformed name cannot break or inject into
the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from smeval.diag.shared import atomic_write_text


def environment(templates: Path) -> jinja2.Environment:
    """Return a jinja2 environment over ``templates`` with autoescaping forced on."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(templates: Path, name: str, out: Path, **context: Any) -> Path:
    """Render template ``name`` to ``out`` atomically; returns ``out``."""
    html = environment(templates).get_template(name).render(**context)
    atomic_write_text(Path(out), html)
    return Path(out)
