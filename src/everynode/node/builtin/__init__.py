"""Scripts behind the built-in images of the image catalog (run as standalone files)."""
