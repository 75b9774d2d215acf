# One venv in the repo; every target installs into it first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean install

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/studybot console

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/studybot content check
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/studybot bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
