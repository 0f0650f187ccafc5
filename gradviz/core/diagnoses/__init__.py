"""One module per diagnosis; importing one appends its check to ``diagnosis.CHECKS``."""

from . import cut, inplace, twice, unused  # noqa: F401
