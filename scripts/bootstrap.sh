#!/usr/bin/env bash
# Create or refresh the project's virtualenv (.venv): every workspace member (the platform,
# the module SDK, the reference modules; listed in pyproject.toml) installed editable, and
# the dev tools, all pinned by constraints.txt. uv installs them; pip installs uv.
# Idempotent: does nothing when the venv already matches every pyproject.toml and
# constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${TAAS_VENV:-.venv}
python=${TAAS_PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python 3.11 or newer is needed (set TAAS_PYTHON to its path)" >&2
  exit 1
fi
mapfile -t members < <("$python" -c '
import tomllib
with open("pyproject.toml", "rb") as root:
    print(*tomllib.load(root)["tool"]["uv"]["workspace"]["members"], sep="\n")')
pyprojects=(pyproject.toml "${members[@]/%//pyproject.toml}")
want=$(cat "${pyprojects[@]}" constraints.txt | sha256sum | cut -c1-16)
if [[ -x "$venv/bin/taas" && "$(cat "$venv/.taas-deps" 2>/dev/null)" == "$want" ]]; then
  exit 0
fi
echo "→ installing Python dependencies into $venv (first time ~1 min)"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --constraint constraints.txt uv
editables=()
for member in "${members[@]}"; do
  editables+=(--editable "$member")
done
# --compile-bytecode: as pip does. Compiling at install time also keeps the SyntaxWarnings
# of some libraries' sources (invalid escapes) out of the tests, which treat warnings as errors.
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --constraint constraints.txt \
  --compile-bytecode --group dev "${editables[@]}"
echo "$want" > "$venv/.taas-deps"
echo "✓ $venv ready"
