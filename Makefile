# The two commands a newcomer runs first; both set themselves up with only python3.
#   make demo   run the instrumented demo against an embedded loopback LLM server
#   make test   run the whole test suite (and the linter)
#
# Tiers (docs/versions.md says which versions each runs; scripts/tiers.py defines them):
#   make test           LiteLLM's LTS line, from locks/lts.txt (also the Proxy tier's LiteLLM)
#   make test-oldest    the oldest LiteLLM we support, from locks/oldest.txt
#   make test-newest    the newest of everything, resolved afresh (the canary), with the real Proxy
#   make test-newest-rust   the same with LiteLLM's Rust bridge on (LITELLM_RUST=1)
#   make lock           re-resolve the locks after a dependency change (keeps the other pins)
#   make lock-upgrade   re-resolve them to the newest releases the tiers admit

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

export LITELLM_LOCAL_MODEL_COST_MAP := True
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# uv trusts the system's certificate store, as pip does here (/etc/pip.conf's `cert`): a TLS
# proxy's CA is only in that store, not in the roots uv ships with.
export UV_SYSTEM_CERTS := 1

# uv (locks/tools.txt) lives in its own venv: `uv pip sync` makes a tier's venv hold exactly its
# lock, which would remove uv from it. pip installs it with hashes, the only pip step.
TOOLS       := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
TIERS       := $(TOOLS)/bin/python scripts/tiers.py
SYNC        := $(TIERS) sync --python $(PYTHON)

$(TOOLS_STAMP): locks/tools.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes --no-deps -r locks/tools.txt
	touch $@

.PHONY: demo test test-oldest test-newest test-newest-rust lint docs setup clean lock lock-upgrade \
	versions

# The LTS tier's venv: what `make test`, lint, docs, the Proxy and Phoenix tiers run in.
$(STAMP): locks/lts.txt pyproject.toml | $(TOOLS_STAMP)
	$(SYNC) lts $(VENV)
	touch $@

setup: $(STAMP)

# The demo gets a venv of its own with the `demo` extra only (at the LTS lock's versions): a
# newcomer's first command should not wait for the test and docs toolchain.
DEMO_VENV  ?= .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed

$(DEMO_STAMP): locks/lts.txt pyproject.toml | $(TOOLS_STAMP)
	$(SYNC) demo $(DEMO_VENV)
	touch $@

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python examples/demo.py $(if $(OTLP),--otlp $(OTLP),)

# A plain `pytest` leaves the tiers out (tests/support/tiers.py); the suite the tiers' targets
# run asks for the slow tests and the soak (at its short size) with their RUN_ switches.
SUITE := RUN_SLOW=1 RUN_SOAK=1

# The LTS suite measures coverage of src/ (branches too) and fails below the floor: a little under
# what it measures, raised when tests are added. Only `make test` measures; the other tiers don't.
COVERAGE_FLOOR ?= 91
COVERAGE := --cov --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR)

test: $(STAMP) lint
	$(SUITE) $(PY) -m pytest $(COVERAGE) $(PYTEST_ARGS)

# The oldest LiteLLM we support (the lower bound of the `instruments` extra) with the 1.x OpenAI
# SDK, so a change that only works on new releases fails CI.
OLDEST_VENV  ?= .venv-oldest
OLDEST_STAMP := $(OLDEST_VENV)/.installed

$(OLDEST_STAMP): locks/oldest.txt pyproject.toml | $(TOOLS_STAMP)
	$(SYNC) oldest $(OLDEST_VENV)
	touch $@

test-oldest: $(OLDEST_STAMP)
	$(SUITE) $(OLDEST_VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The canary: no lock and no stamp, every run resolves the newest releases (LiteLLM, the OpenAI
# SDK, OpenTelemetry, util-genai within our range), so a green `make test` cannot hide that a
# new upstream release broke users. It also starts the real Proxy (RUN_PROXY=1).
NEWEST_VENV ?= .venv-newest

.PHONY: newest-venv
newest-venv: $(TOOLS_STAMP)
	$(SYNC) newest $(NEWEST_VENV)

test-newest: newest-venv
	$(SUITE) RUN_PROXY=1 $(NEWEST_VENV)/bin/python -m pytest $(PYTEST_ARGS)

# LiteLLM's Rust bridge (LITELLM_RUST=1 switches its optional Rust paths on) must not route a
# call past our wrappers.
test-newest-rust: newest-venv
	$(SUITE) LITELLM_RUST=1 RUN_PROXY=1 $(NEWEST_VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The locks are resolved for every Python and platform we support; `make lock` keeps the pins
# it can, `make lock-upgrade` takes the newest releases (then run the tiers before committing).
lock: $(TOOLS_STAMP)
	$(TIERS) lock
	$(MAKE) versions

lock-upgrade: $(TOOLS_STAMP)
	$(TIERS) lock --upgrade
	$(MAKE) versions

# docs/versions.md is generated from the locks and scripts/tiers.py; a test fails when stale.
versions: $(TOOLS_STAMP)
	$(TOOLS)/bin/python scripts/versions.py

# pyright strict over src/ ([tool.pyright] in pyproject.toml); its Node.js comes as a wheel,
# and it is told not to ask the package index whether a newer pyright exists.
lint: $(STAMP)
	$(PY) -m ruff check src tests examples bench scripts
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(PY) -m pyright
	$(PY) -m ruff format --check src tests examples bench scripts
	$(VENV)/bin/rumdl check README.md CHANGELOG.md docs bench/README.md

# What would be published: the wheel and sdist are built and their metadata checked, then the
# wheel (not the source tree) is installed into a fresh venv with the `demo` extra and runs the
# demo. The build tools come from locks/release.txt.
RELEASE_VENV ?= .venv-release
.PHONY: dist-check
dist-check: $(TOOLS_STAMP)
	bash scripts/dist_check.sh

# A real Arize Phoenix (own venv, kept between runs: the cache) receives the demo's traces over
# OTLP/HTTP and gRPC; its REST API and UI are checked (tests/phoenix/). `make test` skips it.
PHOENIX_VENV ?= .venv-phoenix
export PHOENIX_VENV

.PHONY: test-phoenix phoenix-screenshot

test-phoenix: $(STAMP)
	bash scripts/phoenix_env.sh --with-chromium
	$(PY) -m pytest -m phoenix tests/phoenix $(PYTEST_ARGS)

# Regenerates docs/images/phoenix-trace.png (the README's picture) from a fresh Phoenix.
phoenix-screenshot: $(STAMP)
	bash scripts/phoenix_env.sh --with-chromium
	PHOENIX_SCREENSHOT=docs/images/phoenix-trace.png $(PY) -m pytest -m phoenix tests/phoenix -k test_ui_shows_the_trace

# A real LiteLLM Proxy, started under opentelemetry-instrument and with the config.yaml
# callback, against the loopback LLM server and the OTLP receiver (tests/proxy/, ~30 s).
.PHONY: test-proxy
test-proxy: $(STAMP)
	$(PY) -m pytest tests/proxy -m proxy $(PYTEST_ARGS)

# Debian's Prometheus scrapes a real LiteLLM Proxy per conventions mode through the OpenTelemetry
# Prometheus exporter; every query of the dashboard and of the alert rules is run against it,
# and promtool checks and unit-tests the rules (tests/prometheus/, docs/dashboards.md).
.PHONY: test-prometheus
test-prometheus: $(STAMP)
	bash scripts/prometheus_env.sh
	$(PY) -m pytest -m prometheus tests/prometheus $(PYTEST_ARGS)

# Regenerates docs/images/dashboard-{default,latest}.png: the dashboard drawn with matplotlib from
# its own queries against the tier's Prometheus (no Grafana can run here; docs/dashboards.md).
.PHONY: dashboard-preview
# matplotlib is not in any lock: installed here, it goes with the next sync of the venv.
dashboard-preview: $(STAMP)
	bash scripts/prometheus_env.sh
	$(TOOLS)/bin/uv pip install --quiet --python $(PY) 'matplotlib >= 3.8, < 4'
	PROMETHEUS_PREVIEW=docs/images $(PY) -m pytest -m prometheus tests/prometheus -q \
		-k test_latest_mode_splits_calls_by_kind

# Benchmarks (not run by CI: they take minutes and need a quiet machine). See bench/README.md.
# Ours, the floors, no SDK, and the memory soak; BENCH_ARGS=--quick is a few-minute smoke test.
.PHONY: bench bench-peers soak
# ours once more in the latest conventions' mode (the modes' target: within 10% of each other)
BENCH_LATEST = 'latest={"environment": {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}}'
bench: $(STAMP)
	$(PY) bench/run.py --variant $(BENCH_LATEST) $(BENCH_ARGS)

# Ours and the floors with OpenInference's, Traceloop's and OpenLIT's LiteLLM instrumentations
# in one run, each peer in its own virtual environment under .bench/venvs/.
bench-peers: $(STAMP)
	$(PY) bench/run.py --peers $(BENCH_ARGS)

# The full concurrency and memory soak (the suite runs it at SOAK_SCALE=0.05).
soak: $(STAMP)
	SOAK_SCALE=1 $(PY) -m pytest -m soak tests/soak -s $(PYTEST_ARGS)

# The documentation site, built strictly: a broken link or a page missing from the nav fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(OLDEST_VENV) $(NEWEST_VENV) $(DEMO_VENV) $(TOOLS) $(RELEASE_VENV) \
		$(PHOENIX_VENV) .pytest_cache .ruff_cache build dist site
