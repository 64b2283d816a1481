#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install what is missing, start the real local
# stack, run the static checks, then pytest (extra arguments go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
bin=.venv/bin

echo "→ local stack (installs and builds what is missing; cached outside the checkout)"
"$bin/taas" stack up

echo "→ static checks: ruff, mypy --strict, import-linter"
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy"
"$bin/lint-imports"

echo "→ pytest"
set +e
"$bin/pytest" "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "error: pytest collected no tests; the test setup is broken (check testpaths in pyproject.toml)" >&2
  exit 1
fi
exit $status
