#!/usr/bin/env bash
# Set up, then run the full S&OP cycle on the built-in demo company.
# Leaves demo/SOP_Planning.xlsm (the master) and demo/snapshots/SOP_Plan_<cycle>_v01.xlsx (frozen plan).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/sop-xl demo "${1:-demo}"
