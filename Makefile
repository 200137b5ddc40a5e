# minimi: `make test` and `make bench` install what they need first.
# Inside an active virtual environment they use it; otherwise they create .venv/.

PYTHON ?= python3
VENV ?= .venv

ifdef VIRTUAL_ENV
PY := python
DEPS := .deps-active
else
PY := $(VENV)/bin/python
DEPS := $(VENV)/.installed
endif

PROFILE ?= quick
OUT ?= results

.PHONY: test test-gpu test-fakecupy doctor bench bench-onehot bench-cstar bench-gaussian bench-report bench-speed bench-tasks \
	bench-slb bench-clb bench-lambda bench-bmi browser docs-results deps clean

DATA ?= $(MINIMI_DATA)
DATASET ?= cifar10

deps: $(DEPS)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

.deps-active: requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Everything: the suite, then its GPU path on the CuPy stand-in. One layer alone:
# make test TESTS=tests/engine (or tests/estimator, tests/tools, tests/bench,
# tests/packaging).
TESTS ?= tests
test: deps browser
	$(PY) -m pytest -q $(TESTS)
	$(MAKE) --no-print-directory test-fakecupy TESTS="$(TESTS)"

# The same suite on CuPy (needs cupy >= 14 and a CUDA device).
test-gpu: deps
	MINIMI_DEVICE=gpu $(PY) -m pytest -q $(TESTS)

# The suite on tests/fakecupy, a strict host-memory stand-in for CuPy that refuses
# host/device mixing and counts device->host syncs (no GPU needed; the slow
# statistical tests are left to the first pass).
FAKECUPY ?= tests/fakecupy
test-fakecupy: deps
	PYTHONPATH="$(FAKECUPY)" MINIMI_DEVICE=gpu FAKECUPY_REPORT=$${TMPDIR:-/tmp}/fakecupy_report.json \
		$(PY) -m pytest -q -p fakecupy_plugin -m "not slow" $(TESTS)

# The active device, versions, BLAS threads, a GEMM rate and a gradient check.
doctor: deps
	$(PY) -m minimi doctor

# The paper's instability studies; PROFILE=paper for the paper's settings (hours).
bench: deps
	$(PY) -m bench onehot --profile $(PROFILE) --out $(OUT)
	$(PY) -m bench cstar --profile $(PROFILE) --out $(OUT)
	$(PY) -m bench gaussian --profile $(PROFILE) --out $(OUT)
	$(PY) -m bench report --out $(OUT) --html
	@echo
	@echo "Open $(OUT)/index.html: every figure and summary, with each run's settings and commit."

bench-onehot: deps
	$(PY) -m bench onehot --profile $(PROFILE) --out $(OUT)

bench-cstar: deps
	$(PY) -m bench cstar --profile $(PROFILE) --out $(OUT)

bench-gaussian: deps
	$(PY) -m bench gaussian --profile $(PROFILE) --out $(OUT)

# The CIFAR benchmarks need the data set on disk: make bench-slb DATA=~/data
bench-slb bench-clb bench-lambda: bench-%: deps
	@if [ -z "$(DATA)" ]; then \
	  echo "make $@ needs CIFAR: get cifar-10-python.tar.gz (or cifar-100-python.tar.gz) from"; \
	  echo "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it, then: make $@ DATA=DIR"; \
	  exit 2; fi
	$(PY) -m bench $* --data "$(DATA)" --dataset $(DATASET) --profile $(PROFILE) --out $(OUT)

# Every bound on distributions with known MI (its time: docs/benchmarks.md).
bench-tasks: deps
	$(PY) -m bench tasks --profile $(PROFILE) --out $(OUT)

# minimi beside bmi's estimators and torch-mist's on bmi's tasks, through the released
# bmi's harness (their environments are built once, in ~/.cache/minimi: bmi's and one
# with PyTorch for the CPU; their size and the time: docs/benchmarks.md).
bench-bmi: deps
	$(PY) -m bench bmi --profile $(PROFILE) --out $(OUT)

bench-report: deps
	$(PY) -m bench report --out $(OUT) --html

# The figures and summaries that docs/results.md shows, redrawn from the run files
# stored in docs/runs/ (its page: docs/runs/index.html).
docs-results: deps
	$(PY) -m bench report --out docs/runs --html

# Debian's chromium, for the results page's browser test (root; skipped loudly without).
browser:
	bash .ci/install-browser

bench-speed: deps
	$(PY) -m bench speed --json bench-speed.json

clean:
	rm -rf $(VENV) .deps-active .pytest_cache
