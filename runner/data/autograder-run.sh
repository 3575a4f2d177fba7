#!/usr/bin/env bash
# Gradescope runs this for every submission, in /autograder: it grades the AWS account the student
# submitted (submission/account.txt), read-only, and writes results/results.json. Written by
# `labrunner autograder`. AUTOGRADER_ROOT and LABRUNNER_TARGET (default aws; an endpoint URL such as
# http://127.0.0.1:4566 for `labrunner emulator`) let it run elsewhere. Without AUTOGRADER_ROOT, where
# this script sits tells the root (Gradescope copies it to /autograder/run_autograder, and the zip's
# copy is /autograder/source/run_autograder); else it is /autograder.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -f "$HERE/source/autograder.json" ]; then
    FOUND="$HERE"
elif [ -f "$HERE/autograder.json" ] && [ "$(basename "$HERE")" = source ]; then
    FOUND="$(dirname "$HERE")"
else
    FOUND=/autograder
fi
ROOT="${AUTOGRADER_ROOT:-$FOUND}"
SOURCE="$ROOT/source"
export AUTOGRADER_ROOT="$ROOT"
# The instructor's keys, when the zip was built with --profile: they only assume the grader role.
if [ -z "${AWS_SHARED_CREDENTIALS_FILE:-}" ] && [ -f "$SOURCE/aws-credentials" ]; then
    export AWS_SHARED_CREDENTIALS_FILE="$SOURCE/aws-credentials"
fi

# The Python that setup.sh installed labrunner in; else one that already has it (outside Gradescope).
candidates=("${LABRUNNER_PYTHON:-}" "$ROOT/labrunner-venv/bin/python")
if [ -n "${VIRTUAL_ENV:-}" ]; then
    candidates+=("$VIRTUAL_ENV/bin/python")
fi
if command -v labrunner >/dev/null 2>&1; then
    candidates+=("$(dirname "$(command -v labrunner)")/python")
fi
candidates+=(python3)
for python in "${candidates[@]}"; do
    if [ -n "$python" ] && "$python" -c 'import runner.autograder' >/dev/null 2>&1; then
        exec "$python" -m runner.autograder "$SOURCE"
    fi
done

echo "labrunner is not installed: setup.sh did not finish (see the autograder's build log)" >&2
mkdir -p "$ROOT/results"
cat > "$ROOT/results/results.json" <<'JSON'
{"score": 0, "output": "The autograder could not grade this submission: labrunner is not installed on it. This is not your fault: please tell your instructor.", "output_format": "md", "tests": []}
JSON
exit 1
