"""Lineage that chains: an output refers to its ancestors' provenance files instead of copying them.

ESMValCore copies into each output's provenance document the whole
documents of its ancestors. Every figure and table of smeval derives from
the same input files, so each of them held the lineage of the whole archive
(at the paper's scale, 25 figure outputs wrote 367 MB of XML, and recording
them took a quarter of the run's CPU time), and its cost grew with the
archive, not with the work of the script.

For an output of one of smeval's diagnostic scripts made from another of
their outputs, :func:`refers_to` makes ESMValCore's ``_initialize_ancestors``
(as wrapped by :mod:`smeval.provenance_lineage`) record only the ancestor's
entity, exactly as ESMValCore recorded it when it saved the ancestor
(``TrackedFile._initialize_entity`` of the same attributes, with its
authors and projects), and the derivation from it. The rest of the lineage
is in the ancestor's own ``<stem>_provenance.xml`` beside it, which
ESMValCore writes for every output and never removes: the chain is
followed file by file (:func:`lineage_files`), and the union of the chain's
records is the document ESMValCore would have written
(``tests/setup/test_provenance_chain.py``; :func:`full_document`).

Ancestors that are preprocessed files are copied as before: ESMValCore
removes ``preproc/`` at the end of a run (``remove_preproc_dir``), so their
files cannot be referred to. Other recipes' outputs are never chained: both
the output and its ancestor must be made by a script in smeval's
``diagnostics/`` folder.

ESMValCore writes each output's citation files (``_citation.bibtex``,
``_data_citation_info.txt``) from the records of its document; for a
chained output :func:`install` adds the entries of the chained ancestors'
own citation files (each complete by the same rule), so every output still
cites everything its lineage cites.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smeval import resources
from smeval.provenance_transfer import readable_again

#: Namespaces of ESMValCore's provenance XML.
PROV_NS = "http://www.w3.org/ns/prov#"
#: ESMValCore's prefix of file entities' identifiers.
FILE_PREFIX = "file:"

#: Output file name -> the provenance files of its chained ancestors, while
#: its document is built and its citation files written.
_CHAINED: dict[str, list[Path]] = {}

_BIBTEX_ENTRY = re.compile(r"^(?=@)", flags=re.MULTILINE)


def install() -> bool:
    """Make ESMValCore's citation files of chained outputs complete (idempotent); False for another ESMValCore."""
    import esmvalcore._task as task

    if getattr(task, "smeval_chained_citations", False):
        return True
    if not hasattr(task, "_write_citation_files"):
        return False
    task._write_citation_files = _with_chained_citations(  # noqa: SLF001
        task._write_citation_files  # noqa: SLF001
    )
    task.smeval_chained_citations = True
    return True


def provenance_file(path: Path | str) -> Path:
    """ESMValCore's provenance file of the output at ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_provenance.xml")


@functools.cache
def _smeval_scripts() -> Path | None:
    try:
        return (resources.root() / "diagnostics").resolve()
    except FileNotFoundError:
        return None


def by_smeval_script(attributes: dict[str, Any] | None) -> bool:
    """Return True if the file with these provenance attributes was made by one of smeval's scripts."""
    script = (attributes or {}).get("script_file")
    return bool(script) and _is_smeval_script(str(script))


@functools.cache
def _is_smeval_script(script: str) -> bool:
    # Asked for every ancestor of every output: resolve each script once.
    scripts = _smeval_scripts()
    return scripts is not None and Path(script).resolve().parent == scripts


def chains(product: Any, ancestor: Any) -> bool:
    """Return True if ``product`` may refer to ``ancestor``'s provenance file instead of copying it."""
    from esmvalcore._provenance import TrackedFile

    return (
        # A diagnostic's output (a preprocessed file is a subclass).
        type(ancestor) is TrackedFile
        and ancestor.provenance is None
        and by_smeval_script(product.attributes)
        and by_smeval_script(ancestor._attributes)  # noqa: SLF001
        and readable_again(ancestor)
    )


def refers_to(product: Any, ancestor: Any, present: set) -> None:
    """Record in ``product``'s document ``ancestor``'s entity, as ESMValCore saved it, and the derivation."""
    from esmvalcore._provenance import TrackedFile
    from prov.model import ProvDocument

    stub = TrackedFile(
        ancestor.filename,
        ancestor.attributes,
        prov_filename=ancestor.prov_filename,
    )
    stub.provenance = ProvDocument()
    stub._initialize_namespaces()  # noqa: SLF001
    stub._initialize_entity()  # noqa: SLF001
    for record in stub.provenance.get_records():
        if record not in present:
            present.add(record)
            product.provenance.add_record(record)
    product.entity.wasDerivedFrom(stub.entity, product.activity)
    _CHAINED.setdefault(str(product.filename), []).append(
        ancestor.provenance_file
    )


def _with_chained_citations(write):
    """Wrap ESMValCore's ``_write_citation_files`` to add the chained ancestors' citations."""

    @functools.wraps(write)
    def write_citation_files(filename, provenance) -> None:
        write(filename, provenance)
        chained = _CHAINED.pop(str(filename), [])
        if chained:
            merge_citations(Path(filename), chained)

    return write_citation_files


def _sibling(provenance: Path, suffix: str) -> Path:
    stem = provenance.name.removesuffix("_provenance.xml")
    return provenance.with_name(stem + suffix)


def bibtex_entries(text: str) -> list[str]:
    """Return the entries of a bibtex file ESMValCore wrote, each stripped."""
    return [e.strip() for e in _BIBTEX_ENTRY.split(text) if e.strip()]


def merge_citations(output: Path, ancestors: Iterable[Path]) -> None:
    """Add to ``output``'s citation files the entries of those beside the ``ancestors``' provenance files."""
    ancestors = list(ancestors)
    product = output.with_suffix("")
    bibtex = Path(f"{product}_citation.bibtex")
    own = bibtex_entries(bibtex.read_text(encoding="utf-8"))
    entries = dict.fromkeys(own)
    for provenance in ancestors:
        theirs = _sibling(provenance, "_citation.bibtex")
        if theirs.is_file():
            entries.update(
                dict.fromkeys(bibtex_entries(theirs.read_text("utf-8")))
            )
    # ESMValCore's order: the ESMValTool paper first, then sorted entries.
    first, *rest = list(entries)
    bibtex.write_text(
        "\n".join([first + "\n", *sorted(e + "\n" for e in rest)]),
        encoding="utf-8",
    )
    _merge_info(
        Path(f"{product}_data_citation_info.txt"),
        [_sibling(p, "_data_citation_info.txt") for p in ancestors],
    )


def _info_sections(path: Path) -> dict[str, set[str]]:
    """Heading -> its ``- `` lines, of a ``_data_citation_info.txt``."""
    sections: dict[str, set[str]] = {}
    heading = None
    if not path.is_file():
        return sections
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("- ") and heading is not None:
            sections[heading].add(line)
        elif line.strip():
            heading = line
            sections.setdefault(heading, set())
    return sections


def _merge_info(own: Path, ancestors: list[Path]) -> None:
    """Union of the data citation files, in ESMValCore's layout (CMIP6 links first)."""
    sections = _info_sections(own)
    for path in ancestors:
        for heading, lines in _info_sections(path).items():
            sections.setdefault(heading, set()).update(lines)
    if not sections:
        return
    ordered = sorted(sections, key=lambda h: not h.startswith("Follow"))
    blocks = ["\n".join([h, *sorted(sections[h])]) for h in ordered]
    own.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def lineage_files(provenance: Path | str) -> list[Path]:
    """Return the provenance files of an output's whole lineage: its own, then its chained ancestors', each once.

    An entity of the document whose file has a ``_provenance.xml`` beside it
    is followed (a chained ancestor; in a document ESMValCore copied whole,
    following it adds nothing new).
    """
    todo = [Path(provenance)]
    seen: list[Path] = []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        root = ET.parse(path).getroot()  # noqa: S314 - ESMValCore's own files
        for entity in root.iter(f"{{{PROV_NS}}}entity"):
            name = entity.get(f"{{{PROV_NS}}}id", "")
            if name.startswith(FILE_PREFIX):
                theirs = provenance_file(name.removeprefix(FILE_PREFIX))
                if theirs not in seen and theirs.is_file():
                    todo.append(theirs)
    return seen


def full_document(provenance: Path | str, files: list[Path] | None = None):
    """Return the union of the records of an output's lineage: the document ESMValCore would have written whole.

    ``files``: the lineage's provenance files, if the caller has them
    already (:func:`lineage_files` of ``provenance``).
    """
    from prov.model import ProvDocument

    records: dict = {}
    namespaces = []
    for path in files if files is not None else lineage_files(provenance):
        document = ProvDocument.deserialize(path, format="xml")
        namespaces.extend(document.namespaces)
        records.update(dict.fromkeys(document.get_records()))
    return ProvDocument(records=list(records), namespaces=namespaces)
