"""The report's "How sure are we?" section on a fake run with known uncertainty rows."""

from __future__ import annotations

import re

import pandas as pd

from smeval.diag.report import build_report
from smeval.metrics.table import COLUMNS, REGION_IDS
from smeval.report.locate import REPORT_NAME

from .conftest import make_run


def _row(dataset, kind, reference, region, statistic, value):
    return dict(
        zip(
            COLUMNS,
            (
                dataset,
                kind,
                "",
                "",
                reference,
                "sm_shallow",
                region,
                statistic,
                value,
                "1",
            ),
            strict=True,
        )
    )


def _intervals(dataset: str, i: int) -> tuple[float, float]:
    """TSS intervals against ERA5 of the fake models (their TSS: conftest._tss)."""
    if dataset == "A":
        return 0.85, 0.95  # TSS 0.9: surely above 0.6
    if dataset == "B":
        return (
            (0.55, 0.8) if i < 6 else (0.2, 0.4)
        )  # straddles in the first six regions
    return (0.5, 0.7) if i == 0 else (0.1, 0.3)  # C straddles in SIB only


def _add_uncertainty(info) -> None:
    metrics_dir = next(
        d
        for d in info["cfg"]["ancestor_dirs"]
        if (d / "metrics.csv").is_file()
    )
    rows = []
    for i, region in enumerate(REGION_IDS):
        for model in "ABC":
            low, high = _intervals(model, i)
            rows += [
                _row(model, "model", "ERA5", region, "TSS_ci_low", low),
                _row(model, "model", "ERA5", region, "TSS_ci_high", high),
            ]
        rows += [
            _row("GLDAS-NOAH", "reference", "ERA5", region, "TSS", 0.5),
            _row("ERA-Interim", "reference", "ERA5", region, "TSS", 0.95),
        ]
        low, high = (0.05, 0.35) if region == "SIB" else (-0.1, 0.3)
        rows += [
            _row(
                "CMIP6-MMEM-high-minus-low", "difference", "ERA5", region, s, v
            )
            for s, v in (
                ("TSS_difference", 0.2),
                ("TSS_difference_ci_low", low),
                ("TSS_difference_ci_high", high),
            )
        ]
    table = pd.concat(
        [pd.read_csv(metrics_dir / "metrics.csv"), pd.DataFrame(rows)],
        ignore_index=True,
    )
    table.to_csv(metrics_dir / "metrics.csv", index=False)
    pd.DataFrame(
        {
            "dataset": ["A", "B", "C"],
            "variable": "sm_shallow",
            "rank": [1, 2, 3],
            "regions_above": [26, 6, 1],
            "mean_tss": [0.85, 0.45, 0.2],
            "p_top": [1.0, 0.6, 0.4],
            "rank_ci_low": [1, 2, 2],
            "rank_ci_high": [1, 3, 3],
            "top": 2,
            "level": 0.9,
            "references": "ERA5 GLDAS-NOAH",
        }
    ).to_csv(metrics_dir / "robust_ranking.csv", index=False)


def _text(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    chunk = (
        page[start : page.index("</li>", start)]
        if page.find("</li>", start) != -1
        else page[start:]
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", chunk))


def test_how_sure_section_has_the_known_numbers(tmp_path):
    info = make_run(tmp_path)
    _add_uncertainty(info)
    build_report(info["cfg"]["ancestor_dirs"], info["plot_dir"], info["cfg"])
    page = (info["plot_dir"] / REPORT_NAME).read_text(encoding="utf-8")
    assert "How sure are we?" in page
    assert 'href="#sure"' in page
    assert (
        "1000 resamples of whole years, in blocks of 2 consecutive years"
        in re.sub(r"\s+", " ", page)
    )
    # References: the lowest other reference (GLDAS-NOAH, 0.5) is below the median model in the
    # first six regions (median 0.7) and above it elsewhere (median 0.3); 20 of 39 model scores exceed 0.5.
    spread = _text(page, "sure-spread-sm_shallow-ERA5")
    assert (
        f"in {', '.join(REGION_IDS[:6])}, another reference agrees with ERA5 less"
        in spread
    )
    assert (
        "20 of 39 model-region scores are higher than another reference's"
        in spread
    )
    # Threshold: B's first six and C's SIB intervals contain 0.6; A's 13 are surely above.
    straddle = _text(page, "sure-straddle-sm_shallow-ERA5")
    assert "7 of 39 model-region TSS intervals contain 0.6" in straddle
    assert (
        "13 of the 20 scores above 0.6 are above it with 90 % confidence"
        in straddle
    )
    # Ranking (top 2 here): A sure, B and C cannot be placed.
    ranking = re.sub(
        r"\s+",
        " ",
        page[
            page.index('id="sure-sm_shallow"') : page.index(
                'id="robust-sm_shallow"'
            )
        ],
    )
    assert "In the top 2 in at least 95 % of the resamples: A." in ranking
    assert "cannot tell whether B, C belong to the top 2" in ranking
    assert "Only A has rank 1 in its interval." in ranking
    assert "neighbours in the ranking that cannot: B and C." in ranking
    assert "This run has only" not in page  # 432 months: 36 years
    robust = page[page.index('id="robust-sm_shallow"') :]
    robust = robust[: robust.index("</table>")]
    assert re.search(
        r"<td class=\"num\">2</td><td>B</td><td class=\"num\">6</td><td class=\"num\">0.45</td>"
        r"<td class=\"num\">0.60</td><td class=\"num\">2-3</td>",
        robust,
    )
    # Resolution: SIB's interval excludes 0, the other 12 do not.
    resolution = re.sub(
        r"\s+",
        " ",
        re.sub(
            r"<[^>]+>",
            " ",
            page[
                page.index(
                    'id="sure-resolution-sm_shallow-ERA5"'
                ) : page.index('id="resolution-sm_shallow-ERA5"')
            ],
        ),
    )
    assert (
        "above 0 with 90 % confidence in 1 regions, below 0 in 0, and cannot be told from 0 in 12"
        in resolution
    )
    # The difference rows are not skill scores: not in the TSS table.
    tss_table = page[page.index('id="tss-table"') :]
    assert (
        "CMIP6-MMEM-high-minus-low"
        not in tss_table[: tss_table.index("</table>")]
    )


def test_no_section_without_intervals(tmp_path):
    info = make_run(tmp_path)
    build_report(info["cfg"]["ancestor_dirs"], info["plot_dir"], info["cfg"])
    page = (info["plot_dir"] / REPORT_NAME).read_text(encoding="utf-8")
    assert "How sure are we?" not in page
