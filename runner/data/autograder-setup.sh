#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu): it installs
# labrunner from the wheel in this zip into a virtual environment that run_autograder uses, and checks
# that the lab loads there. The dependencies come from PyPI. Written by `labrunner autograder`.
set -euo pipefail

# Gradescope runs this as /autograder/source/setup.sh: the folder above it is the root.
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-$(dirname "$SOURCE")}"
VENV="$ROOT/labrunner-venv"

# labrunner needs Python 3.11 or newer: Ubuntu 22.04's python3 is 3.10, 24.04's is 3.12.
find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! PYTHON="$(find_python)"; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv
    PYTHON=python3.11
fi
# Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a package of its own.
if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$(basename "$PYTHON")-venv"
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$SOURCE"/labrunner-*.whl
# A lab that does not load fails the build here, not every submission later.
"$VENV/bin/python" -m runner.autograder --check "$SOURCE"
