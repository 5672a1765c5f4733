"""Exceptions of the converters: all derive from :class:`CMORizeError`.

Every message names the file(s), the data set, the variable and what is
wrong, so that ``smeval cmorize`` can print it as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CMORizeError(Exception):
    """A raw file cannot be converted; the message says which and why."""

    def __init__(
        self,
        problem: str,
        *,
        dataset: str = "?",
        variable: str = "?",
        files: Iterable[Path | str] | Path | str = (),
    ):
        if isinstance(files, (str, Path)):
            files = [files]
        self.files = [str(f) for f in files]
        self.dataset = dataset
        self.variable = variable
        self.problem = problem
        shown = ", ".join(self.files[:3]) + (
            f" (+{len(self.files) - 3} more)" if len(self.files) > 3 else ""
        )
        super().__init__(
            f"{dataset}, variable {variable!r}, file(s) {shown or '(none)'}: {problem}"
        )


class MissingVariableError(CMORizeError):
    """A raw variable the conversion needs is in none of the input files."""


class UnitError(CMORizeError):
    """A raw variable has other units than the distributor documents."""


class UnreadableFileError(CMORizeError):
    """A file cannot be opened or read (truncated, corrupt, wrong format)."""


class TimeGapError(CMORizeError):
    """Months are missing, duplicated or incomplete."""


class GridError(CMORizeError):
    """Files of one data set disagree about the grid, or the grid is unusable."""


class UnsupportedInputError(CMORizeError):
    """The input is readable but not a product the converter can use."""


class OutputFolderError(CMORizeError):
    """The output folder (``--out``) or a staging folder cannot be created or written."""


class EmptyOutputError(CMORizeError):
    """A converted variable has no valid value (refused unless ``allow_empty``)."""


class CMORizeWarning(UserWarning):
    """A problem the conversion reports but that does not stop it."""
