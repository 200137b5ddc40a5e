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

.PHONY: test test-gpu bench bench-speed deps clean

deps: $(DEPS)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

.deps-active: requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

test: deps
	$(PY) -m pytest -q tests

# The same suite on CuPy (needs cupy and a CUDA device).
test-gpu: deps
	MINIMI_DEVICE=gpu $(PY) -m pytest -q tests

bench: deps
	@echo "make bench: not built yet (the instability studies arrive with the experiments issue)."

bench-speed: deps
	$(PY) -m bench speed --json bench-speed.json

clean:
	rm -rf $(VENV) .deps-active .pytest_cache
