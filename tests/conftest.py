"""Shared test set-up: Qt offscreen, and the seed example every layer is checked against."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
