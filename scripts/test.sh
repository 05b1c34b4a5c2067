#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine (as root), then run every check:
# lint (ruff), types (mypy) and the whole pytest suite. CI runs this through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

export UV_PYTHON_DOWNLOADS=never PIP_DISABLE_PIP_VERSION_CHECK=1

# System packages: Debian's chromium drives the browser tests (Playwright cannot download one here).
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test,web,dask]'

.venv/bin/ruff check .
.venv/bin/mypy

# pytest exits 5 when it collected no tests; here that means the suite went missing, so it fails.
set +e
.venv/bin/python -m pytest -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: treating that as a failure" >&2
    exit 1
fi
exit "$status"
