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
OUT      ?= hls_projects
DIST     ?= dist
PYTEST_ARGS ?=

FORCE_FLAG := $(if $(filter 1 yes true,$(FORCE)),--force,)

.PHONY: install hls csim rtl package test clean boards tasks notebooks transfer compare sweep results

install: $(STAMP)

# Re-installs when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m fixyfpga.rtl.warm
	touch $@

hls: $(STAMP)
	$(PY) -m fixyfpga hls --config $(CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' --out '$(OUT)' $(FORCE_FLAG)

csim: $(STAMP)
	$(PY) -m fixyfpga hls --config $(CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' --out '$(OUT)' --no-synth $(FORCE_FLAG)

# The fixed front-end's layers as the circuits its frontend.strategy builds (da: da4ml adder graphs; latency:
# one constant multiplier per weight), proven equal to the integer reference for every input, simulated with
# Icarus on real windows, Yosys synth_xilinx counts next to the programmable equivalent, into
# $(OUT)/<board>/<model>/rtl/ (layers cached in $(OUT)/.rtl_cache/). STRATEGIES=da,latency measures both.
# NODSP_MAX=128 also synthesizes the programmable layers of up to 128 multipliers with -nodsp (slow).
RTL_JOBS ?= 2
NODSP_MAX ?=
STRATEGIES ?=
rtl: $(STAMP)
	$(PY) -m fixyfpga rtl --config $(CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' --out '$(OUT)' --jobs $(RTL_JOBS) \
	    $(if $(NODSP_MAX),--nodsp-max $(NODSP_MAX),) $(if $(STRATEGIES),--strategies $(STRATEGIES),)

# One engine, many tasks (issue 4): build once, fine-tune/pack a task per dataset, prove them in C-sim.
TASKS_CONFIG ?= configs/tasks.yaml
tasks: $(STAMP)
	$(PY) -m fixyfpga tasks --config $(TASKS_CONFIG) --board $(BOARD) --data-dir '$(DATA_DIR)' --out '$(OUT)' $(FORCE_FLAG)

# FixyNN transfer learning (frozen front-end vs per-task training); QUICK=1 is a ~70 s smoke run
# into results/transfer/quick/; the full run (configs/transfer.yaml) trains both arms to convergence (see README).
QUICK ?= 0
TRANSFER_CONFIG ?= $(if $(filter 1 yes true,$(QUICK)),configs/transfer_quick.yaml,configs/transfer.yaml)
transfer: $(STAMP)
	$(PY) -m fixyfpga transfer $(TRANSFER_CONFIG) --data-dir '$(DATA_DIR)'

# FixyNN vs the same model as one programmable engine at the same area, under several area metrics (issue 19):
# summary.json, summary.md, compare.png into the design's build folder, $(OUT)/<board>/<model>/compare/.
# NO_CSIM=1 skips both C-sims. The committed results/compare/ change only through `make results`.
NO_CSIM ?= 0
compare: $(STAMP)
	$(PY) -m fixyfpga compare --config '$(abspath $(CONFIG))' --board $(BOARD) --data-dir '$(DATA_DIR)' \
		--out-root '$(abspath $(OUT))' $(if $(filter 1 yes true,$(NO_CSIM)),--no-csim,)

# Every legal cut x engine DSP budget against the baseline at the same silicon area (estimate-only), the best
# point under an accuracy constraint on the worst target; into $(OUT)/<board>/<model>/sweep/.
# DASK=<scheduler address> runs the points on a cluster (every path sent absolute).
DASK ?=
sweep: $(STAMP)
	$(PY) -m fixyfpga sweep --config '$(abspath $(CONFIG))' --board $(BOARD) --out-root '$(abspath $(OUT))' \
		$(if $(DASK),--dask $(DASK),)

# Regenerates everything committed about the comparison, for every board: build (C-sim), rtl, compare and
# sweep into results/compare/<board>/ and results/sweep/<board>/, then the README's headline table.
# RESULTS_BOARDS=pynq-z2 for one board; RESULTS_ARGS=--no-rtl to skip the Yosys measurements.
RESULTS_BOARDS ?= pynq-z2,zcu104,ultra96v2,kv260
RESULTS_ARGS ?=
results: $(STAMP)
	$(PY) -m fixyfpga results --config '$(abspath $(CONFIG))' --boards $(RESULTS_BOARDS) --data-dir '$(DATA_DIR)' \
		--out-root '$(abspath $(OUT))' $(RESULTS_ARGS)

# Needs the overlay (.bit/.hwh) that `make hls` builds when Vivado is on PATH.
package: $(STAMP)
	$(PY) -m fixyfpga package --board $(BOARD) --out-root '$(OUT)' --tar '$(DIST)/fixyfpga-$(BOARD).tar.gz'

boards: $(STAMP)
	$(PY) -m fixyfpga boards

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Runs notebooks/*.ipynb top to bottom against the simulated board of a fresh C-sim build (marker
# `notebooks`); the executed copies are kept in results/notebooks/.
notebooks: $(STAMP)
	FIXY_NOTEBOOK_OUT=results/notebooks $(PY) -m pytest -m notebooks tests/test_notebooks.py $(PYTEST_ARGS)

clean:
	find hls_projects -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
