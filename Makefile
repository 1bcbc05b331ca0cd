# The two commands a newcomer runs first; both set themselves up with only python3.
#   make demo   run the instrumented demo against an embedded loopback LLM server
#   make test   run the whole test suite (and the linter)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

export LITELLM_LOCAL_MODEL_COST_MAP := True
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The oldest LiteLLM we support (the lower bound of the `instruments` extra), tested in its
# own virtual environment (with the 1.x OpenAI SDK; the newest tier runs 2.x) so a change
# that only works on new releases fails CI.
OLDEST_LITELLM ?= 1.72.0
OLDEST_VENV    ?= .venv-oldest
OLDEST_PY      := $(OLDEST_VENV)/bin/python
OLDEST_STAMP   := $(OLDEST_VENV)/.installed-$(OLDEST_LITELLM)

.PHONY: demo test test-oldest lint docs setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo,docs]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py $(if $(OTLP),--otlp $(OTLP),)

test: $(STAMP) lint
	$(PY) -m pytest $(PYTEST_ARGS)

$(OLDEST_STAMP): pyproject.toml
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_PY) -m pip install --quiet --upgrade pip
	$(OLDEST_PY) -m pip install --quiet -e '.[test,demo]' 'litellm[proxy]==$(OLDEST_LITELLM)' 'openai<2'
	touch $(OLDEST_STAMP)

test-oldest: $(OLDEST_STAMP)
	$(OLDEST_PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check src tests examples bench scripts
	$(PY) -m ruff format --check src tests examples bench scripts
	$(VENV)/bin/rumdl check README.md CHANGELOG.md docs bench/README.md

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

# Benchmarks (not run by CI: they take minutes and need a quiet machine). See bench/README.md.
# Ours, the floors, no SDK, and the memory soak; BENCH_ARGS=--quick is a few-minute smoke test.
.PHONY: bench bench-peers soak
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

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
	rm -rf $(VENV) $(OLDEST_VENV) $(PHOENIX_VENV) .pytest_cache .ruff_cache build dist site
