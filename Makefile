# Two commands for a fresh machine:
#   make demo   create .venv, install sktfm, run examples/text_pipeline.py
#   make test   create .venv, install sktfm with its test extra, run the suite
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

.PHONY: demo test examples benchmark bench clean

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

demo: $(VENV)/.installed
	$(PY) examples/text_pipeline.py

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

examples: $(VENV)/.installed-test
	for example in examples/*.py; do $(PY) $$example || exit 1; done

benchmark: $(VENV)/.installed
	$(PY) benchmarks/tabular_digits.py

# The performance suite: each script times sktfm and its alternatives in one
# process and appends a dated table to benchmarks/RESULTS.md.
BENCH_SCRIPTS := encode train decode tokenization memory pretrained scale
bench: $(VENV)/.installed-test
	for script in $(BENCH_SCRIPTS); do $(PY) benchmarks/$$script.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
