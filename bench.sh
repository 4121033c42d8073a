#!/usr/bin/env bash
# Runs the driver benchmark against the simulator (see bench/bench.py). Creates .venv on first use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/python" bench/bench.py "$@"
