# Everything a fresh machine needs: `make run` opens the app, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch used for development (on this project's machines it lies on disk).
TORCH  ?= torch==2.13.0

.PHONY: run test setup system bench clean

setup: $(STAMP) system

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# System programs, not Python packages: Graphviz's `dot` (layout) and poppler's
# `pdftoppm` (the tests render exported PDF pages to look at them).
SYSTEM_PACKAGES := graphviz:dot poppler-utils:pdftoppm

system:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair#*:} >/dev/null 2>&1 || missing="$$missing $${pair%%:*}"; done; \
	[ -z "$$missing" ] || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "Installing with apt-get:$$missing"; \
	    $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; \
	  else \
	    echo "Missing system packages:$$missing, and apt-get is not available. Install them yourself:"; \
	    echo "  macOS: brew install graphviz poppler    conda: conda install graphviz poppler"; \
	    exit 1; \
	  fi; }

run: setup
	$(BIN)/gradviz

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/capture.py
	$(BIN)/python benchmarks/layout.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/app.py

clean:
	rm -rf $(VENV) build *.egg-info
