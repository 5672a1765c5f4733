"""An interrupted run is marked incomplete for the locator and the check; --resume_from without preproc/ says so (point 5)."""

from __future__ import annotations

from pathlib import Path

from smeval.check.core import NOT_REUSED, CheckResult, check_resume
from smeval.report import locate


def _run(root: Path, log: str | None, preproc: bool = False) -> Path:
    run = root / "recipe_soilmoisture_20260101_000000"
    (run / "run").mkdir(parents=True)
    (run / "plots" / "evaluation" / "report").mkdir(parents=True)
    (run / "plots" / "evaluation" / "report" / locate.REPORT_NAME).write_text(
        "<html></html>"
    )
    if log is not None:
        (run / "run" / "main_log.txt").write_text(log)
    if preproc:
        (run / "preproc").mkdir()
    return run


def test_a_killed_run_is_incomplete_and_the_locator_refuses_its_report(
    tmp_path, capsys
):
    # ESMValCore had started tasks; SIGTERM/SIGKILL ended it before "Run was successful".
    run = _run(tmp_path, "INFO    [1] Running 12 tasks using 2 processes\n")
    assert locate.run_state(run) == "incomplete"
    assert locate.main([str(tmp_path)]) == 1
    assert "is incomplete" in capsys.readouterr().err


def test_a_finished_run_is_complete(tmp_path, capsys):
    run = _run(tmp_path, "INFO    [1] Run was successful\n")
    assert locate.run_state(run) == "complete"
    assert locate.main([str(tmp_path)]) == 0
    assert locate.REPORT_NAME in capsys.readouterr().out


def test_a_failed_run_is_refused_too(tmp_path):
    run = _run(
        tmp_path,
        "ERROR   [1] Program terminated abnormally, see stack trace below\n",
    )
    assert locate.run_state(run) == "failed"
    assert locate.main([str(tmp_path)]) == 1


def test_resume_from_a_run_without_preproc_says_nothing_is_reused(tmp_path):
    run = _run(tmp_path, "INFO    [1] Run was successful\n")
    result = CheckResult()
    check_resume(run, result)
    [row] = result.rows
    assert row["in the run"] == NOT_REUSED
    assert "no preproc/ folder" in row["problem"]
    assert result.errors == []
    kept = CheckResult()
    check_resume(
        _run(tmp_path / "b", "INFO    [1] Run was successful\n", preproc=True),
        kept,
    )
    assert kept.rows == []


def test_resume_from_an_incomplete_run_is_reported(tmp_path):
    result = CheckResult()
    check_resume(_run(tmp_path, "INFO    [1] Running\n", preproc=True), result)
    assert any("is incomplete" in r["problem"] for r in result.rows)
