#!/usr/bin/env bash
# Prepares what a real VOLTTRON platform needs on this machine, for tests/platform and for people who want to
# try the driver in a platform by hand. Idempotent: a second run only checks and cleans up.
#
#   scripts/platform-env.sh                        # prints PLATFORM_USER=, PLATFORM_VENV=, PLATFORM_BASE=, ...
#   scripts/platform-env.sh --volttron-home DIR    # also makes DIR a VOLTTRON_HOME the platform can start in
#
# What it makes (under $CHARGEPOINT_PLATFORM_BASE, default /var/tmp/chargepoint-platform, outside any clone so
# that a re-run or a new clone reuses it):
#   - an unprivileged user (volttron and vctl refuse to run as root) when this script runs as root;
#     when run by an ordinary user, that user is the platform user;
#   - home/  : the platform user's home (poetry and pip caches survive between runs);
#   - venv/  : a virtual environment made from /usr/bin/python3.11 (readable by any user, unlike a pyenv Python
#              under /root), owned by the platform user because `vctl install` and `vctl install-lib` add
#              packages to it. It holds the platform (volttron), the Platform Driver agent, volttron-lib-tree,
#              the fake driver, the SQLite historian and this package's runtime dependencies. This package itself
#              is installed by `vctl install-lib` in the test, as a user would; any copy left by an earlier run is
#              removed here.
#
# With --volttron-home DIR it also writes DIR/pyproject.toml and DIR/poetry.toml, owned by the platform user. On its
# first start the platform runs `poetry lock` on that project, and `vctl install`/`install-lib` run `poetry add`. Left
# to itself the platform would make the project with `poetry add` of every installed package from PyPI's JSON API,
# which the registry here does not serve; so every distribution of the venv is pinned and the only source is the
# simple index pip uses. The platform must then run with VIRTUAL_ENV set to the venv, or poetry installs into the
# Python the venv was made from.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE="${CHARGEPOINT_PLATFORM_BASE:-/var/tmp/chargepoint-platform}"
PLATFORM_USER="${CHARGEPOINT_PLATFORM_USER:-volttron-e2e}"
PY="${CHARGEPOINT_PLATFORM_PYTHON:-/usr/bin/python3.11}"
VENV="$BASE/venv"
HOME_DIR="$BASE/home"
VOLTTRON_HOME_DIR=""
while [ $# -gt 0 ]; do
    case "$1" in
        --volttron-home) VOLTTRON_HOME_DIR="$2"; shift 2 ;;
        *) echo "usage: $0 [--volttron-home DIR]" >&2; exit 2 ;;
    esac
done

# Versions checked together (all pre-releases; no final 2.x release exists on PyPI).
PACKAGES=(
    "volttron==11.0.0rc3"
    "volttron-platform-driver==2.0.0rc9"
    "volttron-lib-tree==2.0.0rc4"
    "volttron-lib-fake-driver==2.0.0rc0"
)

# Agents the platform tests install with `vctl install` besides the Platform Driver (which is in PACKAGES). They
# are added to the venv on their own stamp, without rebuilding it, so that `vctl install` only registers them.
AGENT_PACKAGES=(
    "volttron-sqlite-historian==2.0.0rc5"
    "volttron-lib-sql-historian==2.0.0rc5"
    "volttron-lib-base-historian==2.0.0rc4"
)

log() { echo "platform-env: $*" >&2; }

if [ ! -x "$PY" ] || ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && [ "$PY" = /usr/bin/python3.11 ] && command -v apt-get >/dev/null; then
        log "installing Debian's python3.11 with venv support"
        (apt-get install -y -q python3.11 python3.11-venv >&2 \
            || { apt-get update -q >&2 && apt-get install -y -q python3.11 python3.11-venv >&2; })
    else
        log "$PY (with venv) not found; set CHARGEPOINT_PLATFORM_PYTHON to a Python 3.10+ the platform user can read"
        exit 2
    fi
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

# Runs share the venv: wait for any other run's set-up or test (tests/platform holds this lock while it runs and
# tells this script so through CHARGEPOINT_PLATFORM_LOCK_HELD).
if [ -z "${CHARGEPOINT_PLATFORM_LOCK_HELD:-}" ]; then
    exec 9>>"$BASE/platform.lock"
    flock -w 600 9 || { log "another run has held $BASE/platform.lock for 10 minutes"; exit 3; }
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

AGENT_STAMP="$VENV/.platform-agents-$(printf '%s\n' "${AGENT_PACKAGES[@]}" | sha1sum | cut -c1-12)"
if [ ! -f "$AGENT_STAMP" ]; then
    log "adding ${AGENT_PACKAGES[*]} to $VENV"
    as_user "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${AGENT_PACKAGES[@]}"
    as_user touch "$AGENT_STAMP"
fi

# A previous run's `vctl install-lib` left this package in the shared venv: remove it so that each run installs
# the clone's current code, and so that the next VOLTTRON_HOME project does not pin a stale build.
if as_user "$VENV/bin/python" -m pip show --quiet volttron-lib-chargepoint-driver >/dev/null 2>&1; then
    log "removing volttron-lib-chargepoint-driver left by an earlier run"
    as_user "$VENV/bin/python" -m pip uninstall --quiet --yes volttron-lib-chargepoint-driver >/dev/null
fi

if [ -n "$VOLTTRON_HOME_DIR" ]; then
    mkdir -p "$VOLTTRON_HOME_DIR"
    INDEX_URL="${CHARGEPOINT_PLATFORM_INDEX_URL:-${PIP_INDEX_URL:-}}"
    if [ -z "$INDEX_URL" ]; then
        INDEX_URL="$("$VENV/bin/python" -m pip config get global.index-url 2>/dev/null || true)"
    fi
    case "$INDEX_URL" in http*) ;; *) INDEX_URL="https://pypi.org/simple/" ;; esac
    "$VENV/bin/python" - "$VOLTTRON_HOME_DIR" "$INDEX_URL" <<'PYTHON'
import importlib.metadata
import platform
import sys
from pathlib import Path

home, index_url = Path(sys.argv[1]), sys.argv[2]
pins = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name and name.lower() != "volttron-lib-chargepoint-driver":
        pins[name] = dist.version
lines = [
    "# Written by scripts/platform-env.sh: the venv's distributions, pinned, for the platform's poetry.",
    "[tool.poetry]",
    "package-mode = false",
    'name = "volttron-home"',
    'description = "Libraries and agents installed in this VOLTTRON platform"',
    "authors = []",
    "",
    "[tool.poetry.dependencies]",
    f'python = "~{platform.python_version()}"',
    *(f'"{name}" = "=={version}"' for name, version in sorted(pins.items(), key=lambda kv: kv[0].lower())),
    "",
    "[[tool.poetry.source]]",
    'name = "package-index"',
    f'url = "{index_url}"',
    'priority = "primary"',
]
(home / "pyproject.toml").write_text("\n".join(lines) + "\n")
(home / "poetry.toml").write_text("[virtualenvs]\ncreate = false\n")
PYTHON
    [ "$(id -u)" -eq 0 ] && chown -R "$PLATFORM_USER:" "$VOLTTRON_HOME_DIR"
    echo "VOLTTRON_HOME=$VOLTTRON_HOME_DIR"
fi

echo "PLATFORM_USER=$PLATFORM_USER"
echo "PLATFORM_VENV=$VENV"
echo "PLATFORM_BASE=$BASE"
echo "PLATFORM_HOME=$HOME_DIR"
