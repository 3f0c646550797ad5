#!/usr/bin/env bash
# Build a release into dist/ (or $1): the wheel, the sdist, SOP_Planning.xlsx/.xlsm and SOP.xlam,
# each checked with independent readers (openpyxl, python-calamine, oletools). See scripts/release.py.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/release.py "${1:-dist}"
