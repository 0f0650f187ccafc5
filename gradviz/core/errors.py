"""The one base of everything gradviz raises or warns on purpose.

A caller (the headless command, the app, a user's script) catches ``GradvizError`` once
instead of a list of types; each subclass also keeps the builtin base it always had
(``ValueError``, ``RuntimeError``...), so code written against those still works.
"""


class GradvizError(Exception):
    """Something gradviz refused or could not do, said in one line the user can act on."""


class SummarisedGradError(GradvizError, LookupError):
    """A gradient that was captured, but kept only as a summary (exact norm and a sample):
    reading it as a tensor says so instead of returning None, which means "no gradient"."""


class GradvizWarning(UserWarning):
    """Something gradviz could not do (a gradient not summarised, a layout that fell back),
    said once, with what the user's own work is left with: their numbers are never touched."""
