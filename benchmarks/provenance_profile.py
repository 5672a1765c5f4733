"""Where ESMValCore's provenance recording spends its time, replayed on a finished run.

After a diagnostic script, ESMValCore records the provenance of each of its
outputs (``DiagnosticTask._collect_provenance``): for every output it makes
a ``TrackedFile``, copies each ancestor's provenance document into it
(reading the ancestor's ``*_provenance.xml`` the first time), records the
derivation, writes the citation files, rebuilds the document and writes it
as XML. This script does the same with ESMValCore's own functions for one
task of a finished run (copies of its outputs in a temporary folder, so the
run is not changed), under cProfile, and prints the time of each of those
steps, the size of the documents, and the size and pickling time of the
task's result as ESMValCore's worker would send it back to the main process
(with and without :mod:`smeval.provenance_transfer`).

    python benchmarks/provenance_profile.py RUN_DIR skill/figures

RUN_DIR is a run folder (``.../recipe_soilmoisture_YYYYMMDD_HHMMSS``).
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import yaml

#: ESMValCore functions whose cumulative time is reported, with what they do.
STEPS = {
    "_initialize_ancestors": "copy each ancestor's document (read from XML the first time)",
    "restore_provenance": "  of which: read ancestors' XML",
    "wasderivedfrom": "  of which: record the derivation (copies the ancestor's document again)",
    "_write_citation_files": "write the citation files",
    "save_provenance": "rebuild the document and write it",
    "_include_provenance": "  of which: write the caption into the output (PNG, NetCDF)",
    "serialize": "  of which: write the XML",
}


def replay(run: Path, task: str, scratch: Path) -> tuple[list, float]:
    """Record the provenance of ``task``'s outputs again, as ESMValCore does; returns the products.

    With :mod:`smeval.provenance_lineage` installed, as its wrapper of
    ``_collect_provenance`` does: ancestors' documents are released after
    their last use.
    """
    from prov.model import ProvDocument

    from smeval import provenance_lineage

    table = yaml.safe_load(
        (run / "run" / task / "diagnostic_provenance.yml").read_text(
            encoding="utf-8"
        )
    )
    document = ProvDocument()
    document.add_namespace("task", "https://www.esmvaltool.org/task")
    activity = document.activity(f"task:{task}")
    start = time.perf_counter()
    with provenance_lineage.counting_uses(table):
        products = _record(table, scratch, activity)
    return products, time.perf_counter() - start


def _record(table: dict, scratch: Path, activity) -> list:
    """ESMValCore's loop of ``DiagnosticTask._collect_provenance`` over ``table``, on copies in ``scratch``."""
    from esmvalcore._citation import _write_citation_files
    from esmvalcore._provenance import TrackedFile
    from esmvalcore.config._diagnostics import TAGS

    ancestors: dict[str, TrackedFile] = {}
    products = []
    for filename, record in table.items():
        record = dict(record)
        names = record.pop("ancestors", [])
        TAGS.replace_tags_in_dict(record)
        copy = scratch / f"{len(products)}_{Path(filename).name}"
        shutil.copy(filename, copy)
        product = TrackedFile(
            copy,
            record,
            {
                ancestors.setdefault(a, TrackedFile(Path(a), {}, None))
                for a in names
            },
        )
        product.initialize_provenance(activity)
        _write_citation_files(product.filename, product.provenance)
        product.save_provenance()
        products.append(product)
    return products


def pickled(products: list) -> tuple[int, float]:
    """Bytes and seconds (dump + load) of the task's result as the worker sends it."""
    start = time.perf_counter()
    blob = pickle.dumps(products)
    pickle.loads(blob)
    return len(blob), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run folder")
    parser.add_argument("task", help="a diagnostic task, e.g. skill/figures")
    parser.add_argument(
        "--esmvalcore-lineage",
        action="store_true",
        help="copy the ancestors' documents as ESMValCore does, without "
        "smeval.provenance_lineage (for the comparison)",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings(
        "ignore", message="the local part"
    )  # prov 3.3 on names with spaces
    from esmvalcore._provenance import TrackedFile

    from smeval import provenance_lineage, provenance_transfer

    # Installed first, so that it marks the documents restored during the replay.
    provenance_transfer.install()
    if not args.esmvalcore_lineage:
        provenance_lineage.install()
    scratch = Path(tempfile.mkdtemp(prefix="provenance-profile-"))
    try:
        profile = cProfile.Profile()
        products, elapsed = profile.runcall(
            replay, args.run, args.task, scratch
        )
        stats = pstats.Stats(profile).stats
        # The outermost of the functions of one name: they nest (prov's serialize
        # calls its XML serializer's, smeval's restore wraps ESMValCore's), so
        # a sum would count the same time twice.
        cumulative = {
            name: max(
                (v[3] for (_, _, fn), v in stats.items() if fn == name),
                default=0.0,
            )
            for name in STEPS
        }
        sizes = [p.provenance_file.stat().st_size for p in products]
        print(
            f"{args.task}: {len(products)} outputs recorded in {elapsed:.1f} s "
            f"({elapsed / max(len(products), 1):.2f} s each); provenance XML {sum(sizes) / 1e6:.1f} MB, "
            f"largest {max(sizes, default=0) / 1e6:.2f} MB"
        )
        for name, what in STEPS.items():
            print(f"  {cumulative[name]:8.1f} s  {name}: {what}")
        light = TrackedFile.__getstate__
        del (
            TrackedFile.__getstate__
        )  # ESMValCore's own pickling, for the comparison
        try:
            size, seconds = pickled(products)
        finally:
            TrackedFile.__getstate__ = light
        print(
            f"  result pickled by ESMValCore's own pickling: {size / 1e6:.1f} MB, {seconds:.1f} s to dump "
            "and load (small also where smeval.provenance_lineage released the ancestors' documents)"
        )
        size, seconds = pickled(products)
        print(
            f"  with smeval.provenance_transfer: {size / 1e6:.2f} MB, {seconds:.2f} s"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
