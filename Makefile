# Two commands a council data team needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install ui app clean mutation

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Materialise every quarter of the example data in data/ and print where the outputs are.
demo: $(STAMP)
	$(BIN)/perf-pipeline run --all
	@echo
	@echo "The performance app for councillors and officers, on the example:"
	@echo "  $(BIN)/perf-pipeline users add yourname --role performance_team   # asks for a password"
	@echo "  $(BIN)/perf-pipeline app                                          # then open http://127.0.0.1:8080"

## Install the test dependencies and run the tests.
test: $(STAMP)
	$(BIN)/pytest

## Mutation testing of the parsing, validation and performance rules: about 20 minutes on 2 cores,
## not part of `make test`. Lists the surviving mutants; `mutmut show NAME` shows one.
mutation: $(STAMP)
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

## Lint and format checks (ruff), as CI runs them.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## The Dagster UI on http://127.0.0.1:3000 for the example data.
ui: $(STAMP)
	$(BIN)/perf-pipeline ui

## The performance app for the example data on http://127.0.0.1:8080 (after make demo and users add).
app: $(STAMP)
	$(BIN)/perf-pipeline app

clean:
	rm -rf data/warehouse data/reports data/requests data/outbox data/.dagster data/app/snapshot.sqlite
