# CXR Desktop: `make run` starts the app, `make test` runs the linters and the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint bench bundle deb bench-bundle clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[train,dev,cluster]'
	touch $@ $(RUN_STAMP)

SAMPLE := resources/samples/person1946_bacteria_4874.jpeg

run: $(RUN_STAMP)
	$(VENV)/bin/cxr-desktop $(SAMPLE)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -q

bench: $(DEV_STAMP)
	$(PY) -m benchmarks.run

bundle: $(DEV_STAMP)
	$(PY) packaging/build.py

deb: bundle
	$(PY) packaging/build_deb.py

bench-bundle: bundle
	$(PY) packaging/measure.py

clean:
	rm -rf build dist .pytest_cache .ruff_cache
