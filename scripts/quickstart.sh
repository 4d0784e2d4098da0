#!/usr/bin/env bash
# Set up the project's virtual environment (once) and run the demo or the tests.
#   bash scripts/quickstart.sh demo    # train + save + reload a text and a tabular model
#   bash scripts/quickstart.sh test    # the full test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Reinstall only when the project's requirements changed since the last install.
stamp=.venv/.sktransformer-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ] \
   || [ scripts/quickstart.sh -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # constraints.txt pins torch to the CPU build (an unpinned torch pulls a multi-GB CUDA build)
  # the docs extra too: tests/test_docs.py builds the documentation
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test,docs]"
  touch "$stamp"
fi

case "${1:-}" in
  demo) exec .venv/bin/python examples/demo.py ;;
  test) shift; exec .venv/bin/python -m pytest -n 2 -q "$@" ;;
  *) echo "usage: bash scripts/quickstart.sh {demo|test}" >&2; exit 2 ;;
esac
