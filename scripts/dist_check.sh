#!/usr/bin/env bash
# `make dist-check`: prove what would be published works, from the built files alone.
#
# 1. Build the sdist, and the wheel from that sdist (python -m build), so a file the sdist
#    forgets breaks the wheel here rather than for a user building from it.
# 2. Check their metadata strictly (twine check --strict: the README renders, fields are valid).
# 3. Install the wheel (not the source tree, not editable) with its `demo` extra into a fresh
#    venv, at the LTS lock's versions, and run examples/demo.py with it. The demo must import
#    litellm_otel from that venv's site-packages: src/ is never on sys.path.
#
# Needs .venv-tools (the Makefile makes it). Leaves dist/ and .venv-dist/ behind for a look.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
RELEASE_VENV="${RELEASE_VENV:-.venv-release}"
DIST_VENV="${DIST_VENV:-.venv-dist}"
TIERS=".venv-tools/bin/python scripts/tiers.py"
UV=".venv-tools/bin/uv"

echo "dist-check: build tools ($RELEASE_VENV, locks/release.txt)"
$TIERS sync --python "$PYTHON" release "$RELEASE_VENV"

rm -rf dist
"$RELEASE_VENV/bin/python" -m build --outdir dist . >/dev/null
shopt -s nullglob
wheels=(dist/*.whl)
sdists=(dist/*.tar.gz)
if [ ${#wheels[@]} -ne 1 ] || [ ${#sdists[@]} -ne 1 ]; then
    echo "dist-check: expected one wheel and one sdist in dist/, got: $(ls dist)" >&2
    exit 1
fi
wheel="${wheels[0]}"
echo "dist-check: built $(basename "${sdists[0]}") and $(basename "$wheel")"
"$RELEASE_VENV/bin/python" -m twine check --strict dist/*

echo "dist-check: installing $(basename "$wheel")[demo] into a fresh $DIST_VENV"
rm -rf "$DIST_VENV"
"$UV" venv --quiet --python "$PYTHON" "$DIST_VENV"
"$UV" pip install --quiet --python "$DIST_VENV/bin/python" -c locks/lts.txt "$wheel[demo]"

# Run from a scratch directory with isolated mode's safe path (-P: the current directory is not
# put on sys.path); the demo adds the clone's root for tests/loopback_server.py, which holds no
# litellm_otel (that lives in src/). The check after the run names where it was imported from.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export DIST_CHECK_DEMO="$PWD/examples/demo.py"
export DIST_CHECK_SRC="$PWD/src"
(cd "$scratch" && "$OLDPWD/$DIST_VENV/bin/python" -P - <<'EOF'
import json
import os
import runpy
import sys
from importlib import metadata
from pathlib import Path

demo, src = os.environ["DIST_CHECK_DEMO"], Path(os.environ["DIST_CHECK_SRC"])
sys.argv = [demo]
code = 0
try:
    runpy.run_path(demo, run_name="__main__")
except SystemExit as exit:
    code = exit.code or 0
module = Path(sys.modules["litellm_otel"].__file__).resolve()
direct_url = json.loads(metadata.distribution("litellm-otel").read_text("direct_url.json") or "{}")
problems = []
if code != 0:
    problems.append(f"the demo exited with {code}")
if src in module.parents or "site-packages" not in module.parts:
    problems.append(f"litellm_otel was imported from {module}, not the installed wheel")
if direct_url.get("dir_info", {}).get("editable"):
    problems.append("litellm-otel is installed editable")
if problems:
    sys.exit("dist-check: " + "; ".join(problems))
print(f"dist-check: the demo ran from the installed wheel ({module.parent})")
EOF
)
