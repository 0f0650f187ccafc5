# Everything a fresh machine needs: `make run` opens the app, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The CPU build of torch used for development (on this project's machines it lies on disk).
TORCH  ?= torch==2.13.0

.PHONY: run test test-oldest-torch setup system bench clean

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

# The core's tests on the oldest torch that pyproject.toml admits (its "torch>=X.Y" floor), in a
# venv of its own. PyPI's x86_64 wheels of old torch are CUDA builds: about 4 GB, once.
OLDEST      ?= .venv-oldest
TORCH_FLOOR ?= $(shell sed -n 's/^ *"torch>=\([0-9.]*\)".*/\1/p' pyproject.toml)

$(OLDEST)/.installed: pyproject.toml
	test -n "$(TORCH_FLOOR)" || { echo "no torch>=X.Y floor in pyproject.toml"; exit 1; }
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install -q --upgrade pip
	$(OLDEST)/bin/python -m pip install -q "torch==$(TORCH_FLOOR).*"
	$(OLDEST)/bin/python -m pip install -q -e '.[test]'
	touch $@

# The session fuzz test caps its child's address space at 2 GiB, which a CUDA build of torch
# (all that PyPI has for x86_64) passes just loading its libraries: left out for those builds.
FUZZ_AS := tests/core/test_session_fuzz.py::test_mutated_sessions_load_or_fail_with_one_line_within_bounds

test-oldest-torch: $(OLDEST)/.installed
	$(OLDEST)/bin/python -c 'import torch; print("torch", torch.__version__)'
	$(OLDEST)/bin/python -m pytest -q -p no:cacheprovider tests/core $$($(OLDEST)/bin/python -c \
	  'import torch; print("--deselect $(FUZZ_AS)" if torch.version.cuda else "")')

bench: setup
	$(BIN)/python benchmarks/capture.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/record.py
	$(BIN)/python benchmarks/layout.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/app.py

clean:
	rm -rf $(VENV) $(OLDEST) build *.egg-info
