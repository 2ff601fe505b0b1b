# `make demo` sets up .venv and runs the main job offline; `make test` runs lint, types and tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/pip install --quiet .
	$(BIN)/synthgen expand samples/seeds.txt -n 500 --model demo --system "Popraw gramatykę zdania." -o out/demo --force

test: $(BIN)/python
	$(BIN)/pip install --quiet ".[test]"
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/synthgen
	$(BIN)/python -m pytest -q

bench: $(BIN)/python
	$(BIN)/pip install --quiet .
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist out .pytest_cache .mypy_cache .ruff_cache
