#!/usr/bin/env bash
# Set up, then lint and run the whole test suite. LibreOffice tests run when `soffice` is
# installed (.ci/run installs it) and are skipped otherwise, except under CI where they must run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check sop_xl scripts tests
.venv/bin/ruff format --check sop_xl scripts tests
# -n auto: one test process per core; the demo is built once for all of them (tests/conftest.py)
exec .venv/bin/pytest -n auto "$@"
