#!/usr/bin/env bash
# Create (or reuse) the virtual environment that runs Arize Phoenix for `make test-phoenix`.
#
# Why a separate venv: Phoenix pins its own FastAPI/SQLAlchemy/OpenTelemetry/protobuf versions,
# which must not bleed into the project's .venv (the instrumentation is tested against whatever
# LiteLLM and OpenTelemetry the main venv resolves). The tests only talk to Phoenix over HTTP
# and gRPC, so the two environments never need to agree.
#
# Why reuse: the install takes 1.5-2 minutes; a CI machine that keeps .venv-phoenix between
# runs (that is the cache) pays it once. The venv is reused only when its stamp matches the
# pinned requirement and arize-phoenix is installed in it; anything else is rebuilt from
# scratch. (A venv that passes this but cannot start makes the tests fail, with Phoenix's log.)
#
# Usage: scripts/phoenix_env.sh [--with-chromium]
#   PHOENIX_VENV=/some/path   put the venv elsewhere (default .venv-phoenix in the repository)
#   --with-chromium           also make sure Chromium and ChromeDriver are installed (UI test)
#                             (as root with apt-get: installs Debian's `chromium` and `chromium-driver`)
# Prints the venv's path on its last line.
set -euo pipefail

cd "$(dirname "$0")/.."

WITH_CHROMIUM=0
for arg in "$@"; do
    case "$arg" in
        --with-chromium) WITH_CHROMIUM=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "phoenix_env: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

PYTHON="${PYTHON:-python3}"
PHOENIX_VENV="${PHOENIX_VENV:-.venv-phoenix}"
# Verified here: 20.26.1 (serves OTLP/HTTP and gRPC, REST /v1/projects/{id}/spans, GraphQL).
# The upper bound keeps a new major (which may move the REST API the tests read) out of CI
# until someone has looked at it.
PHOENIX_REQUIREMENT="${PHOENIX_REQUIREMENT:-arize-phoenix>=20.26,<21}"
STAMP="$PHOENIX_VENV/.installed-phoenix"

export PIP_DISABLE_PIP_VERSION_CHECK=1

# The installed distribution's version, without importing phoenix (that takes ~20 s).
installed_version() {
    "$PHOENIX_VENV/bin/python" -c \
        'import importlib.metadata as m; print(m.version("arize-phoenix"))' 2>/dev/null
}

healthy() {
    [ -x "$PHOENIX_VENV/bin/python" ] \
        && [ -x "$PHOENIX_VENV/bin/phoenix" ] \
        && [ -f "$STAMP" ] \
        && [ "$(cat "$STAMP")" = "$PHOENIX_REQUIREMENT" ] \
        && installed_version >/dev/null
}

if healthy; then
    echo "phoenix_env: reusing $PHOENIX_VENV (arize-phoenix $(installed_version))" >&2
else
    echo "phoenix_env: installing '$PHOENIX_REQUIREMENT' into $PHOENIX_VENV" >&2
    start=$(date +%s)
    if [ -e "$PHOENIX_VENV" ] && [ ! -f "$PHOENIX_VENV/pyvenv.cfg" ] \
        && [ -n "$(ls -A "$PHOENIX_VENV" 2>/dev/null || echo file)" ]; then
        # Never rm -rf something that is not a venv (PHOENIX_VENV=$HOME by mistake).
        echo "phoenix_env: $PHOENIX_VENV exists and is not a virtual environment;" \
            "not touching it" >&2
        exit 1
    fi
    rm -rf "$PHOENIX_VENV"
    "$PYTHON" -m venv "$PHOENIX_VENV"
    "$PHOENIX_VENV/bin/python" -m pip install --quiet --upgrade pip
    "$PHOENIX_VENV/bin/python" -m pip install --quiet "$PHOENIX_REQUIREMENT"
    # Once, after installing: the server's modules import (slow, so not on the reuse path).
    if ! "$PHOENIX_VENV/bin/python" -c "import phoenix.server.main" >/dev/null; then
        echo "phoenix_env: $PHOENIX_VENV was installed but 'import phoenix.server.main' fails" >&2
        exit 1
    fi
    printf '%s' "$PHOENIX_REQUIREMENT" >"$STAMP"
    elapsed=$(($(date +%s) - start))
    echo "phoenix_env: installed arize-phoenix $(installed_version) in $elapsed s" >&2
fi

# The UI test drives a headless Chromium through its ChromeDriver (Selenium, in the test
# extra; scripts/phoenix_screenshot.py finds both the same way).
has_chromium() {
    local browser=0
    if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then
        browser=1
    fi
    for name in chromium chromium-browser google-chrome; do
        command -v "$name" >/dev/null 2>&1 && browser=1
    done
    [ "$browser" = 1 ] || return 1
    [ -n "${CHROMEDRIVER:-}" ] && [ -x "$CHROMEDRIVER" ] && return 0
    command -v chromedriver >/dev/null 2>&1
}

if [ "$WITH_CHROMIUM" = 1 ] && ! has_chromium; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "phoenix_env: installing Debian's chromium and chromium-driver (UI screenshot test)" >&2
        start=$(date +%s)
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
        echo "phoenix_env: installed chromium in $(($(date +%s) - start)) s" >&2
    else
        echo "phoenix_env: no Chromium and ChromeDriver found; install them (Debian/Ubuntu:" \
            "apt-get install chromium chromium-driver) or set CHROMIUM and CHROMEDRIVER" >&2
        exit 1
    fi
fi

echo "$PHOENIX_VENV"
