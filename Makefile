# Two commands for a fresh machine:
#   make demo   create .venv, install sktfm, run examples/tabular_digits.py
#   make test   create .venv, install sktfm with its test extra, lint, run the suite
# and, for development:
#   make lint   ruff check + ruff format --check (settings in ruff.toml)
#   make bench  every benchmark in benchmarks/ (figures go to benchmarks/RESULTS.md)
#   make docs   the documentation site (Sphinx, every example run) into
#               docs/_build/html, warnings as errors, then docs/check_site.py
#               (links, API coverage, pages rendered in headless Chromium)
#
# TORCH_SPEC installs PyTorch before the package so that the range in
# pyproject.toml is already satisfied (a CPU wheel here; override it, e.g.
# `make test TORCH_SPEC=torch`, to let pip choose a CUDA build).

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?= -n 2 --dist loadgroup
LINT_PATHS := sktfm tests benchmarks examples docs
DOCS_HTML := docs/_build/html

.PHONY: demo lint test examples bench docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/.installed
	$(PIP) install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-test
	$(PIP) install --quiet -e ".[test,bench]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(VENV)/.installed-test
	$(PIP) install --quiet -e ".[test,docs]"
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/tabular_digits.py

lint: $(VENV)/.installed-test
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

examples: $(VENV)/.installed-test
	for example in examples/*.py; do $(PY) $$example || exit 1; done

# The one benchmark target: each script times sktfm (and the alternatives a
# user could pick instead) in one process and appends a dated table to
# benchmarks/RESULTS.md. `make bench BENCH_SCRIPTS="encode decode"` runs a few.
BENCH_SCRIPTS ?= encode train decode tokenization memory pretrained scale \
	tabular_digits translation translation_pairs translation_real real_data \
	real_tables table_fit_time onnx_serving
bench: $(VENV)/.installed-bench
	for script in $(BENCH_SCRIPTS); do $(PY) benchmarks/$$script.py || exit 1; done

# The site: sphinx-build runs every example for the gallery (a few minutes;
# docs/conf.py gives the long ones a small training budget) and turns every
# warning into an error; check_site.py then crawls the result.
docs: $(VENV)/.installed-docs
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs $(DOCS_HTML)
	$(PY) docs/check_site.py $(DOCS_HTML)

clean:
	rm -rf $(VENV) build *.egg-info
