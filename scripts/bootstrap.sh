#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install smeval.
#
#   scripts/bootstrap.sh [VENV_DIR]       (default: .venv)
#   SMEVAL_WITH_ESMVALTOOL=2.15.0 scripts/bootstrap.sh .venv-esmvaltool
#                                         (the same, plus that esmvaltool)
#
# - finds a Python >= 3.12: $SMEVAL_PYTHON, then python3.13/python3.12/python3
#   on PATH, then the versions pyenv holds; each candidate is *run* to prove it
#   works (a pyenv shim for a version pyenv does not select fails when run);
# - creates the venv if missing and installs the project with its test extra;
#   an unchanged pyproject.toml is not reinstalled (stamp file in the venv);
# - installs smeval's ESMPy stand-in only when `import esmpy` fails;
# - with $SMEVAL_WITH_ESMVALTOOL set to a version, also installs that
#   `esmvaltool` (ESMValTool's diagnostics package) from PyPI, through the
#   wheel folder $SMEVAL_WHEELS (default ~/.cache/smeval-wheels, outside the
#   repository) so that a rebuild downloads nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${1:-.venv}
STAMP="$VENV/.smeval-installed"

works() {  # works PYTHON -> true if it runs and is >= 3.12
    "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local c v prefix
    for c in "${SMEVAL_PYTHON:-}" python3.13 python3.12 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && works "$c"; then
            command -v "$c"; return 0
        fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        # Newest first; `pyenv prefix` resolves a version without selecting it.
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)?$' | sort -t. -k1,1n -k2,2n -k3,3n -r); do
            prefix=$(pyenv prefix "$v" 2>/dev/null) || continue
            for c in "$prefix/bin/python3" "$prefix/bin/python"; do
                if [ -x "$c" ] && works "$c"; then echo "$c"; return 0; fi
            done
        done
    fi
    return 1
}

if [ ! -x "$VENV/bin/python" ] || ! works "$VENV/bin/python"; then
    if ! PY=$(find_python); then
        cat >&2 <<MSG
error: smeval needs Python 3.12 or newer (ESMValCore 2.15 requires it), and none was found.
Looked at: \$SMEVAL_PYTHON, python3.13, python3.12 and python3 on PATH, and the versions pyenv holds.
Install one (e.g. 'pyenv install 3.12', or your system's python3.12 package), or point
SMEVAL_PYTHON at its interpreter, then run the command again.
MSG
        exit 1
    fi
    echo "smeval: creating $VENV with $PY ($("$PY" --version 2>&1))"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    rm -f "$STAMP"
fi

ESMVALTOOL=${SMEVAL_WITH_ESMVALTOOL:-}
WHEELS=${SMEVAL_WHEELS:-$HOME/.cache/smeval-wheels}
want=$( (sha256sum pyproject.toml setup.py tools/esmpy-standin/pyproject.toml; echo "esmvaltool=$ESMVALTOOL") | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    echo "smeval: installing the project and its test dependencies into $VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[test]"
    scripts/install-esmpy-standin.sh "$VENV/bin/python"
    if [ -n "$ESMVALTOOL" ]; then
        echo "smeval: installing esmvaltool==$ESMVALTOOL into $VENV (wheels cached in $WHEELS)"
        mkdir -p "$WHEELS"
        ls "$WHEELS"/esmvaltool-"$ESMVALTOOL"-*.whl >/dev/null 2>&1 \
            || "$VENV/bin/python" -m pip download --quiet --no-deps --dest "$WHEELS" "esmvaltool==$ESMVALTOOL"
        "$VENV/bin/python" -m pip install --quiet --find-links "$WHEELS" "esmvaltool==$ESMVALTOOL"
        "$VENV/bin/python" -c 'import esmvaltool.diag_scripts.shared' \
            || { echo "error: the environment in $VENV does not import esmvaltool.diag_scripts.shared" >&2; exit 1; }
    fi
    "$VENV/bin/python" -c 'import esmvalcore.preprocessor, smeval' \
        || { echo "error: the environment in $VENV does not import esmvalcore.preprocessor" >&2; exit 1; }
    echo "$want" > "$STAMP"
fi
