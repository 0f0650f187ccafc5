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
# The shared libraries that Qt's X11 plugin (in PySide6) links and this machine lacks, read from
# the plugin with ldd, one "libfoo.so.N debian-package" line each: no hand-kept list to drift
# with Qt. Run as a file, not with -m, so that the check does not import torch.
XCB_MISSING := $(BIN)/python gradviz/app/display.py --missing-libs

# Quiet when everything is there; apt-get update runs only when something is missing, and the
# package named after a library is installed only when apt knows it.
system: $(STAMP)
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair#*:} >/dev/null 2>&1 || missing="$$missing $${pair%%:*}"; done; \
	libs=$$($(XCB_MISSING)) || exit 1; \
	[ -n "$$missing$$libs" ] || exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "apt-get is not available: install these yourself, then run make again."; \
	  [ -z "$$missing" ] || echo "  Missing programs:$$missing" \
	    "(macOS: brew install graphviz poppler    conda: conda install graphviz poppler)"; \
	  libs=$$(echo "$$libs" | cut -d' ' -f1); \
	  [ -z "$$libs" ] || echo "  Qt's X11 plugin lacks" $$libs "(Fedora: sudo dnf install$$(for \
	    lib in $$libs; do printf " '%s()(64bit)'" $$lib; done))"; \
	  exit 1; \
	fi; \
	SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	$$SUDO apt-get update -q || exit 1; \
	[ -z "$$libs" ] || missing="$$missing $$(echo "$$libs" | cut -d' ' -f2 \
	  | xargs apt-cache show --no-all-versions 2>/dev/null | sed -n 's/^Package: //p')"; \
	missing=$$(echo $$missing); [ -z "$$missing" ] || { echo "Installing with apt-get: $$missing"; \
	  $$SUDO apt-get install -y -q $$missing || exit 1; }; \
	libs=$$($(XCB_MISSING) | cut -d' ' -f1); \
	[ -z "$$libs" ] || { echo "Qt's X11 plugin still lacks" $$libs "and no Debian package is" \
	  "named after it: 'apt-file search LIBRARY' names the one to install."; exit 1; }

run: setup
	$(BIN)/gradviz

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/capture.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/record.py
	$(BIN)/python benchmarks/layout.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/app.py

clean:
	rm -rf $(VENV) build *.egg-info
