# gpu-envkit: `make gpu-check` on a new machine, `make test` for developers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The torch the dev/test venv gets. 2.13.0 is a CPU build on the CI machines' disk; on a GPU
# box override it, e.g. `make test TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu130"`.
TORCH_SPEC ?= torch==2.13.0
ARGS   ?=

.PHONY: gpu-check test lint bench clean

# Host-side checker only: no torch, so it installs in seconds on a bare GPU host.
$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[workloads,docker,dev]"
	touch $@ $(VENV)/.core

gpu-check: $(VENV)/.core
	$(BIN)/envcheck $(ARGS)

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q $(ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.dev
	mkdir -p out
	$(BIN)/python benchmarks/envcheck_latency.py
	$(BIN)/python -m workloads digits --json out/digits.json --plot out/digits.png
	$(BIN)/python benchmarks/digits_speed.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
