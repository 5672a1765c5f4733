"""One look for every figure: colours and markers per data set, fonts, output.

A data set keeps the same colour and marker in every figure, whatever else
is drawn with it, because the style is a function of its name only:

* references (``ERA5``, ``ERA-Interim``, ``GLDAS-NOAH``) and the ensemble
  means (``CMIP6-MMEM``, ``-high``, ``-low``) have fixed, distinctive styles;
  the MMEM colours follow the paper (Fig. 7: MMEM-all red, MMEM-high dark
  blue, MMEM-low green), ERA5 is black as in the paper's Fig. 14;
* the 31 models of Table 1 get one colour each from tab20 + tab20b in
  alphabetical order, and a marker per parent family;
* any other model name gets a colour and marker from a hash of its name
  (stable across runs and processes, unlike ``hash()``).

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot,
so nothing registers them globally and each is freed when it goes out of
scope; :func:`new_figure` applies the rcParams of :data:`RC`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure

from smeval import defaults
from smeval.core.ensemble import MMEM_ALL, MMEM_HIGH, MMEM_LOW

#: Resolution of every PNG (dots per inch).
DPI = 150

#: rcParams of every figure: a paper-like sans-serif at small sizes.
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 10,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,  # TrueType in PDFs: editable text for journals
}

#: The reanalyses.
REFERENCES = defaults.REFERENCES
#: The multi-model ensemble means (SPEC section 4).
MMEMS = (MMEM_ALL, MMEM_HIGH, MMEM_LOW)

#: The models of Table 1 and their parent families (as in
#: ``smeval/catalogue.yml``; a test checks they agree).
MODEL_FAMILIES = {
    "ACCESS-CM2": "ACCESS",
    "ACCESS-ESM1-5": "ACCESS",
    "BCC-CSM2-MR": "BCC",
    "BCC-ESM1": "BCC",
    "CAMS-CSM1-0": "CAMS",
    "CanESM5": "CanESM5",
    "CAS-ESM2-0": "CAS-ESM2",
    "CESM2": "CESM2",
    "CESM2-FV2": "CESM2",
    "CESM2-WACCM": "CESM2",
    "CESM2-WACCM-FV2": "CESM2",
    "CNRM-CM6-1": "CNRM",
    "CNRM-CM6-1-HR": "CNRM",
    "CNRM-ESM2-1": "CNRM",
    "E3SM-1-0": "E3SM-1",
    "E3SM-1-1-ECA": "E3SM-1",
    "FIO-ESM-2-0": "FIO-ESM",
    "GFDL-CM4": "GFDL",
    "GFDL-ESM4": "GFDL",
    "GISS-E2-1-G": "GISS-E2-1",
    "GISS-E2-1-G-CC": "GISS-E2-1",
    "GISS-E2-1-H": "GISS-E2-1",
    "HadGEM3-GC31-LL": "HadGEM3",
    "IPSL-CM6A-LR": "IPSL",
    "MIROC6": "MIROC",
    "MPI-ESM-1-2-HAM": "MPI-ESM",
    "MPI-ESM1-2-HR": "MPI-ESM",
    "MPI-ESM1-2-LR": "MPI-ESM",
    "MRI-ESM2-0": "MRI",
    "NorESM2-LM": "NorESM2",
    "NorESM2-MM": "NorESM2",
}

#: Colours of the resolution groups (Figs. 7-8): light tones of the
#: MMEM-high / MMEM-low colours, so a group and its mean read together.
GROUP_COLOURS = {"high": "#6baed6", "low": "#74c476"}

#: Marker cycle for families (the reference/MMEM markers are not in it).
_FAMILY_MARKERS = ("o", "s", "^", "v", "D", "<", ">", "p", "h", "d", "8", "H")


@dataclass(frozen=True)
class DatasetStyle:
    """How one data set is drawn: colour, marker, line width, z-order, label."""

    color: str
    marker: str
    linewidth: float
    linestyle: str = "-"
    markersize: float = 5.0
    zorder: float = 2.0
    label: str = ""


_FIXED = {
    "ERA5": DatasetStyle("#000000", "*", 2.2, "-", 9, 5, "ERA5"),
    "ERA-Interim": DatasetStyle(
        "#7f7f7f", "P", 2.0, "--", 8, 5, "ERA-Interim"
    ),
    "GLDAS-NOAH": DatasetStyle("#7b3294", "X", 2.2, "-", 8, 5, "GLDAS-Noah"),
    "CMIP6-MMEM": DatasetStyle("#e31a1c", "o", 2.6, "-", 10, 6, "CMIP6-MMEM"),
    "CMIP6-MMEM-high": DatasetStyle(
        "#08306b", "o", 2.0, "-", 9, 6, "CMIP6-MMEM-high"
    ),
    "CMIP6-MMEM-low": DatasetStyle(
        "#00682a", "o", 2.0, "-", 9, 6, "CMIP6-MMEM-low"
    ),
}


def _palette() -> list[str]:
    """tab20 + tab20b without their greys (grey is ERA-Interim's colour)."""
    cmaps = (mpl.colormaps["tab20"], mpl.colormaps["tab20b"])
    colours = [c for cm in cmaps for c in cm.colors if max(c) - min(c) > 0.05]
    return [mpl.colors.to_hex(c) for c in colours]


_PALETTE = _palette()
_KNOWN = sorted(MODEL_FAMILIES, key=str.lower)
_FAMILIES = sorted(set(MODEL_FAMILIES.values()), key=str.lower)


def _stable_index(text: str, n: int) -> int:
    return (
        int(hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest(), 16)
        % n
    )


def family_marker(family: str | None) -> str:
    """Marker of a parent family (a fixed one for the Table 1 families)."""
    if not family:
        return "o"
    if family in _FAMILIES:
        return _FAMILY_MARKERS[_FAMILIES.index(family) % len(_FAMILY_MARKERS)]
    return _FAMILY_MARKERS[_stable_index(family, len(_FAMILY_MARKERS))]


def dataset_style(name: str, family: str | None = None) -> DatasetStyle:
    """Style of data set *name*; depends on the name (and family) only.

    Parameters
    ----------
    name : str
        CMIP6 model, ``family:<F>``, ``CMIP6-MMEM[-high|-low]`` or a reference.
    family : str, optional
        Parent family of a model not in Table 1 (chooses its marker).
    """
    if name in _FIXED:
        return _FIXED[name]
    if name.startswith("family:"):
        fam = name.split(":", 1)[1]
        return DatasetStyle(
            _PALETTE[_stable_index(name, len(_PALETTE))],
            family_marker(fam),
            1.4,
            "-.",
            6,
            3,
            name,
        )
    if name in MODEL_FAMILIES:
        color = _PALETTE[_KNOWN.index(name)]
        family = MODEL_FAMILIES[name]
    else:
        color = _PALETTE[_stable_index(name, len(_PALETTE))]
    return DatasetStyle(color, family_marker(family), 0.8, "-", 5, 2, name)


def is_reference(name: str) -> bool:
    """Return True for ERA5, ERA-Interim and GLDAS-NOAH."""
    return name in REFERENCES


def is_mmem(name: str) -> bool:
    """Return True for CMIP6-MMEM and its high/low-resolution versions."""
    return name in MMEMS


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """Return a pyplot-free figure (inches) with the rcParams of :data:`RC` applied.

    Artists take their defaults from rcParams when they are created, so the
    plotting functions build their artists inside ``matplotlib.rc_context(RC)``;
    this helper only creates the figure.
    """
    with mpl.rc_context(RC):
        return Figure(figsize=(width, height), dpi=DPI, **kwargs)


#: File types every figure is also written as (see :func:`also_save_as`).
_ALSO_AS: list[str] = []


@contextlib.contextmanager
def also_save_as(types) -> Iterator[None]:
    """Within the block, :func:`savefig` also writes every figure as each of ``types``.

    The diagnostics pass ESMValCore's ``output_file_type`` (e.g. ``pdf``);
    the PNG is always written (the HTML report shows it).
    """
    before = list(_ALSO_AS)
    _ALSO_AS[:] = [str(t).lower() for t in types]
    try:
        yield
    finally:
        _ALSO_AS[:] = before


def savefig(
    fig: Figure, stem, pdf: bool = False, clear: bool = True
) -> list[Path]:
    """Write *fig* to ``<stem>.png`` (and ``<stem>.pdf``, and the types of :func:`also_save_as`).

    Returns the paths. Parent directories are created. With *clear*
    (default) the figure is cleared afterwards, so its artists are freed
    even if someone keeps a reference to it.
    """
    stem = Path(stem)
    if stem.suffix in (".png", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    types = ["png", *(["pdf"] if pdf else []), *_ALSO_AS]
    paths = [stem.with_suffix(f".{t}") for t in dict.fromkeys(types)]
    with mpl.rc_context(RC):
        # One box for every file type: "tight" would lay the figure out and
        # measure it again for each (a quarter of the figure scripts' time
        # went to these passes).
        box = fig.get_tightbbox().padded(mpl.rcParams["savefig.pad_inches"])
        for path in paths:
            fig.savefig(path, dpi=DPI, bbox_inches=box)
    if clear:
        fig.clear()
    return paths


def units_label(units: str) -> str:
    """CF units as mathtext: ``kg m-2`` -> ``kg m$^{-2}$``; ``1`` -> ``1``."""
    out = []
    for part in str(units).split():
        base = part.rstrip("-0123456789")
        exp = part[len(base) :]
        out.append(f"{base}$^{{{exp}}}$" if base and exp else part)
    return " ".join(out)


def reference_label(reference: str) -> str:
    """Display name of a reference (``GLDAS-NOAH`` -> ``GLDAS-Noah``)."""
    return _FIXED[reference].label if reference in _FIXED else reference
