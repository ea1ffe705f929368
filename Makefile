# gpu-envkit: `make gpu-check` on a new machine, `make test` for developers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The torch the dev/test venv gets. 2.13.0 is a CPU build on the CI machines' disk; on a GPU
# box override it, e.g. `make test TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu130"`.
TORCH_SPEC ?= torch==2.13.0
# torchvision's data sets (workloads train) need a torch that torchvision was built for; the CPU
# 2.13.0 above has none here, so their tests run in a second venv (a CUDA build, ~6 GB, that runs
# on the CPU). torchvision never enters the main venv or envcheck's dependencies.
VISION_VENV ?= .venv-vision
VISION_TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
ARGS   ?=

.PHONY: gpu-check test test-vision lint bench images mutate clean dist

# Host-side checker only: no torch, so it installs in seconds on a bare GPU host. Silent on
# stdout (`@`, pip's output to stderr): `make gpu-check ARGS=--json > r.json` is pure JSON.
$(VENV)/.core: pyproject.toml
	@tools/check_python.sh $(PYTHON)
	@$(PYTHON) -m venv $(VENV) >&2 || { rm -rf $(VENV); exit 2; }
	@$(BIN)/python -m pip install -q -e . >&2
	@touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e ".[workloads,docker,dev]"
	touch $@ $(VENV)/.core

gpu-check: $(VENV)/.core
	@$(BIN)/envcheck $(ARGS)

$(VISION_VENV)/.vision: pyproject.toml
	$(PYTHON) -m venv $(VISION_VENV)
	$(VISION_VENV)/bin/python -m pip install -q $(VISION_TORCH_SPEC)
	$(VISION_VENV)/bin/python -m pip install -q -e ".[workloads,dev]"
	touch $@

# Everything: the main suite (torchvision tests skip there), then the torchvision tests.
test: $(VENV)/.dev test-vision
	$(BIN)/python -m pytest -q $(ARGS)

test-vision: $(VISION_VENV)/.vision
	$(VISION_VENV)/bin/python -m pytest -q -m vision tests/workloads $(ARGS)

# Mutation testing of the rules (minutes; not part of `make test`): prints the score per file.
mutate: $(VENV)/.dev
	$(BIN)/python tests/mutate.py $(ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint docker/Dockerfile

# The default images of docker/images.toml (needs a Docker engine and network for the bases).
images: $(VENV)/.dev
	$(BIN)/envcheck images build --default $(ARGS)

bench: $(VENV)/.dev
	mkdir -p out
	$(BIN)/python benchmarks/envcheck_latency.py
	$(BIN)/python -m workloads digits --json out/digits.json --plot out/digits.png
	$(BIN)/python benchmarks/digits_speed.py

# dist/envcheck.pyz: the checker in one file for a bare host, `python3 envcheck.pyz` (Python 3.10
# or newer; no venv, no pip). Building it needs pip and an index (or local wheels); running it not.
dist: $(VENV)/.core
	$(BIN)/python tools/build_pyz.py

clean:
	rm -rf $(VENV) $(VISION_VENV) out .pytest_cache .ruff_cache
