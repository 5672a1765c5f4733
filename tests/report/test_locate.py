"""The link to smeval's report in ESMValCore's index.html: inserted once, near the top, idempotently."""

from __future__ import annotations

import shutil

from smeval import cli
from smeval.diag.report import write_report
from smeval.report import locate

from .conftest import make_run


def _run_with_report(tmp_path, **kwargs):
    info = make_run(tmp_path / "output", **kwargs)
    write_report(info["cfg"])
    return info["session"]


def test_link_inserted_once_after_body(tmp_path):
    run = _run_with_report(tmp_path)
    before = (run / "index.html").read_text()
    assert locate.link_index(run) == run / "index.html"
    once = (run / "index.html").read_text()
    assert once.count(locate.LINK_START) == 1
    assert once.count('id="smeval-report-link"') == 1
    assert 'href="plots/evaluation/report/smeval_report.html"' in once
    # Right after <body>, before ESMValCore's heading; nothing else changed.
    assert once.index(locate.LINK_START) < once.index(
        "<h1>Recipe soilmoisture</h1>"
    )
    assert once.index("<body>") < once.index(locate.LINK_START)
    start, end = (
        once.index(locate.LINK_START),
        once.index(locate.LINK_END) + len(locate.LINK_END) + 1,
    )
    assert once[:start] + once[end:] == before.replace(
        "<body>\n", "<body>\n\n", 1
    )
    # Again: unchanged, never duplicated.
    locate.link_index(run)
    locate.link_index(run)
    assert (run / "index.html").read_text() == once


def test_stale_link_is_replaced(tmp_path):
    run = _run_with_report(tmp_path)
    locate.link_index(run)
    text = (
        (run / "index.html")
        .read_text()
        .replace("plots/evaluation/report/", "plots/old/")
    )
    (run / "index.html").write_text(text)
    locate.link_index(run)
    fixed = (run / "index.html").read_text()
    assert fixed.count(locate.LINK_START) == 1
    assert "plots/old/" not in fixed
    assert 'href="plots/evaluation/report/smeval_report.html"' in fixed


def test_nothing_to_link(tmp_path):
    info = make_run(tmp_path / "a")  # no report written
    assert locate.link_index(info["session"]) is None
    assert (
        locate.LINK_START not in (info["session"] / "index.html").read_text()
    )
    run = _run_with_report(
        tmp_path / "b", with_index=False
    )  # run still going: no index.html yet
    assert locate.link_index(run) is None
    assert not (run / "index.html").exists()


def test_locate_main_prints_and_links(tmp_path, capsys):
    run = _run_with_report(tmp_path)
    assert locate.main([str(run.parent), "recipe_soilmoisture.yml"]) == 0
    out = capsys.readouterr().out
    assert (
        f"Report: {(run / 'plots/evaluation/report/smeval_report.html').resolve()}"
        in out
    )
    assert (run / "index.html").read_text().count(locate.LINK_START) == 1
    assert locate.main([str(run.parent)]) == 0
    assert (run / "index.html").read_text().count(locate.LINK_START) == 1
    assert locate.main([str(tmp_path / "empty")]) == 1


def test_smeval_report_link_command(tmp_path, capsys):
    run = _run_with_report(tmp_path)
    assert cli.main(["report", "link", str(run)]) == 0
    assert cli.main(["report", "link", str(run)]) == 0
    assert (run / "index.html").read_text().count(locate.LINK_START) == 1
    assert "Linked" in capsys.readouterr().out
    shutil.rmtree(run / "plots")
    assert cli.main(["report", "link", str(run)]) == 1
    assert "no smeval_report.html" in capsys.readouterr().err
    assert cli.main(["report", "locate", str(run.parent)]) == 0
    assert cli.main(["report"]) == 2
