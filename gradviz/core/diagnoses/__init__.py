"""The checks :func:`gradviz.core.diagnosis.diagnose` runs, one small module each; importing
this package appends each module's ``check`` to ``CHECKS``."""

from . import nonfinite, scale  # noqa: F401 - each appends its check to CHECKS
