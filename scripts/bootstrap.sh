#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv) from pyproject.toml + constraints.txt.
# Idempotent: does nothing when the venv already matches both files.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${TAAS_VENV:-.venv}
python=${TAAS_PYTHON:-python3}
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [[ -x "$venv/bin/taas" && "$(cat "$venv/.taas-deps" 2>/dev/null)" == "$want" ]]; then
  exit 0
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python 3.11 or newer is needed (set TAAS_PYTHON to its path)" >&2
  exit 1
fi
echo "→ installing Python dependencies into $venv (first time ~1-2 min)"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
echo "$want" > "$venv/.taas-deps"
echo "✓ $venv ready"
