#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install sop_xl into it with its test tools.
# Re-running is cheap: the install is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "sop_xl needs Python 3.11 or newer; '$PY' is $("$PY" --version 2>&1)." >&2
  echo "Install python3.11 (or newer) and run again, or set PYTHON=/path/to/python3.11." >&2
  exit 2
fi
# A .venv without pip is what a failed first run leaves (Debian/Ubuntu without python3-venv):
# make it again rather than fail later on "No module named pip".
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import pip' 2>/dev/null; then
  echo "Creating .venv ..."
  rm -rf .venv
  if ! "$PY" -m venv .venv; then
    rm -rf .venv
    echo "Python could not create .venv (above). On Debian or Ubuntu install the venv module:" >&2
    echo "sudo apt install python3-venv (or python3.11-venv for python3.11), then run again." >&2
    exit 2
  fi
fi
stamp=.venv/.sop_xl_installed
want=$(sha256sum pyproject.toml | cut -c1-64)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing sop_xl and its dependencies into .venv ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  echo "$want" > "$stamp"
fi
