"""Reports: the findings formatted for people (xlsx, html) and machines (json).

Renderers format; they decide nothing. Every file is written through
`files.atomic_path`, so an interrupted run never leaves a half-written report.
"""

FORMATS = ("xlsx", "html", "json", "junit")
DEFAULT_FORMATS = ("xlsx", "html", "json")
