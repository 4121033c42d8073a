#!/usr/bin/env bash
# Runs the driver against the embedded ChargePoint simulator: polls, sheds load on a port, clears it.
# Creates .venv and installs everything on first use. Extra arguments go to `chargepoint-driver demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/chargepoint-driver" demo "$@"
