# Front-desk intake: `make demo` runs the sample inbox through the real flow,
# `make test` runs the tests. Both create or reuse the local virtualenv.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast stop lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/intake demo

test: $(STAMP)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not server"

stop:
	@test -x $(BIN)/intake && $(BIN)/intake stop || true

lint: $(STAMP)
	$(BIN)/ruff check intake flows tasks blocks tests bench
	$(BIN)/mypy intake flows tasks blocks

bench: $(STAMP)
	$(BIN)/intake bench

clean: stop
	rm -rf data .prefect-home reports
