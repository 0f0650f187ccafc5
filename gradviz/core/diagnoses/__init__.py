"""The checks :func:`gradviz.core.diagnosis.diagnose` runs, one small module each; importing
one appends its ``check`` to ``CHECKS``, so the import order is the order findings are shown:
the errors that explain an exception first, then the warnings, then the verdicts."""

from . import inplace, twice, cut, unused  # noqa: F401,I001 - errors, then unused parameters
from . import nonfinite, scale  # noqa: F401 - NaN/Inf, then the gradient-scale verdict
