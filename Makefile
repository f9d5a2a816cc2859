# make run  : set up .venv from pyproject.toml (once) and materialise every asset, every partition
# make test : the test suite
# make ui   : the Dagster UI on http://127.0.0.1:3000 (127.0.0.1 only)
DATASET ?= cdnow
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export CUSTOMER_PIPELINE_DATASET := $(DATASET)

.PHONY: run test ui venv docs bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m customer_pipeline.cli run --dataset $(DATASET)

test: $(STAMP)
	# two workers, one test file each at a time: the three end-to-end runs (one file per dataset) overlap
	$(PY) -m pytest -q -n 2 --dist loadfile

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

docs: $(STAMP)
	$(PY) -m customer_pipeline.docs

clean:
	rm -rf data $(DAGSTER_HOME)
