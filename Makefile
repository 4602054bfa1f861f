# The two commands: `make demo` and `make test`. Each builds its own virtualenv first.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test lint bench i18n clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tui-crm demo

test: $(STAMP)
	$(BIN)/ruff check tui_crm tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check tui_crm tests bench
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# Extract every marked message (babel.cfg), update the zh_CN and en catalogs, compile the
# .mo files the package ships, and list what is still untranslated.
i18n: $(STAMP)
	$(BIN)/python -m tui_crm.i18n.catalogs update

clean:
	rm -rf $(VENV) .pytest_cache
