"""gradviz's desktop app: everything that imports Qt lives in this package."""
