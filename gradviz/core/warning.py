"""The warning category of everything gradviz tells the user without stopping them."""


class GradvizWarning(UserWarning):
    """Something gradviz could not do (a gradient not summarised, a layout that fell back),
    said once, with what the user's own work is left with: their numbers are never touched."""
