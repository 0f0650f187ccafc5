"""Icons and style sheets, shipped inside the wheel as ``gradviz.resources``."""
