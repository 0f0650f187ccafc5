# Everything a fresh machine needs: `make run` opens the app, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch used for development (on this project's machines it lies on disk).
TORCH  ?= torch==2.13.0

.PHONY: run test setup graphviz bench lint clean

setup: $(STAMP) graphviz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# Graphviz's `dot` program is a system package, not a Python one.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    echo "Graphviz's dot is missing: installing it with apt-get"; \
	    $$SUDO apt-get update -q && $$SUDO apt-get install -y -q graphviz; \
	  else \
	    echo "Graphviz's dot is missing and apt-get is not available. Install it yourself:"; \
	    echo "  macOS: brew install graphviz    conda: conda install graphviz    Fedora: sudo dnf install graphviz"; \
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
