# One venv in the repo; every target installs into it first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench charts clean install

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

# The README's pictures: the charts members get, drawn from demo data.
charts: $(STAMP)
	$(BIN)/python -m bot.render.demo docs/charts

bench: $(STAMP)
	$(BIN)/studybot bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
