#!/usr/bin/env bash
# Prepares what a real VOLTTRON platform needs on this machine, for tests/platform and for people who want to
# try the driver in a platform by hand. Idempotent: a second run only checks and cleans up.
#
#   scripts/platform-env.sh            # prints KEY=VALUE lines (PLATFORM_USER, PLATFORM_VENV, PLATFORM_BASE)
#
# What it makes (under $CHARGEPOINT_PLATFORM_BASE, default /var/tmp/chargepoint-platform, outside any clone so
# that a re-run or a new clone reuses it):
#   - an unprivileged user (volttron and vctl refuse to run as root) when this script runs as root;
#     when run by an ordinary user, that user is the platform user;
#   - home/  : the platform user's home (poetry and pip caches survive between runs);
#   - venv/  : a virtual environment made from /usr/bin/python3.11 (readable by any user, unlike a pyenv Python
#              under /root), owned by the platform user because `vctl install` and `vctl install-lib` add
#              packages to it. It holds the platform (volttron), the Platform Driver agent, volttron-lib-tree,
#              the fake driver and this package's runtime dependencies. This package itself is installed by
#              `vctl install-lib` in the test, as a user would; any copy left by an earlier run is removed here.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${CHARGEPOINT_PLATFORM_BASE:-/var/tmp/chargepoint-platform}"
PLATFORM_USER="${CHARGEPOINT_PLATFORM_USER:-volttron-e2e}"
PY="${CHARGEPOINT_PLATFORM_PYTHON:-/usr/bin/python3.11}"
VENV="$BASE/venv"
HOME_DIR="$BASE/home"

# Versions checked together (all pre-releases; no final 2.x release exists on PyPI).
PACKAGES=(
    "volttron==11.0.0rc3"
    "volttron-platform-driver==2.0.0rc9"
    "volttron-lib-tree==2.0.0rc4"
    "volttron-lib-fake-driver==2.0.0rc0"
)

log() { echo "platform-env: $*" >&2; }

if [ ! -x "$PY" ]; then
    log "$PY not found; set CHARGEPOINT_PLATFORM_PYTHON to a Python 3.10+ that the platform user can read"
    exit 2
fi

if [ "$(id -u)" -eq 0 ]; then
    if ! id -u "$PLATFORM_USER" >/dev/null 2>&1; then
        log "creating user $PLATFORM_USER"
        mkdir -p "$BASE"
        useradd --system --user-group --home-dir "$HOME_DIR" --no-create-home --shell /bin/bash "$PLATFORM_USER"
    fi
    mkdir -p "$BASE" "$HOME_DIR"
    chmod 755 "$BASE"
    chown "$PLATFORM_USER:" "$HOME_DIR"
    as_user() {
        setpriv --reuid "$PLATFORM_USER" --regid "$PLATFORM_USER" --clear-groups \
            env HOME="$HOME_DIR" PATH="$VENV/bin:/usr/bin:/bin" "$@"
    }
else
    PLATFORM_USER="$(id -un)"
    HOME_DIR="$HOME"
    mkdir -p "$BASE"
    as_user() { env PATH="$VENV/bin:/usr/bin:/bin" "$@"; }
fi

# The stamp covers everything that decides the venv's contents.
STAMP="$VENV/.platform-env-$( { printf '%s\n' "${PACKAGES[@]}"; cat "$ROOT/requirements.txt"; "$PY" --version; } \
    | sha1sum | cut -c1-12)"

if [ ! -f "$STAMP" ]; then
    if [ -d "$VENV" ]; then
        log "package set changed: rebuilding $VENV"
        rm -rf "$VENV"
    fi
    start=$SECONDS
    mkdir -p "$VENV"
    [ "$(id -u)" -eq 0 ] && chown "$PLATFORM_USER:" "$VENV"
    as_user "$PY" -m venv "$VENV"
    log "installing the platform into $VENV (first run only; takes about a minute)"
    # requirements.txt holds this package's runtime dependencies; installing them here means `vctl install-lib`
    # only has to add the package itself.
    as_user "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${PACKAGES[@]}" -r "$ROOT/requirements.txt"
    as_user touch "$STAMP"
    log "venv ready in $((SECONDS - start)) s"
fi

# A previous run's `vctl install-lib` left this package in the shared venv: remove it so that each run installs
# the clone's current code, and so that the next VOLTTRON_HOME project does not pin a stale build.
if as_user "$VENV/bin/python" -m pip show --quiet volttron-lib-chargepoint-driver >/dev/null 2>&1; then
    log "removing volttron-lib-chargepoint-driver left by an earlier run"
    as_user "$VENV/bin/python" -m pip uninstall --quiet --yes volttron-lib-chargepoint-driver >/dev/null
fi

echo "PLATFORM_USER=$PLATFORM_USER"
echo "PLATFORM_VENV=$VENV"
echo "PLATFORM_BASE=$BASE"
echo "PLATFORM_HOME=$HOME_DIR"
