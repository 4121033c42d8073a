#!/usr/bin/env bash
# Creates .venv (once) and installs this project into it in editable mode, with the test tools.
# Sourced by test.sh and demo.sh so that both work on a fresh machine with nothing but Python 3.10+.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHARGEPOINT_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating virtual environment in $VENV" >&2
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" "$ROOT/requirements-test.txt" | sha1sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
    echo "Installing the driver, the simulator and the test tools into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT" -r "$ROOT/requirements-test.txt"
    touch "$STAMP"
fi
