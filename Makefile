# Two commands do all the setup on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install browser postgres test lint demo bench reliability clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python scripts/patch_meltano.py
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the OAuth consent-page test (Playwright drives it by executable path).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# Debian's PostgreSQL server for the tests that use PostgreSQL as the warehouse (each starts a
# throwaway cluster with initdb/pg_ctl: tests/support/postgres.py). The package's own cluster
# is not needed, and not started.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }

# ruff (style), mypy (types of the four packages: [tool.mypy]), deptry (every import declared)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/deptry .

test: $(STAMP) browser postgres lint
	$(BIN)/pytest -n 2 --durations=25

demo: $(STAMP)
	$(BIN)/python -m demo.run

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# The long form of the reliability and security scenarios (tests/reliability runs the short form
# inside `make test`); rewrites docs/reliability.md with what was injected, lost and duplicated.
reliability: $(STAMP)
	$(BIN)/python -m reliability.run --full

clean:
	rm -rf $(VENV) .meltano output .pytest_cache
