"""Imported by argv_main.py: found only if the script's folder is on sys.path."""

SCALE = 3.0
