"""Shared test set-up: Qt offscreen, and the seed example every layer is checked against."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files in tests/golden/ instead of comparing")
