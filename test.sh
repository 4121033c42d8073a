#!/usr/bin/env bash
# Runs the whole test suite. Creates .venv and installs everything on first use.
# Extra arguments go to pytest, e.g. ./test.sh -k load -x
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
