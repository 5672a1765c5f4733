#!/usr/bin/env bash
# Install smeval's ESMPy stand-in into the environment of PYTHON, but only if
# `import esmpy` fails there (a real ESMPy, e.g. from conda, is never shadowed).
#   scripts/install-esmpy-standin.sh PYTHON
set -euo pipefail
PY=${1:?usage: install-esmpy-standin.sh PYTHON}
here=$(cd "$(dirname "$0")/.." && pwd)
if "$PY" -c 'import esmpy' >/dev/null 2>&1; then
    echo "smeval: ESMPy is importable; the stand-in is not needed"
    exit 0
fi
echo "smeval: ESMPy is not installed (it is not on PyPI): installing smeval's stand-in"
"$PY" -m pip install --quiet "$here/tools/esmpy-standin"
