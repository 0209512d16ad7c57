# fixyfpga: `make hls BOARD=pynq-z2` builds the committed default model; `make test` runs the tests.
# Both create the virtual environment in .venv on first use.

PYTHON   ?= python3
VENV     ?= .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.fixyfpga-installed
BOARD    ?= pynq-z2
CONFIG   ?= configs/default.yaml
DATA_DIR ?= ../shared/datasets
FORCE    ?= 0
PYTEST_ARGS ?=

FORCE_FLAG := $(if $(filter 1 yes true,$(FORCE)),--force,)

.PHONY: install hls csim test clean boards tasks

install: $(STAMP)

# Re-installs when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

hls: $(STAMP)
	$(PY) -m fixyfpga hls --config $(CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' $(FORCE_FLAG)

csim: $(STAMP)
	$(PY) -m fixyfpga hls --config $(CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' --no-synth $(FORCE_FLAG)

# One engine, many tasks (issue 4): build once, fine-tune/pack a task per dataset, prove them in C-sim.
TASKS_CONFIG ?= configs/tasks.yaml
tasks: $(STAMP)
	$(PY) -m fixyfpga tasks --config $(TASKS_CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' $(FORCE_FLAG)

boards: $(STAMP)
	$(PY) -m fixyfpga boards

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	find hls_projects -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
