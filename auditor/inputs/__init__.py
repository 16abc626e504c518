"""Exports and national files to typed tables: bytes -> grids -> rows -> typed tables (+ input issues)."""
