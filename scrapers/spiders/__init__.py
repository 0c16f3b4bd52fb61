"""Spiders for movie catalog sites: ``listings`` (title pages) and ``reviews``."""
