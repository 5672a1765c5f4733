"""Colours and markers per data set: stable, distinct, independent of context."""

import matplotlib as mpl
import numpy as np
import pytest

from smeval.plot import style
from smeval.plot.style import MMEMS, MODEL_FAMILIES, REFERENCES, dataset_style


def test_style_depends_on_name_only():
    first = {
        name: dataset_style(name)
        for name in list(MODEL_FAMILIES) + list(REFERENCES) + list(MMEMS)
    }
    # Asked again, in another order and among other names: the same styles.
    for name in reversed(list(first)):
        assert dataset_style(name) == first[name]
    assert dataset_style("SOME-NEW-MODEL") == dataset_style("SOME-NEW-MODEL")


def test_table1_models_have_distinct_colours_and_family_markers():
    colours = [dataset_style(m).color for m in MODEL_FAMILIES]
    assert len(set(colours)) == len(colours) == 31
    for m, fam in MODEL_FAMILIES.items():
        assert dataset_style(m).marker == style.family_marker(fam)


def test_references_and_mmems_are_distinct_from_each_other_and_from_models():
    fixed = [dataset_style(d) for d in REFERENCES + MMEMS]
    rgb = [mpl.colors.to_rgb(s.color) for s in fixed]
    assert len({s.color for s in fixed}) == len(fixed)
    model_rgb = np.array(
        [mpl.colors.to_rgb(dataset_style(m).color) for m in MODEL_FAMILIES]
    )
    for name, c in zip(REFERENCES + MMEMS, rgb, strict=True):
        assert np.min(np.abs(model_rgb - c).sum(axis=1)) > 0.05, name
        # Drawn thick, above the models.
        assert (
            dataset_style(name).linewidth > dataset_style("CanESM5").linewidth
        )
        assert dataset_style(name).zorder > dataset_style("CanESM5").zorder
    assert dataset_style("ERA5").color == "#000000"
    assert dataset_style("CMIP6-MMEM").color == "#e31a1c"


def test_families_match_the_catalogue():
    from smeval.catalogue import load_catalogue

    cat = load_catalogue()
    assert {name: m.family for name, m in cat.models.items()} == MODEL_FAMILIES


@pytest.mark.parametrize(
    ("units", "label"),
    [
        ("kg m-2", "kg m$^{-2}$"),
        ("mm yr-1", "mm yr$^{-1}$"),
        ("kg m-2 s-1", "kg m$^{-2}$ s$^{-1}$"),
        ("1", "1"),
    ],
)
def test_units_label(units, label):
    assert style.units_label(units) == label


def test_savefig_writes_png_and_pdf(tmp_path):
    from .conftest import assert_files

    fig = style.new_figure(2, 2)
    fig.add_subplot().plot([0, 1], [0, 1])
    paths = style.savefig(fig, tmp_path / "sub" / "line", pdf=True)
    assert_files(paths, pdf=True)
    assert not fig.axes  # cleared


def test_the_pdf_is_cropped_to_the_box_of_the_png(tmp_path):
    # The PDF reuses the tight box measured for the PNG: both cover the same
    # part of the figure, here much less than its 6 x 6 inches.
    import re

    from PIL import Image

    fig = style.new_figure(6, 6)
    ax = fig.add_axes((0.4, 0.4, 0.2, 0.2))
    ax.set_title("a title wider than the axes, not the figure")
    png, pdf = style.savefig(fig, tmp_path / "box", pdf=True)
    with Image.open(png) as image:
        png_inches = np.array(image.size) / style.DPI
    media_box = re.search(
        rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes()
    )
    pdf_inches = np.array([float(v) for v in media_box.groups()]) / 72.0
    assert (png_inches < 5.0).all()
    np.testing.assert_allclose(pdf_inches, png_inches, atol=0.02)
