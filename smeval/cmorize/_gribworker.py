"""Child process that decodes GRIB files for :func:`readers.scan_ecmwf_grib`.

Why a separate process: in this software stack (the ``eccodeslib``/``eckitlib``
wheels next to the ``netCDF4`` wheel and iris) the process aborts at exit
("double free or corruption") once ecCodes has been loaded together with the
rest of the stack (``python -c "import iris_grib"`` alone reproduces it). The
main process therefore never loads ecCodes: this worker decodes one GRIB file,
writes its fields (already on the regular, sorted output grid) to an ``.npz``
file and leaves with ``os._exit`` so that no library destructor runs.

Usage: ``python -m smeval.cmorize._gribworker GRIB OUT.npz DATASET NAME...``.
Exit status 0 on success; 3 with a one-line message on stderr on a bad file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import numpy as np

    from . import readers

    grib, out, dataset, *names = argv
    try:
        store = readers._scan_grib_inprocess(
            [readers.Path(grib)], names, dataset
        )
        arrays = {}
        meta = []
        for name, var in store.items():
            arrays[f"{name}__lat"] = var.lat
            arrays[f"{name}__lon"] = var.lon
            for i, rec in enumerate(var.records):
                arrays[f"{name}__{i}"] = rec.read().astype(np.float32)
            meta.append(
                {
                    "name": name,
                    "units": var.units,
                    "grid_note": var.grid_note,
                    "times": [r.time.isoformat() for r in var.records],
                    "monthly": [r.monthly for r in var.records],
                }
            )
        arrays["__meta__"] = np.array(json.dumps(meta))
        tmp = out + ".part"
        with Path(tmp).open("wb") as f:
            np.savez(f, **arrays)
        Path(tmp).replace(out)
    except readers.CMORizeError as exc:
        sys.stderr.write(exc.problem.replace("\n", " ") + "\n")
        return 3
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
