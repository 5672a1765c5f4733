"""The report page: summary sentences, banner, escaping, TSS marks, links, provenance, the diagnostic.

The run folder is the fake one of conftest.py, whose metrics table has known
answers (see its docstring).
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
import yaml

from smeval import defaults
from smeval.diag.options import OptionsError
from smeval.diag.report import build_report, report_options, write_report
from smeval.report import summary
from smeval.report.locate import REPORT_NAME

from .conftest import (
    EVIL,
    EVIL_CAPTION,
    THRESHOLD,
    copy_run,
    make_run,
    metrics_table,
)

REPO = Path(__file__).resolve().parents[2]


class Page(HTMLParser):
    """Links, images, scripts and the TSS table's rows of a report page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[str] = []
        self.scripts = 0
        self.ids: set[str] = set()
        self.rows: list[dict] = []
        self._in_tss = False
        self._cell: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "script":
            self.scripts += 1
        elif tag == "table":
            self._in_tss = a.get("id") == "tss-table"
        elif tag == "tr" and self._in_tss and "data-dataset" in a:
            self.rows.append(
                {
                    **{
                        k[5:]: v for k, v in a.items() if k.startswith("data-")
                    },
                    "cells": [],
                }
            )
        elif tag == "td" and self._in_tss and self.rows:
            self._cell = {
                "class": (a.get("class") or "").split(),
                "value": a.get("data-v"),
                "text": "",
            }
            self.rows[-1]["cells"].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "table":
            self._in_tss = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _page(info) -> tuple[str, Page]:
    text = (info["plot_dir"] / REPORT_NAME).read_text(encoding="utf-8")
    return text, Page(text)


# --- summary: known answers ---------------------------------------------------


def test_ranking_top_and_bottom_models():
    table = metrics_table()
    ranks = {
        r.variable: r
        for r in summary.rankings(
            table, THRESHOLD, ["ERA5", "GLDAS-NOAH"], n=3
        )
    }
    shallow, deep = ranks["sm_shallow"], ranks["sm_deep"]
    # 3 models: one best, one weakest, never overlapping.
    assert [m.dataset for m in shallow.top] == ["A"]
    assert shallow.top[0].regions_above == 26
    assert shallow.top[0].per_reference == {"ERA5": 13, "GLDAS-NOAH": 13}
    assert [m.dataset for m in shallow.bottom] == ["C"]
    assert shallow.bottom[0].regions_above == 1
    assert [m.dataset for m in deep.top] == ["B"]
    assert deep.top[0].regions_above == 26
    assert [m.dataset for m in deep.bottom] == ["A"]
    assert deep.bottom[0].regions_above == 0
    assert shallow.n_models == 3
    assert shallow.n_regions == 13


def test_messages_known_counts():
    messages = summary.messages(
        metrics_table(), THRESHOLD, ["ERA5", "GLDAS-NOAH"]
    )
    assert (
        "Against ERA5, shallow soil moisture (0-10 cm) is reproduced (TSS > 0.6) by at least half of "
        "the 3 models in 6 of 13 regions; best simulated: SIB (3 of 3 models), worst simulated: "
        "C-AF, S-AF, WNA, ENA and 3 more (1 of 3 models)."
    ) in messages
    assert (
        "Against GLDAS-NOAH, shallow soil moisture (0-10 cm) is reproduced (TSS > 0.6) by at least half "
        "of the 3 models in 0 of 13 regions; every region is reproduced by 1 of 3 models."
    ) in messages
    # 0.8 > 0.6 vs ERA5 everywhere; 0.5 < 0.7 vs GLDAS-NOAH everywhere.
    assert (
        "Against ERA5, CMIP6-MMEM-high beats CMIP6-MMEM-low for shallow soil moisture (0-10 cm): "
        "its TSS is higher in 13 and lower in 0 of 13 regions."
    ) in messages
    assert (
        "Against GLDAS-NOAH, CMIP6-MMEM-high does not beat CMIP6-MMEM-low for shallow soil moisture "
        "(0-10 cm): its TSS is higher in 0 and lower in 13 of 13 regions."
    ) in messages
    # 13 + 6 + 1 = 20 model-region pairs against ERA5, 13 against GLDAS-NOAH, of 3 x 13.
    assert (
        "For shallow soil moisture (0-10 cm), the models agree better with ERA5 than with GLDAS-NOAH: "
        "20 of 39 model-region pairs have TSS > 0.6 against ERA5, 13 of 39 against GLDAS-NOAH."
    ) in messages
    # Deep: B everywhere, C in three regions (AUS vs ERA5 is missing, not above).
    assert any(
        m.startswith(
            "Against ERA5, deep soil moisture (0-200 cm) is reproduced (TSS > 0.6) by at "
            "least half of the 3 models in 3 of 13 regions; best simulated: SIB, TIB, EUR "
            "(2 of 3 models)"
        )
        for m in messages
    )
    assert (
        "For deep soil moisture (0-200 cm), the models agree equally well with ERA5 and GLDAS-NOAH: "
        "16 of 39 model-region pairs have TSS > 0.6 against each."
    ) in messages


def test_counts_are_the_table_queries():
    table = metrics_table()
    columns, by_region = summary.counts_by_region(
        table, THRESHOLD, ["ERA5", "GLDAS-NOAH"]
    )
    assert columns == [
        ("sm_shallow", "ERA5"),
        ("sm_shallow", "GLDAS-NOAH"),
        ("sm_deep", "ERA5"),
        ("sm_deep", "GLDAS-NOAH"),
    ]
    assert by_region.loc["SIB", ("sm_shallow", "ERA5")] == 3
    assert by_region.loc["EUR", ("sm_shallow", "ERA5")] == 2
    assert by_region.loc["AUS", ("sm_shallow", "ERA5")] == 1
    assert (
        by_region.loc["AUS", ("sm_deep", "ERA5")] == 1
    )  # C's NaN is not above
    _, by_model = summary.counts_by_model(
        table, THRESHOLD, ["ERA5", "GLDAS-NOAH"]
    )
    assert by_model.loc["A", ("sm_shallow", "ERA5")] == 13
    assert by_model.loc["B", ("sm_shallow", "ERA5")] == 6
    assert by_model.loc["C", ("sm_deep", "GLDAS-NOAH")] == 3


def test_ranking_references_default_and_fallback():
    table = metrics_table()
    assert summary.ranking_references(table) == ["ERA5", "GLDAS-NOAH"]
    only_interim = table[table.reference == "ERA-Interim"]
    assert summary.ranking_references(only_interim) == ["ERA-Interim"]


def test_summary_in_page(fake_run):
    build_report(
        fake_run["cfg"]["ancestor_dirs"], fake_run["plot_dir"], fake_run["cfg"]
    )
    text, page = _page(fake_run)
    assert (
        "<strong>A</strong>: 26 (ERA5 13, GLDAS-NOAH 13; mean TSS 0.85)"
        in text
    )
    assert "SIB (3 of 3 models)" in text
    assert "1979-2014" in text
    assert "ERA5, ERA-Interim, GLDAS-NOAH" in text
    assert {
        "summary",
        "fig-regions",
        "fig-maps",
        "fig-annual_cycles",
        "fig-taylor",
        "fig-skill",
        "tss",
        "counts",
        "excluded",
        "software",
        "references",
    } <= page.ids
    # The counts of Fig. 14 and the exclusions.
    assert "layers reach only 1.5 m" in text
    assert "CAMS-CSM1-0" in text
    # The correlation maps' exclusions too.
    assert "correlation maps: members on different grids" in text
    assert "recipe_soilmoisture_filled.yml" in text
    # The PDF of a figure (in plots/.../pdf/) is linked from its PNG's caption.
    assert 'href="../figures/pdf/fig12_tss_sm_shallow.pdf"' in text


# --- banner --------------------------------------------------------------------


def test_banner_present_for_synthetic_input(fake_run):
    build_report(
        fake_run["cfg"]["ancestor_dirs"], fake_run["plot_dir"], fake_run["cfg"]
    )
    text, _ = _page(fake_run)
    assert 'id="synthetic-banner"' in text
    assert "SYNTHETIC DATA — not an evaluation of the real models" in text


def test_banner_absent_for_real_input(real_run):
    build_report(
        real_run["cfg"]["ancestor_dirs"], real_run["plot_dir"], real_run["cfg"]
    )
    text, _ = _page(real_run)
    assert "synthetic-banner" not in text
    assert "SYNTHETIC DATA" not in text


def test_banner_from_the_series_alone(tmp_path):
    # Fields real, only one regional series synthetic: found through the metrics' inputs.
    info = make_run(tmp_path, synthetic=False)
    import netCDF4

    series = (
        info["session"]
        / "work/soil_moisture/regional_series/sm_shallow/ERA5.nc"
    )
    with netCDF4.Dataset(str(series), "a") as ds:
        ds.setncattr("synthetic", "yes")
    build_report(info["cfg"]["ancestor_dirs"], info["plot_dir"], info["cfg"])
    text, _ = _page(info)
    banner = text.split('id="synthetic-banner"', 1)[1].split("</div>", 1)[0]
    assert "1 of the" in banner
    assert "regional_series/sm_shallow/ERA5.nc" in banner


# --- escaping ------------------------------------------------------------------


def test_values_from_the_data_are_escaped(evil_run):
    build_report(
        evil_run["cfg"]["ancestor_dirs"], evil_run["plot_dir"], evil_run["cfg"]
    )
    text, page = _page(evil_run)
    assert EVIL not in text
    assert html.escape(EVIL, quote=False) in text
    assert "<img src=x onerror" not in text
    assert "&lt;img src=x onerror=" in text
    assert page.scripts == 1  # only the report's own inlined script
    # The name is data, shown as text in the table and the exclusions.
    assert any(
        r["dataset"] == EVIL and r["cells"][0]["text"] == EVIL
        for r in page.rows
    )
    assert EVIL_CAPTION.split("<")[0] in text


# --- the TSS table -----------------------------------------------------------------


def test_tss_table_marks_exactly_the_cells_above_threshold(fake_run):
    build_report(
        fake_run["cfg"]["ancestor_dirs"], fake_run["plot_dir"], fake_run["cfg"]
    )
    _, page = _page(fake_run)
    table = fake_run["table"]
    tss = table[table.statistic == "TSS"].set_index(
        ["dataset", "variable", "reference", "region"]
    )["value"]
    headers = ["dataset", "kind", "variable", "reference"]
    regions = [*summary.REGION_IDS, "NH", "SH"]
    marked = expected = checked = 0
    for row in page.rows:
        cells = row["cells"][len(headers) :]
        assert len(cells) == len(regions)
        for region, cell in zip(regions, cells, strict=True):
            value = tss[
                (row["dataset"], row["variable"], row["reference"], region)
            ]
            above = bool(value > THRESHOLD)  # NaN > x is False
            assert ("above" in cell["class"]) == above, (
                row["dataset"],
                row["reference"],
                region,
                value,
            )
            if pd.isna(value):
                assert cell["text"] == ""
                assert cell["value"] == ""
            else:
                assert float(cell["value"]) == value
                assert cell["text"] == f"{value:.2f}"
            marked += "above" in cell["class"]
            expected += above
            checked += 1
    # Every (dataset, variable, reference) of the table has a row.
    assert (
        len(page.rows)
        == table.groupby(["dataset", "variable", "reference"]).ngroups
    )
    assert checked == len(tss)
    assert marked == expected == int((tss > THRESHOLD).sum())
    # The boundary: CMIP6-MMEM-low has TSS exactly 0.6 against ERA5: not marked.
    low = next(
        r
        for r in page.rows
        if r["dataset"] == "CMIP6-MMEM-low"
        and r["reference"] == "ERA5"
        and r["variable"] == "sm_shallow"
    )
    assert not any("above" in c["class"] for c in low["cells"])


# --- links, offline, copies -----------------------------------------------------


def _check_links(report: Path, session: Path, page: Page) -> int:
    n = 0
    for ref in [*page.links, *page.images]:
        assert not ref.startswith(("http:", "https:", "//")), ref
        if ref.startswith("#"):
            assert ref[1:] in page.ids, ref
            continue
        target = (report.parent / unquote(ref)).resolve()
        assert target.is_file(), ref
        assert target.is_relative_to(session.resolve()), ref
        n += 1
    return n


def test_links_are_relative_and_survive_a_copy(fake_run, tmp_path):
    build_report(
        fake_run["cfg"]["ancestor_dirs"], fake_run["plot_dir"], fake_run["cfg"]
    )
    text, page = _page(fake_run)
    # No CDN, no network.
    assert "http://" not in text
    assert "https://" not in text
    assert len(page.images) == 6
    report = fake_run["plot_dir"] / REPORT_NAME
    assert _check_links(report, fake_run["session"], page) > 20
    # Preprocessed files are deleted at the end of a run: named, not linked.
    assert not any("preproc" in link for link in page.links)
    copy = copy_run(fake_run, tmp_path / "elsewhere")
    copied = copy / report.relative_to(fake_run["session"])
    assert (
        _check_links(copied, copy, Page(copied.read_text(encoding="utf-8")))
        > 20
    )


def test_without_figures(tmp_path):
    info = make_run(tmp_path, with_figures=False)
    build_report(info["cfg"]["ancestor_dirs"], info["plot_dir"], info["cfg"])
    text, page = _page(info)
    assert text.count("No figures of this group in this run.") == 5
    assert page.images == []


def test_missing_metrics_is_an_error(tmp_path):
    info = make_run(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"metrics\.csv"):
        build_report(
            info["cfg"]["ancestor_dirs"][1:], info["plot_dir"], info["cfg"]
        )


# --- the diagnostic and its provenance ------------------------------------------


def test_provenance_record(fake_run):
    write_report(fake_run["cfg"])
    records = yaml.safe_load(
        (
            Path(fake_run["cfg"]["run_dir"]) / "diagnostic_provenance.yml"
        ).read_text()
    )
    report = str((fake_run["plot_dir"] / REPORT_NAME).absolute())
    record = records[report]
    tags = yaml.safe_load((REPO / "config-references.yml").read_text())
    for key in (
        "authors",
        "domains",
        "realms",
        "themes",
        "plot_types",
        "statistics",
    ):
        assert record[key], key
        assert set(record[key]) <= set(tags[key]), key
    for key in record["references"]:
        assert (REPO / "references" / f"{key}.bibtex").is_file(), key
    # Ancestors are outputs of the ancestor scripts (ESMValCore accepts nothing else).
    products = set()
    for work in fake_run["cfg"]["ancestor_dirs"]:
        run = fake_run["session"] / "run" / work.parent.name / work.name
        products |= set(
            yaml.safe_load((run / "diagnostic_provenance.yml").read_text())
        )
    assert record["ancestors"]
    assert set(record["ancestors"]) <= products
    assert any(a.endswith("metrics.csv") for a in record["ancestors"])
    assert "1979-2014" in record["caption"]


def test_diagnostic_script_with_settings(fake_run):
    cfg = fake_run["cfg"]
    settings = {k: v for k, v in cfg.items() if k != "ancestor_dirs"}
    settings |= {
        "input_files": [str(d) for d in cfg["ancestor_dirs"]],
        "script": "report",
        "log_level": "info",
        "n_top": 2,
        "ranking_references": ["ERA5"],
    }
    path = Path(cfg["run_dir"]) / "settings.yml"
    path.write_text(yaml.safe_dump(settings))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "diagnostics" / "report.py"), str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (fake_run["plot_dir"] / REPORT_NAME).read_text(encoding="utf-8")
    assert "Rankings and counts use ERA5." in text
    assert (Path(cfg["run_dir"]) / "diagnostic_provenance.yml").is_file()


def test_report_options_take_the_metrics_scripts_where_the_recipe_omits_them():
    metrics = {
        "tss_threshold": 0.7,
        "period": "1980-1999",
        "r0": 0.9,
        "ranking_references": ["ERA5"],
        "bootstrap": {"resamples": 10},
        "work_dir": "/elsewhere",
    }
    options = report_options({"n_top": 2, "period": None}, metrics)
    assert (
        options.tss_threshold,
        options.period,
        options.r0,
        options.n_top,
    ) == (0.7, "1980-1999", 0.9, 2)
    # Only the evaluation options are shared: the metrics script's robust-ranking references are its own.
    assert options.ranking_references == defaults.FIGURE_REFERENCES
    assert report_options({"tss_threshold": 0.5}, metrics).tss_threshold == 0.5
    assert report_options({}, {}).tss_threshold == defaults.TSS_THRESHOLD
    with pytest.raises(OptionsError, match="n_top"):
        report_options({"n_top": 0}, metrics)
