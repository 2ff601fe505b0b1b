# `make demo` sets up .venv and runs the main job offline; `make test` runs lint, types and tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-real lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/pip install --quiet .
	$(BIN)/synthgen expand samples/seeds.txt -n 500 --model demo --system "Popraw gramatykę zdania." -o out/demo --force

test: $(BIN)/python
	$(BIN)/pip install --quiet ".[test]"
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy src/synthgen
	$(BIN)/mypy tests scripts
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_sizes.py
	$(BIN)/python scripts/flags_table.py --check
	PY=$(PY) bash scripts/real_model/setup.sh
	bash scripts/browser/setup.sh
	rm -f .coverage .coverage.*
	SYNTHGEN_REAL_REQUIRED=1 $(BIN)/python -m pytest -q --cov --cov-report=term:skip-covered

# The real-model suite alone (make test runs it too). Builds, once, the llama-cpp-python
# environment outside the repo (~/.cache/synthgen; minutes the first time).
test-real: $(BIN)/python
	$(BIN)/pip install --quiet ".[test]"
	PY=$(PY) bash scripts/real_model/setup.sh
	SYNTHGEN_REAL_REQUIRED=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/real

bench: $(BIN)/python
	$(BIN)/pip install --quiet .
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist out .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
